"""QuoteParser on-chain vs. pha.quote in Python vs. dcap-qvl, on the real quotes and broken ones."""

from __future__ import annotations

import struct

import ape
import dcap_qvl
import pytest

from pha.quote.errors import QuoteFormatError
from pha.quote.layout import TeeType, parse_quote
from pha.quote.measurement import sgx_measurement_id, tdx_measurement_id

from .conftest import DATA


def _b(value) -> bytes:
    return bytes(value) if not isinstance(value, str) else bytes.fromhex(value.removeprefix("0x"))


def test_parse_tdx__real_quote__fields_match_dcap_qvl(parser, tdx_raw):
    q = parser.parse(tdx_raw)
    td = parser.tdReport(tdx_raw)
    ref = dcap_qvl.parse_quote((DATA / "tdx_quote").read_bytes()).report
    assert q.version == 4 and q.teeType == int(TeeType.TDX)
    assert q.signedLength == 632 and q.hasSignatureData and q.signatureDataLength == 4300
    for name, ours in [
        ("mr_td", td.mrTd),
        ("rt_mr0", td.rtMr0),
        ("rt_mr1", td.rtMr1),
        ("rt_mr2", td.rtMr2),
        ("rt_mr3", td.rtMr3),
        ("mr_config_id", td.mrConfigId),
        ("mr_seam", td.mrSeam),
        ("report_data", td.reportData),
        ("td_attributes", td.tdAttributes),
        ("xfam", td.xfam),
        ("tee_tcb_svn", td.teeTcbSvn),
    ]:
        assert _b(ours) == bytes(getattr(ref, name)), name
    assert _b(q.reportData[0]) + _b(q.reportData[1]) == bytes(ref.report_data)
    assert q.debug is False
    assert _b(q.measurementId) == tdx_measurement_id(ref.mr_td, ref.rt_mr0, ref.rt_mr1, ref.rt_mr2)
    assert _b(q.measurementId) == parse_quote(tdx_raw).measurement_id


def test_parse_sgx__real_quote__fields_match_dcap_qvl(parser, sgx_raw):
    q = parser.parse(sgx_raw)
    r = parser.sgxReport(sgx_raw)
    ref = dcap_qvl.parse_quote(sgx_raw).report
    assert q.version == 3 and q.teeType == int(TeeType.SGX) and q.signedLength == 432
    assert _b(r.mrEnclave) == bytes(ref.mr_enclave)
    assert _b(r.mrSigner) == bytes(ref.mr_signer)
    assert _b(r.reportData) == bytes(ref.report_data)
    assert _b(r.attributes) == bytes(ref.attributes)
    assert _b(r.cpuSvn) == bytes(ref.cpu_svn)
    assert (r.isvProdId, r.isvSvn) == (0, 0)
    assert q.debug is False
    expected = sgx_measurement_id(ref.mr_enclave, ref.mr_signer, 0, 0)
    assert _b(q.measurementId) == expected == parse_quote(sgx_raw).measurement_id


def test_parse__signed_part_only__accepted_without_signature(parser, tdx_raw):
    q = parser.parse(tdx_raw[:632])
    assert q.signedLength == 632 and not q.hasSignatureData
    assert _b(q.measurementId) == parse_quote(tdx_raw).measurement_id


def test_measurement_id__solidity_and_python_agree(parser):
    regs = [bytes([i]) * 48 for i in range(1, 5)]
    compose = b"\x42" * 32
    assert _b(parser.tdxMeasurementId(*regs, b"\x00" * 32)) == tdx_measurement_id(*regs)
    assert _b(parser.tdxMeasurementId(*regs, compose)) == tdx_measurement_id(*regs, compose)
    assert tdx_measurement_id(*regs, compose) != tdx_measurement_id(*regs)
    args = (b"\x01" * 32, b"\x02" * 32, 513, 7)
    assert _b(parser.sgxMeasurementId(*args)) == sgx_measurement_id(*args)


def test_measurement_id__wrong_register_length__reverts(parser):
    with ape.reverts(parser.MeasurementIdBadRegisterLength):
        parser.tdxMeasurementId(b"\x01" * 47, b"\x01" * 48, b"\x01" * 48, b"\x01" * 48, b"\x00" * 32)


def _expect_both(parser, raw: bytes, code: str) -> None:
    with pytest.raises(QuoteFormatError) as info:
        parse_quote(raw)
    assert info.value.code == code
    with ape.reverts(getattr(parser, code)):
        parser.parse(raw)


@pytest.mark.parametrize("cut", [0, 47, 48, 631, 633, 635, 636, 4935])
def test_parse_tdx__truncated__reverts(parser, tdx_raw, cut):
    code = "QuoteParserLengthMismatch" if cut >= 636 else "QuoteParserTooShort"
    _expect_both(parser, tdx_raw[:cut], code)


def test_parse__trailing_bytes__reverts(parser, tdx_raw, sgx_raw):
    _expect_both(parser, tdx_raw + b"\x00", "QuoteParserLengthMismatch")
    _expect_both(parser, sgx_raw + b"\x01\x02", "QuoteParserLengthMismatch")


def test_parse_real_tdx__with_its_zero_padding__reverts_on_chain(parser):
    padded = (DATA / "tdx_quote").read_bytes()
    with ape.reverts(parser.QuoteParserLengthMismatch):
        parser.parse(padded)


def _patch(raw: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(raw)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize("version", [0, 1, 2, 6, 0xFFFF])
def test_parse__wrong_version__reverts(parser, tdx_raw, version):
    _expect_both(parser, _patch(tdx_raw, 0, "<H", version), "QuoteParserUnsupportedVersion")


def test_parse__sgx_as_tdx__reverts(parser, sgx_raw, tdx_raw):
    _expect_both(parser, _patch(sgx_raw, 4, "<I", 0x81), "QuoteParserUnsupportedTeeType")
    _expect_both(parser, _patch(tdx_raw, 4, "<I", 0), "QuoteParserUnsupportedTeeType")
    # an SGX v3 quote relabelled v4 is refused by TEE type, never read at TD offsets
    _expect_both(parser, _patch(sgx_raw, 0, "<H", 4), "QuoteParserUnsupportedTeeType")


@pytest.mark.parametrize("key_type", [0, 1, 3, 0x0200])
def test_parse__wrong_attestation_key_type__reverts(parser, tdx_raw, key_type):
    _expect_both(parser, _patch(tdx_raw, 2, "<H", key_type), "QuoteParserUnsupportedAttestationKeyType")


def _v5(raw_v4: bytes, body_type: int = 2, size: int = 584) -> bytes:
    header = _patch(raw_v4[:48], 0, "<H", 5)
    return header + struct.pack("<HI", body_type, size) + raw_v4[48:632]


def test_parse_v5__td10_body__parsed_at_shifted_offsets(parser, tdx_raw):
    raw = _v5(tdx_raw)
    q = parser.parse(raw)
    assert q.version == 5 and q.bodyType == 2 and q.bodyOffset == 54 and q.signedLength == 638
    assert _b(q.measurementId) == parse_quote(tdx_raw).measurement_id == parse_quote(raw).measurement_id


def test_parse_v5__td15_body__parsed(parser, tdx_raw):
    raw = _v5(tdx_raw, 3, 648) + b"\x07" * 64
    q = parser.parse(raw)
    assert q.signedLength == 54 + 648
    assert _b(q.measurementId) == parse_quote(tdx_raw).measurement_id


def test_parse_v5__unknown_body_type_or_size__reverts(parser, tdx_raw):
    _expect_both(parser, _v5(tdx_raw, 4, 584), "QuoteParserUnsupportedBodyType")
    _expect_both(parser, _v5(tdx_raw, 2, 648), "QuoteParserBodySizeMismatch")
