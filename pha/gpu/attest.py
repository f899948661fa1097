"""The attester's GPU half: verify GPU evidence with pha.gpu and sign (or co-sign) a GpuStatement.

The verification time is the attester's clock and the statement's `verifiedAt`: a GPU report has
no time of its own. Simulated evidence passes only when the attester's chain is a development
chain (pha.gpu.verify's rule, given `dev_chain_id = chain_id`); real evidence needs the RIMs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from pha.gpu.certs import RevocationList, load_pem_chain
from pha.gpu.errors import GpuEvidenceError
from pha.gpu.evidence import GpuEvidence
from pha.gpu.statement import GpuStatement
from pha.gpu.verify import GpuVerdict, verify_gpu_evidence

log = logging.getLogger(__name__)

ROOTS = Path(__file__).with_name("roots")
DEFAULT_GPU_LIFETIME = 24 * 3600


def _root(path: Path) -> x509.Certificate:
    return load_pem_chain(path.read_bytes(), path.name)[0]


@dataclass(frozen=True)
class GpuTrust:
    """What an attester trusts GPU evidence against: roots, RIMs (driver, VBIOS), revocation list."""

    rims: tuple[Path, Path] | None = None
    device_root: Path = field(default=ROOTS / "nvidia_device_root.pem")
    rim_root: Path = field(default=ROOTS / "nvidia_rim_root.pem")
    revoked: RevocationList | None = None

    @classmethod
    def from_rim_dir(cls, rim_dir: Path | None, revoked: RevocationList | None = None) -> GpuTrust:
        from pha.gpu.rim import pick_rims

        return cls(rims=None if rim_dir is None else pick_rims(rim_dir), revoked=revoked)


def verify_gpu(
    evidence: GpuEvidence, trust: GpuTrust, chain_id: int, now: int, lifetime: int = DEFAULT_GPU_LIFETIME
) -> tuple[GpuVerdict, GpuStatement]:
    """pha.gpu's verdict on the evidence at `now`, and the statement for it (valid `lifetime` s)."""
    from pha.gpu.simulate import SIMULATOR_ROOT

    chain = evidence.chain
    simulated = any(_is_sim(c) for c in chain)
    device_root = SIMULATOR_ROOT if simulated else _root(trust.device_root)
    if trust.rims is None and not simulated:
        raise GpuEvidenceError(
            "rim", "this attester has no RIMs configured: it verifies simulated GPU evidence only"
        )
    driver, vbios = (None, None) if simulated and trust.rims is None else trust.rims or (None, None)
    verdict = verify_gpu_evidence(
        evidence.report,
        chain,
        driver,
        vbios,
        device_root,
        _root(trust.rim_root),
        revoked=trust.revoked,
        at=datetime.fromtimestamp(now, UTC),
        dev_chain_id=chain_id,
    )
    return verdict, GpuStatement.from_verdict(verdict, now, now + lifetime)


def _is_sim(cert: x509.Certificate) -> bool:
    from pha.gpu.simulate import is_simulator_root

    return is_simulator_root(cert)


def check_cosign(mine: GpuStatement, proposed: GpuStatement, lifetime: int, tolerance: int) -> None:
    """Refuse to co-sign a GPU statement that says anything other than this attester's own verdict."""
    problems = []
    for name in ("nonce", "device_id", "model", "driver_version", "vbios_version"):
        if getattr(mine, name) != getattr(proposed, name):
            problems.append(f"{name} differs from my verdict")
    if abs(proposed.verified_at - mine.verified_at) > tolerance:
        problems.append(f"verified {abs(proposed.verified_at - mine.verified_at)} s from my verification")
    if proposed.expires_at > proposed.verified_at + lifetime or proposed.expires_at <= proposed.verified_at:
        problems.append("its lifetime is not within mine")
    if problems:
        from pha.quote.errors import VerificationError

        raise VerificationError("refusing to co-sign the GPU statement: " + "; ".join(problems))


def now_s() -> int:
    return int(time.time())
