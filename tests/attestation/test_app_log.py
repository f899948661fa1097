"""On-chain proof of a dstack app's compose hash (DstackAppLog, Sha384) on the real Phala Cloud
sample: the replay equals the quote's RTMR3, the Automata adapter returns the app's measurement
id, and every kind of tampering with the log is refused with its own custom error."""

from __future__ import annotations

import hashlib

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from pha.quote.app_evidence import EVIDENCE_TAG, app_log_evidence, attestation_evidence
from pha.quote.dev import DEV_ADDRESS, simulated_tdx_quote
from pha.quote.eventlog import EventLogError
from pha.quote.layout import parse_quote

from . import dstack
from .dstack import (
    COMPOSE_HASH,
    preimage,
    raw_evidence,
    registers,
    rtmr3,
    runtime,
    simulated_app_quote,
    tcb_info,
)
from .test_dev_and_automata import _output_v11

QUOTE = dstack.raw_quote()
EVENTS = dstack.events()
LOG3 = rtmr3(EVENTS)
COMPOSE_AT = [e.name for e in LOG3].index("compose-hash")


@pytest.fixture(scope="module")
def applog(project, gov):
    return gov.deploy(project.TestDstackAppLog)


@pytest.fixture(scope="module")
def dev(project, gov):
    return gov.deploy(project.DevQuoteVerifier, gov, DEV_ADDRESS, 3600)


@pytest.fixture(scope="module")
def automata(project, gov):
    return gov.deploy(project.MockAutomataDcapAttestation)


@pytest.fixture(scope="module")
def adapter(project, gov, automata):
    return gov.deploy(project.AutomataQuoteVerifier, automata, 1, 3600)


def _evidence(events=EVENTS, inner: bytes = b"") -> bytes:
    return app_log_evidence(events, inner)


def _app_id(quote: bytes, compose: bytes = COMPOSE_HASH) -> bytes:
    return parse_quote(quote).measurement_id_with_compose(compose)


# ---------------------------------------------------------------- the real sample


def test_replay__real_log__equals_quote_rtmr3(applog):
    digests = b"".join(e.digest for e in LOG3)
    assert len(LOG3) == 9
    assert bytes(applog.replay(digests)) == parse_quote(QUOTE).field("rt_mr3")
    assert bytes(applog.replay(digests)).hex() == tcb_info()["rtmr3"]


def test_compose_hash__real_log__is_sha256_of_app_compose(applog):
    compose = bytes(applog.composeHash(QUOTE, _evidence()))
    assert compose == COMPOSE_HASH == hashlib.sha256(tcb_info()["app_compose"].encode()).digest()
    assert compose.hex() == tcb_info()["compose_hash"]


def test_automata__real_quote_and_log__returns_app_measurement(adapter, automata, gov):
    automata.setResult(True, _output_v11(QUOTE, 0), sender=gov)
    result = adapter.verify.call(QUOTE, _evidence())
    assert bytes(result.composeHash) == COMPOSE_HASH
    assert bytes(result.measurementId) == _app_id(QUOTE)
    assert bytes(result.measurementId) != parse_quote(QUOTE).measurement_id  # not the bare OS image id
    adapter.verify(QUOTE, _evidence(), sender=gov)
    assert bytes(automata.lastQuoteHash()) == keccak(QUOTE)  # the on-chain path got the quote itself


def test_automata__old_evidence_forms__unchanged(adapter, automata, gov):
    automata.setResult(True, _output_v11(QUOTE, 0), sender=gov)
    plain = adapter.verify.call(QUOTE, b"")
    assert (
        bytes(plain.composeHash) == bytes(32)
        and bytes(plain.measurementId) == parse_quote(QUOTE).measurement_id
    )
    zk = encode(["uint8", "bytes", "bytes"], [1, b"zk-output", b"proof"])
    adapter.verify(QUOTE, _evidence(inner=zk), sender=gov)  # ZK tuple inside the app-log form
    assert automata.lastZkCoprocessor() == 1


def test_automata__app_log_but_automata_refuses__reverts(adapter, automata, gov):
    automata.setResult(False, b"bad signature", sender=gov)
    with ape.reverts(adapter.AutomataQuoteVerifierRejected):
        adapter.verify.call(QUOTE, _evidence())


def test_encoder__app_compose_mismatch__refused():
    log = tcb_info()["event_log"]
    assert attestation_evidence(log, tcb_info()["app_compose"]) == _evidence()
    with pytest.raises(EventLogError, match="sha256 of app_compose"):
        attestation_evidence(log, tcb_info()["app_compose"] + " ")


def test_evidence_tag__never_starts_an_abi_zk_tuple():
    assert EVIDENCE_TAG[0] != 0  # an abi-encoded (uint8, bytes, bytes) starts with 31 zero bytes


# ---------------------------------------------------------------- tampering (the real quote)


def _with_rtmr3(new3: list) -> tuple:
    return tuple(e for e in EVENTS if e.imr != 3) + tuple(new3)


def test_altered_event__replay_mismatch(applog):
    # instance-id (after the compose event) changed: its digest is consistent, the replay is not
    log = list(LOG3)
    log[3] = runtime("instance-id", b"\x00" * 20)
    with ape.reverts(applog.DstackAppLogReplayMismatch):
        applog.composeHash(QUOTE, _evidence(_with_rtmr3(log)))


@pytest.mark.parametrize("edit", ["drop", "reorder", "add"])
def test_dropped_reordered_added_event__replay_mismatch(applog, edit):
    log = list(LOG3)
    if edit == "drop":
        del log[5]
    elif edit == "reorder":
        log[4], log[5] = log[5], log[4]
    else:
        log.append(runtime("app-defined", b"anything"))
    with ape.reverts(applog.DstackAppLogReplayMismatch):
        applog.composeHash(QUOTE, _evidence(_with_rtmr3(log)))


def test_wrong_compose_payload__digest_mismatch(applog):
    digests = [e.digest for e in LOG3]
    pre = [preimage(e) for e in LOG3[: COMPOSE_AT + 1]]
    pre[-1] = pre[-1][:18] + bytes(reversed(COMPOSE_HASH))  # claim another app, keep the real digest
    with ape.reverts(applog.DstackAppLogDigestMismatch, index=COMPOSE_AT):
        applog.composeHash(QUOTE, raw_evidence(digests, pre))


def test_31_byte_compose_payload__refused(applog):
    digests = [e.digest for e in LOG3]
    pre = [preimage(e) for e in LOG3[:COMPOSE_AT]] + [preimage(runtime("compose-hash", COMPOSE_HASH[:31]))]
    digests[COMPOSE_AT] = runtime("compose-hash", COMPOSE_HASH[:31]).digest
    with ape.reverts(applog.DstackAppLogBadComposeHashLength, length=31):
        applog.composeHash(QUOTE, raw_evidence(digests, pre))


def test_altered_earlier_event__digest_mismatch(applog):
    digests = [e.digest for e in LOG3]
    pre = [preimage(e) for e in LOG3[: COMPOSE_AT + 1]]
    pre[1] = pre[1][:-1] + b"\x00"  # app-id's payload changed, its logged digest kept
    with ape.reverts(applog.DstackAppLogDigestMismatch, index=1):
        applog.composeHash(QUOTE, raw_evidence(digests, pre))


def test_app_restates_compose_hash__later_event_not_accepted(applog, dev):
    """The attack: after boot the app logs its own compose-hash event (dstack lets apps extend
    RTMR3) and offers that one. A quote whose RTMR3 really includes it is built, so only the
    first-compose-event rule stands between the attacker and another app's identity."""
    fake = runtime("compose-hash", b"\x66" * 32)
    log = [*LOG3, fake]
    quote = simulated_app_quote(_with_rtmr3(log), bytes(64), mr_config_id=bytes(48))
    digests = [e.digest for e in log]
    pre = [preimage(e) for e in log]  # every event up to the fake one
    with ape.reverts(dev.DstackAppLogEarlierComposeEvent, index=COMPOSE_AT):
        dev.verify(quote, raw_evidence(digests, pre))
    # the honest reading of the same log gives the real compose hash
    assert bytes(dev.verify(quote, _evidence(_with_rtmr3(log))).composeHash) == COMPOSE_HASH


def test_last_preimage_not_compose__refused(applog):
    digests = [e.digest for e in LOG3]
    pre = [preimage(e) for e in LOG3[:COMPOSE_AT]]
    with ape.reverts(applog.DstackAppLogNotComposeEvent, index=COMPOSE_AT - 1):
        applog.composeHash(QUOTE, raw_evidence(digests, pre))


def test_bounds__digest_length_count_and_preimages(applog):
    digests = [e.digest for e in LOG3]
    pre = [preimage(e) for e in LOG3[: COMPOSE_AT + 1]]
    with ape.reverts(applog.DstackAppLogBadDigestsLength, length=9 * 48 - 1):
        applog.composeHash(
            QUOTE, EVIDENCE_TAG + encode(["bytes", "bytes", "bytes[]"], [b"", b"".join(digests)[:-1], pre])
        )
    with ape.reverts(applog.DstackAppLogBadDigestsLength, length=0):
        applog.composeHash(QUOTE, raw_evidence([], pre))
    with ape.reverts(applog.DstackAppLogTooManyEvents, count=65, max=64):
        applog.composeHash(QUOTE, raw_evidence(digests + [bytes(48)] * 56, pre))
    with ape.reverts(applog.DstackAppLogBadPreimageCount, preimages=0, events=9):
        applog.composeHash(QUOTE, raw_evidence(digests, []))
    with ape.reverts(applog.DstackAppLogBadPreimageCount, preimages=3, events=2):
        applog.composeHash(QUOTE, raw_evidence(digests[:2], pre))


def test_zero_compose_hash__refused(dev):
    log = list(LOG3)
    log[COMPOSE_AT] = runtime("compose-hash", bytes(32))
    quote = simulated_app_quote(_with_rtmr3(log), bytes(64), mr_config_id=bytes(48))
    with ape.reverts(dev.DstackAppLogZeroComposeHash):
        dev.verify(quote, _evidence(_with_rtmr3(log)))


def test_sgx_quote__not_tdx(applog, sgx_raw):
    with ape.reverts(applog.DstackAppLogNotTdx):
        applog.composeHash(sgx_raw, _evidence())


# ---------------------------------------------------------------- MRCONFIGID and the dev verifier


@pytest.mark.parametrize(
    "config_id",
    [bytes(48), b"\x01" + COMPOSE_HASH + bytes(15), COMPOSE_HASH + bytes(16)],
    ids=["zero", "v1", "v0.5.1"],
)
def test_config_id__accepted_forms(dev, config_id):
    quote = simulated_app_quote(EVENTS, bytes(64), mr_config_id=config_id)
    result = dev.verify(quote, _evidence())
    assert bytes(result.composeHash) == COMPOSE_HASH and bytes(result.measurementId) == _app_id(quote)


@pytest.mark.parametrize(
    "config_id",
    [
        b"\x01" + bytes(reversed(COMPOSE_HASH)) + bytes(15),  # another compose hash
        b"\x01" + COMPOSE_HASH + bytes(14) + b"\x01",  # padding not zero
        b"\x02" + COMPOSE_HASH + bytes(15),  # version 2 (keccak form): not provable from this evidence
    ],
    ids=["other-compose", "dirty-padding", "version-2"],
)
def test_config_id__disagreeing__refused(dev, config_id):
    quote = simulated_app_quote(EVENTS, bytes(64), mr_config_id=config_id)
    with ape.reverts(dev.DstackAppLogConfigIdMismatch):
        dev.verify(quote, _evidence())


def test_dev__no_app_log__evidence_ignored_as_before(dev):
    quote = simulated_app_quote(EVENTS, bytes(64))
    assert bytes(dev.verify(quote, b"").measurementId) == parse_quote(quote).measurement_id
    assert bytes(dev.verify(quote, b"\x00" * 7).composeHash) == bytes(32)


def test_dev__app_log_with_inner_evidence__refused(dev):
    quote = simulated_app_quote(EVENTS, bytes(64))
    with ape.reverts(dev.DevQuoteVerifierBadEvidence):
        dev.verify(quote, _evidence(inner=b"\x01"))


def test_dev__log_of_other_quote__replay_mismatch(dev):
    quote = simulated_tdx_quote(report_data=bytes(64), **registers())  # RTMR3 zero
    with ape.reverts(dev.DstackAppLogReplayMismatch):
        dev.verify(quote, _evidence())


def test_gas__replay_and_compose_check(applog):
    compose, check_gas, replay_gas = applog.measure(QUOTE, _evidence())
    assert bytes(compose) == COMPOSE_HASH
    assert replay_gas < check_gas < 700_000  # measured: about 447k and 549k (bench: dstack.rtmr3_replay_gas)
