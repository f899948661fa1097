"""SIMULATED NVIDIA GPU evidence for local runs, tests and the demo: never evidence of a real GPU.

It has the real report layout (pha.gpu.spdm) and a three-certificate device chain under the
project's own "PHA SIMULATED GPU ROOT". Every key is derived from a public fixed string, so anyone
can forge such evidence: `simulated_evidence` refuses unless the caller names a development chain
(pha.chains.LOCAL_CHAIN_IDS, the dev quote verifier's rule), and pha.gpu.verify refuses a chain
under this root unless its `dev_chain_id` is one of those chains too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from eth_utils import keccak

from pha.chains import LOCAL_CHAIN_IDS
from pha.gpu.certs import TCG_DICE_FWID_OIDS
from pha.gpu.errors import GpuEvidenceError
from pha.gpu.spdm import GET_MEASUREMENTS, MEASUREMENTS

NOT_BEFORE = datetime(2024, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
P384_ORDER = (
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973
)
MEASUREMENT_SIZE = 48
DEFAULT_DRIVER = "550.90.07"
DEFAULT_VBIOS = bytes.fromhex("009f009601000000")  # "96.00.9f.00.01"


def _key(label: str) -> ec.EllipticCurvePrivateKey:
    seed = int.from_bytes(
        keccak(b"PHA simulated GPU key, public, dev chains only: " + label.encode()) * 2, "big"
    )
    return ec.derive_private_key(seed % (P384_ORDER - 1) + 1, ec.SECP384R1())


ROOT_KEY = _key("root")


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PHA SIMULATED"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    signer: ec.EllipticCurvePrivateKey,
    serial: int,
    ca: bool,
    fwid: bytes | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if fwid is not None:
        # TCG DICE FWID: a SEQUENCE holding the hash; a verifier reads its last 48 bytes.
        value = bytes([0x30, 0x02 + len(fwid), 0x04, len(fwid)]) + fwid
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(TCG_DICE_FWID_OIDS[0]), value), critical=False
        )
    return builder.sign(signer, hashes.SHA384())


SIMULATOR_ROOT = _cert(
    "PHA SIMULATED GPU ROOT (development only)",
    ROOT_KEY,
    "PHA SIMULATED GPU ROOT (development only)",
    ROOT_KEY,
    1,
    True,
)


def is_simulator_root(cert: x509.Certificate) -> bool:
    """True for any certificate carrying the simulator root's (public, derivable) key."""
    fmt = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == ROOT_KEY.public_key().public_bytes(*fmt)


@dataclass(frozen=True)
class SimulatedEvidence:
    report: bytes  # raw request || response
    chain: list[x509.Certificate]  # leaf first, root last

    @property
    def report_hex(self) -> str:
        return self.report.hex()

    @property
    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in self.chain)


def _opaque(fields: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("<HH", kind, len(data)) + data for kind, data in fields)


def simulated_evidence(
    *,
    chain_id: int,
    nonce: bytes,
    measurements: dict[int, bytes],
    driver_version: str = DEFAULT_DRIVER,
    vbios_version: bytes = DEFAULT_VBIOS,
    device_serial: int = 0x5A5A0001,
) -> SimulatedEvidence:
    """Build signed simulated evidence; `measurements` maps the SPDM block index (1..255) to a value.
    Each `device_serial` is another simulated GPU (its own device identity key, so its own device_id)."""
    if chain_id not in LOCAL_CHAIN_IDS:
        raise GpuEvidenceError(
            "simulated", f"the GPU simulator runs only for development chains, not chain {chain_id}"
        )
    if not 2 <= device_serial < 1 << 64:
        raise GpuEvidenceError("format", "device_serial must be in 2..2**64-1")
    if len(nonce) != 32:
        raise GpuEvidenceError("format", f"nonce must be 32 bytes, got {len(nonce)}")
    if not measurements or len(measurements) > 255 or not all(1 <= i <= 255 for i in measurements):
        raise GpuEvidenceError("format", "simulated measurements need 1..255 blocks with indices 1..255")
    fwid = keccak(b"simulated fwid") + keccak(b"fwid tail")[:16]
    device_key, leaf_key = _key(f"device {device_serial}"), _key(f"leaf {device_serial}")
    model = _cert(
        "PHA SIMULATED GH100",
        device_key,
        "PHA SIMULATED GPU ROOT (development only)",
        ROOT_KEY,
        device_serial,
        True,
    )
    leaf = _cert(
        "PHA SIMULATED GH100 GPU", leaf_key, "PHA SIMULATED GH100", device_key, device_serial + 1, False, fwid
    )
    request = bytes([0x11, GET_MEASUREMENTS, 0x01, 0xFF]) + nonce + b"\x00"
    record = b""
    for index in sorted(measurements):
        value = measurements[index]
        block = bytes([0x01]) + struct.pack("<H", len(value)) + value
        record += bytes([index, 0x01]) + struct.pack("<H", len(block)) + block
    opaque = _opaque([(3, driver_version.encode() + b"\0"), (6, vbios_version), (20, fwid)])
    response = (
        bytes([0x11, MEASUREMENTS, 0x00, 0x00, len(measurements)])
        + len(record).to_bytes(3, "little")
        + record
        + keccak(b"simulated responder nonce" + nonce)
        + struct.pack("<H", len(opaque))
        + opaque
    )
    r, s = decode_dss_signature(leaf_key.sign(request + response, ec.ECDSA(hashes.SHA384())))
    report = request + response + r.to_bytes(48, "big") + s.to_bytes(48, "big")
    return SimulatedEvidence(report=report, chain=[leaf, model, SIMULATOR_ROOT])


def golden_measurements(*rim_files: bytes) -> dict[int, bytes]:
    """SPDM blocks (48 bytes each) holding the first golden value of every active RIM measurement,
    zeros elsewhere up to the highest index: simulated evidence that matches those RIMs."""
    from pha.gpu.rim import golden_of, parse_xml

    values: dict[int, bytes] = {}
    for data in rim_files:
        for golden in golden_of(parse_xml(data, "RIM"), "RIM")[1].values():
            values[golden.index + 1] = golden.values[0]
    return {i: values.get(i, bytes(MEASUREMENT_SIZE)) for i in range(1, max(values) + 1)}
