"""A worker's report_data binding, computed exactly as contracts/libraries/WorkerBinding.sol does.

report_data[0:32]  = keccak256(abi.encode(keccak256("PHA.WorkerBinding.v1"), uint256 chainId,
                                          address registry, address signer, bytes32 encryptionKey,
                                          uint256 poolId))
report_data[32:64] = 32 zero bytes
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

BINDING_TYPEHASH = keccak(b"PHA.WorkerBinding.v1")


def worker_binding(chain_id: int, registry: str, signer: str, encryption_key: bytes, pool_id: int) -> bytes:
    """The 32-byte binding."""
    encryption_key = bytes(encryption_key)
    if len(encryption_key) != 32:
        raise ValueError(f"encryption key must be 32 bytes, got {len(encryption_key)}")
    return keccak(
        encode(
            ["bytes32", "uint256", "address", "address", "bytes32", "uint256"],
            [
                BINDING_TYPEHASH,
                chain_id,
                to_checksum_address(registry),
                to_checksum_address(signer),
                encryption_key,
                pool_id,
            ],
        )
    )


def report_data(chain_id: int, registry: str, signer: str, encryption_key: bytes, pool_id: int) -> bytes:
    """The full 64-byte report_data a worker puts into its quote."""
    return worker_binding(chain_id, registry, signer, encryption_key, pool_id) + bytes(32)
