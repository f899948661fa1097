"""NVIDIA RIMs (reference integrity manifests): SWID tags (.swidtag) with golden measurements.

Authenticity: the enveloped XML signature (ECDSA-P384, C14N 1.1) is checked by signxml in the
NVIDIA venv (the main venv has no C14N 1.1 implementation; see pha.gpu.nvgpu) against the signer
certificate the RIM carries; the signer's chain up to NVIDIA's RIM root, its dates and
revocation are checked here with `cryptography`. The golden values are then read from the XML
that signxml returned as signed, never from the unsigned file.
"""

from __future__ import annotations

import base64
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pha.gpu import nvgpu
from pha.gpu.certs import MAX_CHAIN_LENGTH, RevocationList, verify_chain
from pha.gpu.errors import GpuEvidenceError

DS = "{http://www.w3.org/2000/09/xmldsig#}"
MAX_RIM_BYTES = 1 << 20
MAX_MEASUREMENTS = 256
MAX_ALTERNATIVES = 16
VBIOS_VERSION = re.compile(r"^[0-9a-f]{2}(\.[0-9a-f]{2}){4}$", re.IGNORECASE)


@dataclass(frozen=True)
class Golden:
    index: int  # 0-based: golden index i is SPDM measurement block i + 1
    values: tuple[bytes, ...]
    size: int


@dataclass(frozen=True)
class Rim:
    kind: str  # "driver" | "vbios"
    version: str
    golden: dict[int, Golden]  # active measurements only
    signer_chain: list[x509.Certificate]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, what: str) -> ET.Element:
    if len(data) > MAX_RIM_BYTES or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise GpuEvidenceError("format", f"{what}: not a RIM (too large or has a DTD)")
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        raise GpuEvidenceError("format", f"{what}: not XML ({error})") from None


def _signer_chain(root: ET.Element, what: str) -> list[x509.Certificate]:
    certs = [e.text or "" for e in root.iter(f"{DS}X509Certificate")]
    if not 1 <= len(certs) <= MAX_CHAIN_LENGTH:
        raise GpuEvidenceError("format", f"{what}: {len(certs)} signer certificates in KeyInfo")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode("".join(c.split()))) for c in certs]
    except ValueError:
        raise GpuEvidenceError("format", f"{what}: a KeyInfo certificate is not DER") from None


def golden_of(root: ET.Element, what: str) -> tuple[str, dict[int, Golden]]:
    meta = next((e for e in root.iter() if _local(e.tag) == "Meta"), None)
    payload = next((e for e in root.iter() if _local(e.tag) == "Payload"), None)
    if meta is None or payload is None or "colloquialVersion" not in meta.attrib:
        raise GpuEvidenceError("format", f"{what}: no Meta colloquialVersion or Payload")
    golden: dict[int, Golden] = {}
    resources = list(payload)
    if len(resources) > MAX_MEASUREMENTS:
        raise GpuEvidenceError("format", f"{what}: more than {MAX_MEASUREMENTS} measurements")
    for res in resources:
        try:
            index, count, size = (
                int(res.attrib["index"]),
                int(res.attrib["alternatives"]),
                int(res.attrib["size"]),
            )
            if not 0 <= count <= MAX_ALTERNATIVES:
                raise ValueError
            hashes = {_local(k): v for k, v in res.attrib.items() if _local(k).startswith("Hash")}
            values = tuple(bytes.fromhex(hashes[f"Hash{i}"]) for i in range(count))
        except (KeyError, ValueError):
            raise GpuEvidenceError(
                "format", f"{what}: malformed measurement {res.attrib.get('index')}"
            ) from None
        if res.attrib.get("active") == "False":
            continue
        if index in golden:
            raise GpuEvidenceError("format", f"{what}: measurement index {index} appears twice")
        golden[index] = Golden(index=index, values=values, size=size)
    return meta.attrib["colloquialVersion"], golden


def load_rim(path: Path, rim_root: x509.Certificate, at: datetime, revoked: RevocationList | None) -> Rim:
    """Authenticate a RIM file and return its active golden measurements."""
    data = path.read_bytes()
    what = f"RIM {path.name}"
    unsigned = parse_xml(data, what)
    chain = _signer_chain(unsigned, what)
    verify_chain(chain, rim_root, at, what)
    if revoked is not None:
        revoked.check(chain, what)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as signer:
        signer.write(chain[0].public_bytes(Encoding.PEM))
        signer.flush()
        signed = parse_xml(nvgpu.verify_xml_signature(path, Path(signer.name)), what)
    version, golden = golden_of(signed, what)
    if not golden:
        raise GpuEvidenceError("rim", f"{what}: no active golden measurements")
    kind = "vbios" if VBIOS_VERSION.match(version) else "driver"
    return Rim(kind=kind, version=version, golden=golden, signer_chain=chain)


def rim_files(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.swidtag"))
    if not files:
        raise GpuEvidenceError("format", f"{directory}: no .swidtag RIM files")
    if len(files) > 64:
        raise GpuEvidenceError("format", f"{directory}: more than 64 RIM files")
    return files


def _rim_version_kind(path: Path) -> str:
    meta = next((e for e in parse_xml(path.read_bytes(), path.name).iter() if _local(e.tag) == "Meta"), None)
    version = "" if meta is None else meta.attrib.get("colloquialVersion", "")
    return "vbios" if VBIOS_VERSION.match(version) else "driver"


def pick_rims(directory: Path) -> tuple[Path, Path]:
    """The directory's one driver RIM and one VBIOS RIM (told apart by the version's shape)."""
    kinds: dict[str, list[Path]] = {"driver": [], "vbios": []}
    for path in rim_files(directory):
        kinds[_rim_version_kind(path)].append(path)
    for kind, paths in kinds.items():
        if len(paths) != 1:
            raise GpuEvidenceError(
                "format", f"{directory}: expected exactly one {kind} RIM, found {len(paths)}"
            )
    return kinds["driver"][0], kinds["vbios"][0]
