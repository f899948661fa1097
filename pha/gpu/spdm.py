"""NVIDIA GPU attestation report: an SPDM 1.1 GET_MEASUREMENTS request followed by its response.

Layout (DMTF DSP0274 1.1, as NVIDIA Hopper GPUs emit it; all multi-byte integers little-endian):

    request  (37 B): version(1) code(1)=0xE0 param1(1) param2(1) nonce(32) slot(1)
    response       : version(1) code(1)=0x60 param1(1) param2(1) blocks(1) record_len(3)
                     record(record_len) nonce(32) opaque_len(2) opaque(opaque_len) signature(96)
    record         : blocks x [index(1) spec(1)=1 size(2) type(1) value_size(2) value]
    opaque         : fields  x [type(2) size(2) data(size)]

The signature is ECDSA P-384 / SHA-384 (raw r || s) over request || response without the
signature, by the device's leaf (attestation) certificate. The requester nonce is the one the
verifier chose; the responder nonce is the GPU's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pha.gpu.errors import GpuEvidenceError

REQUEST_LENGTH = 37
SIGNATURE_LENGTH = 96
NONCE_LENGTH = 32
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60
DMTF_MEASUREMENT_SPEC = 1

OPAQUE_FIELDS = {
    1: "cert_issuer_name",
    2: "cert_authority_key_identifier",
    3: "driver_version",
    4: "gpu_info",
    5: "sku",
    6: "vbios_version",
    7: "manufacturer_id",
    8: "tamper_detection",
    9: "smc",
    10: "vpr",
    11: "nvdec0_status",
    12: "msrscnt",
    13: "cprinfo",
    14: "board_id",
    15: "chip_sku",
    16: "chip_sku_mod",
    17: "project",
    18: "project_sku",
    19: "project_sku_mod",
    20: "fwid",
    21: "protected_pcie_status",
    22: "switch_pdi",
    23: "floorswept_ports",
    24: "position_id",
    25: "lock_switch_status",
    32: "gpu_link_conn",
    33: "sys_enable_status",
    34: "opaque_data_version",
    35: "chip_info",
    36: "feature_flag",
}
FEATURE_FLAGS = {0: "SPT", 1: "MPT", 2: "PPCIE"}


@dataclass(frozen=True)
class GpuReport:
    """A parsed attestation report. `measurements` maps the SPDM block index (1-based) to its value."""

    raw: bytes
    requester_nonce: bytes
    responder_nonce: bytes
    measurements: dict[int, bytes]
    opaque: dict[str, bytes] = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def signed_bytes(self) -> bytes:
        return self.raw[:-SIGNATURE_LENGTH]

    def opaque_text(self, name: str) -> str | None:
        value = self.opaque.get(name)
        return None if value is None else value.split(b"\0", 1)[0].decode("ascii", "replace").strip()

    @property
    def driver_version(self) -> str | None:
        return self.opaque_text("driver_version")

    @property
    def vbios_version(self) -> str | None:
        """As NVIDIA prints it: 8 bytes 00 9f 00 96 01 00 00 00 -> "96.00.9f.00.01" (the low
        little-endian u32, then the low byte of the high one)."""
        value = self.opaque.get("vbios_version")
        if value is None or len(value) != 8:
            return None
        order = [3, 2, 1, 0, 4]
        return ".".join(f"{value[i]:02x}" for i in order)

    @property
    def fwid(self) -> bytes | None:
        return self.opaque.get("fwid")

    @property
    def feature_flag(self) -> str | None:
        value = self.opaque.get("feature_flag")
        return None if value is None else FEATURE_FLAGS.get(int.from_bytes(value, "little"), "unknown")


def _need(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size > len(data):
        raise GpuEvidenceError(
            "format", f"GPU report truncated in {what} (offset {offset}, need {size} bytes)"
        )
    return data[offset : offset + size]


def _u(data: bytes, offset: int, size: int, what: str) -> int:
    return int.from_bytes(_need(data, offset, size, what), "little")


def parse_measurement_record(record: bytes, blocks: int) -> dict[int, bytes]:
    measurements: dict[int, bytes] = {}
    offset = 0
    for _ in range(blocks):
        index = _u(record, offset, 1, "measurement block index")
        spec = _u(record, offset + 1, 1, "measurement specification")
        if spec != DMTF_MEASUREMENT_SPEC:
            raise GpuEvidenceError(
                "format", f"measurement block {index} is not a DMTF measurement (spec {spec})"
            )
        size = _u(record, offset + 2, 2, "measurement block size")
        block = _need(record, offset + 4, size, f"measurement block {index}")
        value_size = _u(block, 1, 2, f"measurement {index} value size")
        if value_size + 3 != size:
            raise GpuEvidenceError(
                "format", f"measurement block {index}: value size {value_size} != block size {size} - 3"
            )
        if index in measurements:
            raise GpuEvidenceError("format", f"measurement block index {index} occurs twice")
        measurements[index] = block[3:]
        offset += 4 + size
    if offset != len(record):
        raise GpuEvidenceError("format", f"measurement record has {len(record) - offset} trailing bytes")
    return measurements


def parse_opaque(data: bytes) -> dict[str, bytes]:
    """Opaque fields by name (each field consumes >= 4 bytes, so the loop is bounded by the length)."""
    fields: dict[str, bytes] = {}
    offset = 0
    while offset < len(data):
        kind = _u(data, offset, 2, "opaque field type")
        size = _u(data, offset + 2, 2, "opaque field size")
        value = _need(data, offset + 4, size, f"opaque field {kind}")
        fields[OPAQUE_FIELDS.get(kind, f"field_{kind}")] = value
        offset += 4 + size
    return fields


def parse_report(raw: bytes) -> GpuReport:
    """Parse request || response; every length is checked, trailing bytes are refused."""
    raw = bytes(raw)
    request = _need(raw, 0, REQUEST_LENGTH, "the GET_MEASUREMENTS request")
    if request[1] != GET_MEASUREMENTS:
        raise GpuEvidenceError("format", f"not an SPDM GET_MEASUREMENTS request (code 0x{request[1]:02x})")
    requester_nonce = request[4:36]
    o = REQUEST_LENGTH
    if _u(raw, o + 1, 1, "response code") != MEASUREMENTS:
        raise GpuEvidenceError("format", f"not an SPDM MEASUREMENTS response (code 0x{raw[o + 1]:02x})")
    blocks = _u(raw, o + 4, 1, "block count")
    record_length = _u(raw, o + 5, 3, "record length")
    record = _need(raw, o + 8, record_length, "the measurement record")
    o += 8 + record_length
    responder_nonce = _need(raw, o, NONCE_LENGTH, "the responder nonce")
    opaque_length = _u(raw, o + 32, 2, "opaque length")
    opaque = _need(raw, o + 34, opaque_length, "the opaque data")
    o += 34 + opaque_length
    signature = _need(raw, o, SIGNATURE_LENGTH, "the signature")
    if o + SIGNATURE_LENGTH != len(raw):
        raise GpuEvidenceError("format", f"GPU report has {len(raw) - o - SIGNATURE_LENGTH} trailing bytes")
    return GpuReport(
        raw=raw,
        requester_nonce=requester_nonce,
        responder_nonce=responder_nonce,
        measurements=parse_measurement_record(record, blocks),
        opaque=parse_opaque(opaque),
        signature=signature,
    )


def read_report(data: bytes) -> bytes:
    """A report file: hex text (NVIDIA's sample format, optional 0x) or raw bytes."""
    text = data.strip()
    try:
        return bytes.fromhex(text.decode("ascii").removeprefix("0x"))
    except (UnicodeDecodeError, ValueError):
        return bytes(data)
