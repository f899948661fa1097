"""Measurement policies as the registry stores them (IWorkerRegistry.Policy), built from names."""

from __future__ import annotations

from dataclasses import dataclass

from pha.quote.tcb import TcbStatus

TEE_TYPES = {"sgx": 1, "tdx": 2}
# The DEBUG bit inside IQuoteVerifier.attributes (raw little-endian bytes):
# TDX: TDATTRIBUTES bit 0 (byte 0, 0x01); SGX: ATTRIBUTES.flags bit 1 (byte 0, 0x02).
DEBUG_BIT = {"tdx": bytes([0x01]) + bytes(15), "sgx": bytes([0x02]) + bytes(15)}


@dataclass(frozen=True)
class Policy:
    """A measurement's policy; `as_tuple()` is the ABI tuple for allowMeasurement / setPolicy."""

    tee: str
    max_tcb: TcbStatus = TcbStatus.SWHardeningNeeded
    out_of_date_grace: int = 0
    expires_at: int = 0
    attributes_mask: bytes = bytes(16)
    attributes_value: bytes = bytes(16)

    @classmethod
    def build(
        cls,
        tee: str,
        max_tcb: str = "SWHardeningNeeded",
        grace_days: float = 0,
        expires_at: int = 0,
        allow_debug: bool = False,
    ) -> Policy:
        """A policy from user-facing names; debug enclaves are refused unless `allow_debug`."""
        tee = tee.lower()
        if tee not in TEE_TYPES:
            raise ValueError(f"unknown TEE {tee!r}: sgx or tdx")
        if grace_days < 0 or expires_at < 0:
            raise ValueError("grace and expiry must not be negative")
        mask = bytes(16) if allow_debug else DEBUG_BIT[tee]
        return cls(tee, TcbStatus.from_name(max_tcb), int(grace_days * 86_400), expires_at, mask, bytes(16))

    def as_tuple(self) -> tuple:
        return (
            TEE_TYPES[self.tee],
            self.expires_at,
            int(self.max_tcb),
            self.out_of_date_grace,
            self.attributes_mask,
            self.attributes_value,
        )
