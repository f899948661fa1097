"""Job specs as JobEscrow commits to them.

A job is stored as `client | payment` and a commitment to its spec; every later call passes the
spec again (it is in the JobPosted event). The commitment of an open job is
keccak256(abi.encode(spec)); of a claimed job keccak256(abi.encode(specHash, worker, poolId)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

ZERO_ADDRESS = "0x" + "00" * 20
NO_TCB_FLOOR = 6
MAX_INPUT_BYTES = 8_192
"""JobEscrow.MAX_INPUT_BYTES: the most input bytes a job carries on chain."""
MAX_OUTPUT_BYTES = 8_192
"""JobEscrow.MAX_OUTPUT_BYTES: the most output bytes a settlement carries."""
"""IQuoteVerifier.TcbStatus.Revoked: as a job's floor it accepts whatever the registry accepts."""

_SPEC_TYPES = ["bytes32", "bytes32", "address", "uint96", "uint40", "uint8"]


def input_hash(data: bytes) -> bytes:
    """inputHash = keccak256(input bytes exactly as posted / pointed to)."""
    return keccak(bytes(data))


@dataclass(frozen=True)
class JobSpec:
    """IJobEscrow.JobSpec: what the client fixes when posting."""

    measurement_id: bytes
    input_hash: bytes
    relay_fee: int
    deadline: int
    worker: str = ZERO_ADDRESS
    max_tcb_status: int = NO_TCB_FLOOR

    def __post_init__(self) -> None:
        object.__setattr__(self, "worker", to_checksum_address(self.worker))
        for name in ("measurement_id", "input_hash"):
            value = bytes(getattr(self, name))
            if len(value) != 32:
                raise ValueError(f"{name} must be 32 bytes")
            object.__setattr__(self, name, value)

    def as_tuple(self) -> tuple:
        """The ABI tuple (field order of the Solidity struct)."""
        return (
            self.measurement_id,
            self.input_hash,
            self.worker,
            self.relay_fee,
            self.deadline,
            self.max_tcb_status,
        )

    @classmethod
    def from_event(cls, spec: Any) -> JobSpec:
        """From a decoded JobPosted `spec` (an Ape struct, a dict or a tuple)."""
        if isinstance(spec, tuple | list):
            m, i, w, fee, deadline, tcb = spec
        else:
            get = spec.__getitem__ if isinstance(spec, dict) else lambda k: getattr(spec, k)
            m, i, w, fee, deadline, tcb = (
                get("measurementId"), get("inputHash"), get("worker"),
                get("relayFee"), get("deadline"), get("maxTcbStatus"),
            )  # fmt: skip
        return cls(
            measurement_id=bytes(m),
            input_hash=bytes(i),
            worker=str(w),
            relay_fee=int(fee),
            deadline=int(deadline),
            max_tcb_status=int(tcb),
        )


def spec_hash(spec: JobSpec) -> bytes:
    """The commitment of an open job: keccak256(abi.encode(spec))."""
    return keccak(encode(_SPEC_TYPES, list(spec.as_tuple())))


def claim_commitment(spec: JobSpec, worker: str, pool_id: int) -> bytes:
    """The commitment of a job claimed by `worker` of pool `pool_id`."""
    return keccak(encode(["bytes32", "address", "uint256"], [spec_hash(spec), worker, pool_id]))
