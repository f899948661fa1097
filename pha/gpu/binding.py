"""The GPU evidence nonce: a commitment to the same worker binding the CPU quote's report_data holds.

gpu_nonce = keccak256(abi.encode(keccak256("PHA.GpuNonce.v1"), workerBinding)), where
workerBinding is pha.quote.binding.worker_binding (chain id, registry, worker signer, encryption
key, pool id). The extra domain tag keeps the GPU nonce distinct from report_data[0:32], so
neither value can be replayed as the other; a report made for one worker fails for any other.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from pha.quote.binding import worker_binding

GPU_NONCE_TYPEHASH = keccak(b"PHA.GpuNonce.v1")


def gpu_nonce(chain_id: int, registry: str, worker: str, encryption_key: bytes, pool_id: int) -> bytes:
    """The 32-byte SPDM requester nonce a worker must put into its GPU attestation report."""
    binding = worker_binding(chain_id, registry, worker, encryption_key, pool_id)
    return keccak(encode(["bytes32", "bytes32"], [GPU_NONCE_TYPEHASH, binding]))
