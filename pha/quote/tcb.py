"""TCB status encoding shared with IQuoteVerifier.TcbStatus, and advisory id hashing."""

from __future__ import annotations

from enum import IntEnum

from eth_utils import keccak


class TcbStatus(IntEnum):
    """Same numbering as IQuoteVerifier.TcbStatus: 0 best ... 6 worst."""

    UpToDate = 0
    SWHardeningNeeded = 1
    ConfigurationNeeded = 2
    ConfigurationAndSWHardeningNeeded = 3
    OutOfDate = 4
    OutOfDateConfigurationNeeded = 5
    Revoked = 6

    @classmethod
    def from_name(cls, name: str) -> TcbStatus:
        """From dcap-qvl's / Intel's spelling ("UpToDate", "OutOfDate", "OK", "SW_HARDENING_NEEDED"...)."""
        key = name.replace("_", "").replace("-", "").lower()
        aliases = {"ok": "uptodate", "tcbuptodate": "uptodate", "revokedtcb": "revoked"}
        key = aliases.get(key, key)
        for member in cls:
            if member.name.lower() == key:
                return member
        raise ValueError(f"unknown TCB status {name!r}")


def advisory_id_hash(advisory_id: str) -> bytes:
    """On-chain form of an Intel advisory id: keccak256 of its ASCII string, e.g. "INTEL-SA-00615"."""
    return keccak(advisory_id.encode("ascii"))
