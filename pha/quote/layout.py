"""Intel DCAP quote layout, parsed exactly as contracts/libraries/QuoteParser.sol does.

Offsets (bytes, integers little-endian):

    header[48]   version u16 @0, attestation key type u16 @2, TEE type u32 @4 (0 SGX, 0x81 TDX),
                 QE/PCE SVN or reserved @8, QE vendor id [16] @12, user data [20] @28
    v5 only      body type u16 @48 (2 = TD 1.0, 3 = TD 1.5), body size u32 @50, body @54
    body         SGX enclave report [384] | TD 1.0 report [584] | TD 1.5 report [648]
    then         signature data length u32, signature data

Accepted: SGX v3, TDX v4, TDX v5 (TD 1.0 / TD 1.5 bodies); key type 2 (ECDSA P-256). A quote may
also be exactly header (+ descriptor) + body (the committee verifier's on-chain form).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

from pha.quote.errors import QuoteFormatError
from pha.quote.measurement import sgx_measurement_id, tdx_measurement_id

HEADER_LENGTH = 48
V5_DESCRIPTOR_LENGTH = 6
SGX_REPORT_LENGTH = 384
TD10_REPORT_LENGTH = 584
TD15_REPORT_LENGTH = 648
ATTESTATION_KEY_ECDSA_P256 = 2
TEE_TYPE_SGX = 0x00000000
TEE_TYPE_TDX = 0x00000081
V5_BODY_TD10 = 2
V5_BODY_TD15 = 3
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
SIMULATED_QE_VENDOR_ID = b"PHA-SIMULATED-QE"

# Offsets inside the TD report body: name -> (offset, length)
TD_FIELDS: dict[str, tuple[int, int]] = {
    "tee_tcb_svn": (0, 16),
    "mr_seam": (16, 48),
    "mr_signer_seam": (64, 48),
    "seam_attributes": (112, 8),
    "td_attributes": (120, 8),
    "xfam": (128, 8),
    "mr_td": (136, 48),
    "mr_config_id": (184, 48),
    "mr_owner": (232, 48),
    "mr_owner_config": (280, 48),
    "rt_mr0": (328, 48),
    "rt_mr1": (376, 48),
    "rt_mr2": (424, 48),
    "rt_mr3": (472, 48),
    "report_data": (520, 64),
}
TD15_FIELDS: dict[str, tuple[int, int]] = {"tee_tcb_svn2": (584, 16), "mr_service_td": (600, 48)}
# Offsets inside the SGX enclave report body
SGX_FIELDS: dict[str, tuple[int, int]] = {
    "cpu_svn": (0, 16),
    "misc_select": (16, 4),
    "attributes": (48, 16),
    "mr_enclave": (64, 32),
    "mr_signer": (128, 32),
    "isv_prod_id": (256, 2),
    "isv_svn": (258, 2),
    "report_data": (320, 64),
}


class TeeType(IntEnum):
    """Same numbering as IQuoteVerifier.TeeType."""

    NONE = 0
    SGX = 1
    TDX = 2


@dataclass(frozen=True)
class ParsedQuote:
    """A parsed quote: the fields QuoteParser.Quote has, plus every report field by name."""

    raw: bytes
    version: int
    tee_type: TeeType
    attestation_key_type: int
    body_type: int
    body_offset: int
    body_length: int
    signed_length: int
    has_signature_data: bool
    signature_data_length: int
    attributes: bytes
    debug: bool
    report_data: bytes
    measurement_id: bytes
    qe_vendor_id: bytes
    fields: dict[str, bytes] = field(default_factory=dict)

    @property
    def signed_part(self) -> bytes:
        """Header (+ v5 descriptor) + body: what the committee hashes and puts on-chain."""
        return self.raw[: self.signed_length]

    @property
    def quote_hash(self) -> bytes:
        """keccak256 of the signed part (`quoteHash` in statements and VerifiedQuote)."""
        from eth_utils import keccak

        return keccak(self.signed_part)

    @property
    def simulated(self) -> bool:
        return self.qe_vendor_id == SIMULATED_QE_VENDOR_ID

    def field(self, name: str) -> bytes:
        return self.fields[name]

    def measurement_id_with_compose(self, compose_hash: bytes | None) -> bytes:
        if not compose_hash or compose_hash == bytes(32):
            return self.measurement_id
        if self.tee_type != TeeType.TDX:
            raise QuoteFormatError("ComposeHashNotTdx", "a compose hash applies to TDX quotes only")
        f = self.fields
        return tdx_measurement_id(f["mr_td"], f["rt_mr0"], f["rt_mr1"], f["rt_mr2"], compose_hash)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view (bytes as 0x-hex)."""
        out: dict[str, object] = {
            "version": self.version,
            "tee_type": self.tee_type.name,
            "attestation_key_type": self.attestation_key_type,
            "body_type": self.body_type,
            "signed_length": self.signed_length,
            "has_signature_data": self.has_signature_data,
            "signature_data_length": self.signature_data_length,
            "simulated": self.simulated,
            "debug": self.debug,
            "attributes": "0x" + self.attributes.hex(),
            "report_data": "0x" + self.report_data.hex(),
            "measurement_id": "0x" + self.measurement_id.hex(),
            "quote_hash": "0x" + self.quote_hash.hex(),
            "qe_vendor_id": "0x" + self.qe_vendor_id.hex(),
        }
        for name, value in self.fields.items():
            if name in ("isv_prod_id", "isv_svn"):
                out[name] = int.from_bytes(value, "little")
            else:
                out[name] = "0x" + value.hex()
        return out


def _le16(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<H", data, offset)[0])


def _le32(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])


def parse_quote(raw: bytes) -> ParsedQuote:
    """Parse like QuoteParser.parse; raise QuoteFormatError (code = the Solidity error name)."""
    raw = bytes(raw)
    length = len(raw)
    if length < HEADER_LENGTH:
        raise QuoteFormatError(
            "QuoteParserTooShort", f"quote too short: {length} bytes, need {HEADER_LENGTH}"
        )
    version, key_type, tee = _le16(raw, 0), _le16(raw, 2), _le32(raw, 4)
    if version not in (3, 4, 5):
        raise QuoteFormatError("QuoteParserUnsupportedVersion", f"unsupported quote version {version}")
    if key_type != ATTESTATION_KEY_ECDSA_P256:
        raise QuoteFormatError(
            "QuoteParserUnsupportedAttestationKeyType", f"unsupported attestation key type {key_type}"
        )
    body_type = 0
    if version == 3:
        if tee != TEE_TYPE_SGX:
            raise QuoteFormatError(
                "QuoteParserUnsupportedTeeType", f"quote v3 must be SGX, TEE type is {tee:#x}"
            )
        tee_type, body_offset, body_length = TeeType.SGX, HEADER_LENGTH, SGX_REPORT_LENGTH
    else:
        if tee != TEE_TYPE_TDX:
            raise QuoteFormatError(
                "QuoteParserUnsupportedTeeType", f"quote v{version} must be TDX, TEE type is {tee:#x}"
            )
        tee_type = TeeType.TDX
        if version == 4:
            body_offset, body_length = HEADER_LENGTH, TD10_REPORT_LENGTH
        else:
            end = HEADER_LENGTH + V5_DESCRIPTOR_LENGTH
            if length < end:
                raise QuoteFormatError("QuoteParserTooShort", f"quote too short: {length} bytes, need {end}")
            body_type, body_size = _le16(raw, HEADER_LENGTH), _le32(raw, HEADER_LENGTH + 2)
            if body_type == V5_BODY_TD10:
                body_length = TD10_REPORT_LENGTH
            elif body_type == V5_BODY_TD15:
                body_length = TD15_REPORT_LENGTH
            else:
                raise QuoteFormatError(
                    "QuoteParserUnsupportedBodyType", f"unsupported v5 body type {body_type}"
                )
            if body_size != body_length:
                raise QuoteFormatError(
                    "QuoteParserBodySizeMismatch", f"v5 body type {body_type} must be {body_length} bytes"
                )
            body_offset = end
    signed_length = body_offset + body_length
    if length < signed_length:
        raise QuoteFormatError(
            "QuoteParserTooShort", f"quote too short: {length} bytes, need {signed_length}"
        )
    has_sig, sig_len = False, 0
    if length != signed_length:
        if length < signed_length + 4:
            raise QuoteFormatError(
                "QuoteParserTooShort", f"quote too short: {length} bytes, need {signed_length + 4}"
            )
        has_sig, sig_len = True, _le32(raw, signed_length)
        if length != signed_length + 4 + sig_len:
            raise QuoteFormatError(
                "QuoteParserLengthMismatch",
                f"quote is {length} bytes but its signature data length says {signed_length + 4 + sig_len}",
            )
    body = raw[body_offset:signed_length]
    fields: dict[str, bytes] = {}
    if tee_type == TeeType.SGX:
        for name, (off, size) in SGX_FIELDS.items():
            fields[name] = body[off : off + size]
        attributes = fields["attributes"]
        debug = bool(attributes[0] & 0x02)
        mid = sgx_measurement_id(
            fields["mr_enclave"],
            fields["mr_signer"],
            _le16(fields["isv_prod_id"], 0),
            _le16(fields["isv_svn"], 0),
        )
    else:
        for name, (off, size) in TD_FIELDS.items():
            fields[name] = body[off : off + size]
        if body_length == TD15_REPORT_LENGTH:
            for name, (off, size) in TD15_FIELDS.items():
                fields[name] = body[off : off + size]
        attributes = fields["td_attributes"] + fields["xfam"]
        debug = bool(fields["td_attributes"][0] & 0x01)
        mid = tdx_measurement_id(fields["mr_td"], fields["rt_mr0"], fields["rt_mr1"], fields["rt_mr2"])
    return ParsedQuote(
        raw=raw,
        version=version,
        tee_type=tee_type,
        attestation_key_type=key_type,
        body_type=body_type,
        body_offset=body_offset,
        body_length=body_length,
        signed_length=signed_length,
        has_signature_data=has_sig,
        signature_data_length=sig_len,
        attributes=attributes,
        debug=debug,
        report_data=fields["report_data"],
        measurement_id=mid,
        qe_vendor_id=raw[12:28],
        fields=fields,
    )


def strip_padding(raw: bytes) -> bytes:
    """Drop zero padding after a quote's declared end (some TDX quote generators return a fixed
    buffer: the real TDX sample carries 70 trailing zero bytes). The on-chain parser is strict and
    accepts no trailing bytes, so tools canonicalise first. Non-zero trailing bytes are kept (and
    then refused by `parse_quote`); so are inputs that are not quotes at all."""
    raw = bytes(raw)
    try:
        head = parse_quote(raw[: _declared_length(raw)])
    except (QuoteFormatError, struct.error, ValueError):
        return raw
    end = head.signed_length + (4 + head.signature_data_length if head.has_signature_data else 0)
    if len(raw) > end and not any(raw[end:]):
        return raw[:end]
    return raw


def _declared_length(raw: bytes) -> int:
    """The length a quote's own fields declare (header, descriptor, signature data length)."""
    version, tee = _le16(raw, 0), _le32(raw, 4)
    if version == 3:
        signed = HEADER_LENGTH + SGX_REPORT_LENGTH
    elif version == 4:
        signed = HEADER_LENGTH + TD10_REPORT_LENGTH
    elif version == 5:
        signed = HEADER_LENGTH + V5_DESCRIPTOR_LENGTH + _le32(raw, HEADER_LENGTH + 2)
    else:
        raise ValueError("unknown version")
    del tee
    if len(raw) <= signed:
        return len(raw)
    return signed + 4 + _le32(raw, signed)
