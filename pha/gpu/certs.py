"""Certificate chains of GPU evidence and RIMs, checked with `cryptography` alone.

A chain is given leaf first. Each certificate must be signed by the next one (which must be a
CA), every certificate must be within its validity window at the verification time, and the
chain must end at the trusted root given as a file: either the chain's last certificate is that
root (byte for byte) or it is signed by it. A chain that ends at any other root is refused.

Revocation is checked only against data the caller supplies (see `RevocationList`): this module
never goes to the network, and says "not checked" when no data was given.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from pha.gpu.errors import GpuEvidenceError

MAX_CHAIN_LENGTH = 8
MAX_REVOKED = 100_000
TCG_DICE_FWID_OIDS = ("2.23.133.5.4.1", "2.23.133.5.4.1.1")


def load_pem_chain(data: bytes, what: str) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise GpuEvidenceError("format", f"{what}: not PEM certificates") from None
    if not 1 <= len(chain) <= MAX_CHAIN_LENGTH:
        raise GpuEvidenceError("format", f"{what}: {len(chain)} certificates (1..{MAX_CHAIN_LENGTH} allowed)")
    return chain


def serial_hex(cert: x509.Certificate) -> str:
    return f"0x{cert.serial_number:x}"


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _check_time(cert: x509.Certificate, at: datetime, what: str) -> None:
    if at < cert.not_valid_before_utc:
        raise GpuEvidenceError(
            "not-yet-valid",
            f"{what}: {_name(cert)} is not valid before {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}",
        )
    if at > cert.not_valid_after_utc:
        raise GpuEvidenceError(
            "expired", f"{what}: {_name(cert)} expired at {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
        )


def _check_signed_by(cert: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    if not _is_ca(issuer):
        raise GpuEvidenceError("chain", f"{what}: issuer {_name(issuer)} is not a CA")
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        raise GpuEvidenceError("chain", f"{what}: {_name(cert)} is not signed by {_name(issuer)}") from None


def verify_chain(chain: list[x509.Certificate], root: x509.Certificate, at: datetime, what: str) -> None:
    """Raise GpuEvidenceError unless `chain` (leaf first) is valid at `at` and ends at `root`."""
    anchored = chain[-1].public_bytes(Encoding.DER) == root.public_bytes(Encoding.DER)
    full = chain if anchored else [*chain, root]
    if not anchored and chain[-1].issuer != root.subject:
        raise GpuEvidenceError(
            "chain",
            f"{what}: ends at {chain[-1].issuer.rfc4514_string()}, not the trusted root {_name(root)}",
        )
    for cert in full:
        _check_time(cert, at, what)
    for cert, issuer in itertools.pairwise(full):
        _check_signed_by(cert, issuer, what)
    _check_signed_by(root, root, what + " root")


def certificate_fwid(cert: x509.Certificate) -> bytes | None:
    """The firmware id a Hopper leaf certificate carries: the last 48 bytes of its TCG DICE FWID extension."""
    for ext in cert.extensions:
        if ext.oid.dotted_string in TCG_DICE_FWID_OIDS:
            value = ext.value.public_bytes() if hasattr(ext.value, "public_bytes") else b""
            return value[-48:] if len(value) >= 48 else None
    return None


@dataclass(frozen=True)
class RevocationList:
    """Revoked certificate serial numbers, from a JSON file the operator supplies:

        {"revoked_serials": ["0x53c22ba15e5d...", ...], "source": "free text", "updated": "2026-12-01"}

    It is not signed by NVIDIA: it is the operator's own deny list (e.g. filled from NVIDIA's
    OCSP answers fetched out of band). `source` is reported with the result.
    """

    serials: frozenset[int]
    source: str

    @classmethod
    def from_json(cls, data: bytes, what: str = "revocation file") -> RevocationList:
        try:
            doc = json.loads(data)
            raw = doc["revoked_serials"]
            if not isinstance(raw, list) or len(raw) > MAX_REVOKED:
                raise ValueError
            serials = frozenset(int(s, 16) if isinstance(s, str) else int(s) for s in raw)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GpuEvidenceError(
                "format",
                f'{what}: expected {{"revoked_serials": ["0x..", ...]}} with at most {MAX_REVOKED} entries',
            ) from None
        return cls(serials=serials, source=str(doc.get("source", what)))

    def check(self, chain: list[x509.Certificate], what: str) -> None:
        for cert in chain:
            if cert.serial_number in self.serials:
                raise GpuEvidenceError(
                    "revoked", f"{what}: {_name(cert)} (serial {serial_hex(cert)}) is revoked"
                )


def parse_time(text: str) -> datetime:
    """Unix seconds or ISO 8601 (a naive time is UTC)."""
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GpuEvidenceError("format", f"time {text!r} is neither Unix seconds nor ISO 8601") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
