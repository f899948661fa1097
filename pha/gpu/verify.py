"""Offline verification of NVIDIA GPU attestation evidence (report + device chain + driver/VBIOS RIMs).

Checked, in order (the first failure raises GpuEvidenceError with its `code`):
  1. the report parses (pha.gpu.spdm);
  2. the device chain (leaf first, >= 2 certificates) is valid at `at` and ends at the given
     device root; the chain
     is refused if its root is the project's simulator root, unless `dev_chain_id` is a local chain;
  3. the leaf's FWID extension equals the report's FWID opaque field (where the report has one);
  4. the report's ECDSA-P384/SHA-384 signature by the leaf certificate;
  5. the requester nonce equals `expected_nonce` (when given);
  6. revocation of every device and RIM certificate against the supplied list (when given);
  7. both RIMs: signer chain to the RIM root at `at`, XML signature (signxml via pha.gpu.nvgpu);
  8. every active golden measurement of the two RIMs (an index in both is refused) matches the
     report's block index + 1, by size and against one of its alternatives.
Not checked (named in the result): OCSP (network), and whether the RIM versions equal the
report's driver/VBIOS versions (reported as `driver_rim_matches`/`vbios_rim_matches`, as NVIDIA
only warns). CC mode: a Hopper report has no CC-mode field; the result's `cc_mode` names the
signed FEATURE_FLAG opaque field (SPT / MPT / PPCIE) when the report has one, else says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils import keccak

from pha.chains import LOCAL_CHAIN_IDS
from pha.gpu.certs import RevocationList, certificate_fwid, serial_hex, verify_chain
from pha.gpu.errors import GpuEvidenceError
from pha.gpu.rim import Rim, load_rim
from pha.gpu.spdm import GpuReport, parse_report

CC_MODE_NOT_IN_REPORT = (
    "not verified: this report has no FEATURE_FLAG opaque field and a Hopper report carries no "
    "CC-mode field (NVIDIA's tool reads CC mode from the driver through NVML, which is not evidence)"
)


@dataclass(frozen=True)
class GpuVerdict:
    """What was verified (all True ones) and what was not (`not_checked`)."""

    model: str  # subject CN of the device identity certificate (e.g. "GH100 A01 GSP BROM")
    device_id: str  # keccak256 of the device identity certificate's public key (SubjectPublicKeyInfo DER)
    device_serial: str  # the leaf attestation certificate's serial (changes with the GPU firmware)
    device_subject: str
    driver_version: str | None  # from the report's opaque data
    vbios_version: str | None  # from the report's opaque data
    nonce: str
    nonce_checked: bool
    fwid_checked: bool
    signature_verified: bool
    chain_verified: bool
    revocation: str  # "checked against <source>" or "revocation not checked"
    rims_verified: bool
    driver_rim_version: str
    vbios_rim_version: str
    driver_rim_matches: bool
    vbios_rim_matches: bool
    measurements_checked: int
    measurements_verified: bool
    cc_mode: str  # where CC mode comes from, or why it is not verified
    simulated: bool
    verified_at: str
    not_checked: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"not_checked": list(self.not_checked)}


def _verify_signature(report: GpuReport, leaf: x509.Certificate) -> None:
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise GpuEvidenceError("signature", "the leaf certificate's key is not ECDSA P-384")
    r, s = int.from_bytes(report.signature[:48], "big"), int.from_bytes(report.signature[48:], "big")
    try:
        key.verify(encode_dss_signature(r, s), report.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise GpuEvidenceError(
            "signature", "GPU report signature does not verify with the leaf certificate"
        ) from None


def check_measurements(report: GpuReport, driver: Rim, vbios: Rim) -> int:
    """Compare the report with the RIMs' active golden values; return how many were compared."""
    clash = sorted(set(driver.golden) & set(vbios.golden))
    if clash:
        raise GpuEvidenceError("rim", f"driver and VBIOS RIMs both set measurement index {clash[0]}")
    bad: dict[str, list[int]] = {}
    for rim in (driver, vbios):
        for golden in rim.golden.values():
            value = report.measurements.get(golden.index + 1)
            if value is None or len(value) != golden.size or value not in golden.values:
                bad.setdefault(rim.kind, []).append(golden.index)
    if bad:
        shown = "; ".join(f"{kind} RIM {', '.join(map(str, sorted(idx)[:16]))}" for kind, idx in bad.items())
        count = sum(map(len, bad.values()))
        raise GpuEvidenceError(
            "measurement", f"{count} measurements differ from the RIM golden values ({shown})"
        )
    return len(driver.golden) + len(vbios.golden)


def verify_gpu_evidence(
    report_bytes: bytes,
    chain: list[x509.Certificate],
    driver_rim: Path | None,
    vbios_rim: Path | None,
    device_root: x509.Certificate,
    rim_root: x509.Certificate,
    *,
    expected_nonce: bytes | None = None,
    revoked: RevocationList | None = None,
    at: datetime | None = None,
    dev_chain_id: int | None = None,
    check_rim_measurements: bool = True,
) -> GpuVerdict:
    """Verify GPU evidence offline; raise GpuEvidenceError naming the first failed check.

    RIMs may be left out (both None) only for simulated evidence on a development chain: steps 7
    and 8 are then skipped and named in `not_checked` (the simulator's measurements are made up)."""
    from pha.gpu.simulate import is_simulator_root

    at = datetime.now(UTC) if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)
    report = parse_report(report_bytes)
    simulated = is_simulator_root(device_root) or any(is_simulator_root(c) for c in chain)
    if simulated and dev_chain_id not in LOCAL_CHAIN_IDS:
        raise GpuEvidenceError(
            "simulated", "simulated GPU evidence (project test root) is accepted only for a development chain"
        )
    if len(chain) < 2:
        raise GpuEvidenceError(
            "chain", "device chain needs the leaf and the device identity certificate at least"
        )
    verify_chain(chain, device_root, at, "device chain")
    leaf = chain[0]
    fwid_checked = report.fwid is not None
    if fwid_checked and certificate_fwid(leaf) != report.fwid:
        raise GpuEvidenceError("fwid", "the report's FWID differs from the leaf certificate's FWID")
    _verify_signature(report, leaf)
    if expected_nonce is not None and report.requester_nonce != expected_nonce:
        raise GpuEvidenceError(
            "nonce",
            f"GPU report nonce 0x{report.requester_nonce.hex()} is not the expected 0x{expected_nonce.hex()}",
        )
    if revoked is not None:
        revoked.check(chain, "device chain")
    not_checked = ["OCSP (network): revocation rests on the supplied list only" if revoked else "revocation"]
    if driver_rim is None or vbios_rim is None:
        if not simulated or driver_rim is not None or vbios_rim is not None:
            raise GpuEvidenceError(
                "rim", "GPU evidence needs a driver and a VBIOS RIM (only simulated evidence goes without)"
            )
        driver_version, vbios_version, checked = "-", "-", 0
        not_checked.append("RIMs and measurements (simulated evidence, no RIM given)")
    else:
        driver = load_rim(driver_rim, rim_root, at, revoked)
        vbios = load_rim(vbios_rim, rim_root, at, revoked)
        if driver.kind != "driver" or vbios.kind != "vbios":
            raise GpuEvidenceError(
                "rim", f"expected a driver then a VBIOS RIM, got {driver.kind} and {vbios.kind}"
            )
        driver_version, vbios_version = driver.version, vbios.version
        checked = check_measurements(report, driver, vbios) if check_rim_measurements else 0
    if expected_nonce is None:
        not_checked.append("nonce (no expected nonce given)")
    if not fwid_checked:
        not_checked.append("FWID (the report has none)")
    if not check_rim_measurements and driver_rim is not None:
        not_checked.append("measurements against the RIMs")
    if report.feature_flag is None:
        not_checked.append("CC mode (not in the report)")
    identity = chain[1]
    cn = identity.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    spki = identity.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return GpuVerdict(
        model=str(cn[0].value) if cn else identity.subject.rfc4514_string(),
        device_id="0x" + keccak(spki).hex(),
        device_serial=serial_hex(leaf),
        device_subject=leaf.subject.rfc4514_string(),
        driver_version=report.driver_version,
        vbios_version=report.vbios_version,
        nonce="0x" + report.requester_nonce.hex(),
        nonce_checked=expected_nonce is not None,
        fwid_checked=fwid_checked,
        signature_verified=True,
        chain_verified=True,
        revocation=f"checked against {revoked.source}" if revoked else "revocation not checked",
        rims_verified=driver_rim is not None,
        driver_rim_version=driver_version,
        vbios_rim_version=vbios_version,
        driver_rim_matches=driver_version.lower() == (report.driver_version or "").lower(),
        vbios_rim_matches=vbios_version.lower() == (report.vbios_version or "").lower(),
        measurements_checked=checked,
        measurements_verified=check_rim_measurements and driver_rim is not None,
        cc_mode=CC_MODE_NOT_IN_REPORT
        if report.feature_flag is None
        else f"{report.feature_flag} (signed FEATURE_FLAG opaque field)",
        simulated=simulated,
        verified_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        not_checked=tuple(not_checked),
    )
