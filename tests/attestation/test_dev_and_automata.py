"""DevQuoteVerifier (simulated quotes, local chains only) and the Automata adapter (mocked)."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from pha.quote.binding import report_data, worker_binding
from pha.quote.dev import DEV_ADDRESS, simulated_sgx_quote, simulated_tdx_quote
from pha.quote.layout import parse_quote
from pha.quote.tcb import TcbStatus, advisory_id_hash

REGS = {f"rt_mr{i}": bytes([0x10 + i]) * 48 for i in range(3)}


@pytest.fixture(scope="module")
def dev(project, gov):
    return gov.deploy(project.DevQuoteVerifier, gov, DEV_ADDRESS, 3600)


def _sim(**kw) -> bytes:
    return simulated_tdx_quote(
        mr_td=b"\x01" * 48, report_data=kw.pop("report_data", b"\x05" * 64), **REGS, **kw
    )


def test_dev_verify__simulated_tdx__returns_binding_and_measurement(dev, parser, chain, gov):
    rd = report_data(chain.chain_id, str(gov.address), str(gov.address), b"\x07" * 32, 3)
    raw = _sim(report_data=rd)
    result = dev.verify(raw, b"")
    assert bytes(result.measurementId) == parse_quote(raw).measurement_id
    assert bytes(result.reportData[0]) == worker_binding(
        chain.chain_id, str(gov.address), str(gov.address), b"\x07" * 32, 3
    )
    assert bytes(result.reportData[1]) == bytes(32)
    assert bytes(parser.binding(chain.chain_id, gov, gov, b"\x07" * 32, 3)) == rd[:32]
    assert result.tcbStatus == int(TcbStatus.UpToDate) and result.expiresAt == result.verifiedAt + 3600


def test_dev_verify__simulated_sgx_and_v5__accepted(dev):
    sgx = simulated_sgx_quote(
        mr_enclave=b"\x01" * 32, mr_signer=b"\x02" * 32, isv_prod_id=1, isv_svn=2, report_data=bytes(64)
    )
    assert dev.verify(sgx, b"").teeType == 1
    assert dev.verify(_sim(version=5), b"").quoteVersion == 5


def test_dev_verify__other_key__reverts(dev):
    raw = _sim(private_key=keccak(b"not the dev key"))
    with ape.reverts(dev.DevQuoteVerifierBadSignature):
        dev.verify(raw, b"")


def test_dev_verify__tampered_body__reverts(dev):
    raw = bytearray(_sim())
    raw[48 + 136] ^= 0xFF  # flip a byte of MRTD after signing
    with ape.reverts(dev.DevQuoteVerifierBadSignature):
        dev.verify(bytes(raw), b"")


def test_dev_verify__real_quote__not_simulated(dev, tdx_raw):
    with ape.reverts(dev.DevQuoteVerifierNotSimulated):
        dev.verify(tdx_raw, b"")


def test_dev_set_signer__by_attacker__reverts(dev, attacker):
    with ape.reverts(dev.OwnableUnauthorizedAccount):
        dev.setDevSigner(attacker, sender=attacker)


# ---------------------------------------------------------------- Automata adapter (mocked)


@pytest.fixture(scope="module")
def automata(project, gov):
    return gov.deploy(project.MockAutomataDcapAttestation)


@pytest.fixture(scope="module")
def adapter(project, gov, automata):
    return gov.deploy(project.AutomataQuoteVerifier, automata, 1, 3600)  # OutputFormat.V1_1


def _output_v11(raw: bytes, status: int, advisories: list[str] | None = None) -> bytes:
    q = parse_quote(raw)
    out = q.version.to_bytes(2, "big") + (2 if q.tee_type == 2 else 1).to_bytes(2, "big") + bytes([status])
    out += bytes.fromhex("b0c06f000000") + raw[q.body_offset : q.signed_length]
    if advisories:
        out += encode(["string[]"], [advisories])
    return out


def test_automata__ok_output__mapped(adapter, automata, gov, sgx_raw):
    ids = ["INTEL-SA-00289", "INTEL-SA-00615"]
    automata.setResult(True, _output_v11(sgx_raw, 2, ids), sender=gov)
    tx = adapter.verify(sgx_raw, b"", sender=gov)
    result = tx.return_value
    assert bytes(automata.lastQuoteHash()) == keccak(sgx_raw)
    if result is not None:  # return values of transactions need a tracing node
        assert result.tcbStatus == int(TcbStatus.ConfigurationAndSWHardeningNeeded)
        assert [bytes(a) for a in result.advisoryIds] == [advisory_id_hash(i) for i in ids]
    call = adapter.verify.call(sgx_raw, b"")
    assert call.tcbStatus == int(TcbStatus.ConfigurationAndSWHardeningNeeded)
    assert [bytes(a) for a in call.advisoryIds] == [advisory_id_hash(i) for i in ids]
    assert bytes(call.measurementId) == parse_quote(sgx_raw).measurement_id


@pytest.mark.parametrize("status,ours", [(0, 0), (1, 1), (2, 3), (3, 2), (4, 4), (5, 5), (6, 6)])
def test_automata__status_mapping__ordered_enum(adapter, status, ours):
    assert adapter.mapStatus(status) == ours


def test_automata__unrecognized_status__reverts(adapter):
    with ape.reverts(adapter.AutomataQuoteVerifierUnknownStatus):
        adapter.mapStatus(7)


def test_automata__rejection__reverts_with_reason(adapter, automata, gov, tdx_raw):
    automata.setResult(False, b"Unsupported quote version", sender=gov)
    with ape.reverts(adapter.AutomataQuoteVerifierRejected):
        adapter.verify.call(tdx_raw, b"")


def test_automata__output_for_other_quote__reverts(adapter, automata, gov, tdx_raw, sgx_raw):
    other = bytearray(tdx_raw)
    other[48 + 136] ^= 1
    automata.setResult(True, _output_v11(bytes(other), 0), sender=gov)
    with ape.reverts(adapter.AutomataQuoteVerifierOutputMismatch):
        adapter.verify.call(tdx_raw, b"")


def test_automata__signed_part_only__reverts(adapter, tdx_raw):
    with ape.reverts(adapter.AutomataQuoteVerifierSignatureMissing):
        adapter.verify.call(tdx_raw[:632], b"")


def test_automata__zk_path__forwards_proof(adapter, automata, gov, tdx_raw):
    automata.setResult(True, _output_v11(tdx_raw, 0), sender=gov)
    evidence = encode(["uint8", "bytes", "bytes"], [2, b"zk-output", b"proof"])
    adapter.verify(tdx_raw, evidence, sender=gov)
    assert automata.lastZkCoprocessor() == 2 and bytes(automata.lastQuoteHash()) == keccak(b"zk-output")


def test_automata__v10_output_layout__decoded(project, gov, automata, tdx_raw):
    adapter10 = gov.deploy(project.AutomataQuoteVerifier, automata, 0, 3600)
    q = parse_quote(tdx_raw)
    out = (4).to_bytes(2, "big") + bytes.fromhex("00000081") + bytes([4]) + bytes(6) + tdx_raw[48:632]
    automata.setResult(True, out, sender=gov)
    assert adapter10.verify.call(tdx_raw, b"").tcbStatus == int(TcbStatus.OutOfDate)
    assert q.version == 4
