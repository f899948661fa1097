"""A worker that runs as a dstack app registers through the on-chain path (DevQuoteVerifier on
anvil) with its replayed RTMR3 log: its measurement is the app's TDXCompose id, which governance
allows; another app on the same OS image, or the image without an app log, is refused."""

from __future__ import annotations

import os

import ape
import pytest
from eth_account import Account

from pha.quote.binding import report_data
from pha.quote.layout import parse_quote
from pha.registry.actions import WorkerAttestation, quote_and_evidence
from tests.attestation import dstack
from tests.attestation.dstack import COMPOSE_HASH, rtmr3, runtime, simulated_app_quote, tcb_info


def _attestation(chain, registry, pool, events=None, app_compose=None, config_id=None) -> WorkerAttestation:
    """What a simulated worker emulating the sample's dstack app would serve from /attestation."""
    signer, key = Account.create(), os.urandom(32)
    rd = report_data(chain.chain_id, registry.address, signer.address, key, pool)
    log = events if events is not None else dstack.events()
    overrides = {} if config_id is None else {"mr_config_id": config_id}
    quote = simulated_app_quote(log, rd, **overrides)
    return WorkerAttestation(
        worker=signer.address,
        encryption_key=key,
        measurement_id=parse_quote(quote).measurement_id_with_compose(COMPOSE_HASH),
        quote=quote,
        chain_id=chain.chain_id,
        registry=registry.address,
        pool_id=pool,
        simulated=True,
        event_log=[e.as_json() for e in log],
        app_compose=app_compose,
    )


def _register(registry, dev_verifier, operator, pool, attestation):
    quote, evidence = quote_and_evidence(attestation, "dev", [], 1)  # the operator script's evidence
    return registry.registerWorker(
        pool, attestation.worker, attestation.encryption_key, dev_verifier, quote, evidence, sender=operator
    )


@pytest.fixture
def app_id(chain, registry, pool) -> bytes:
    return _attestation(chain, registry, pool).measurement_id


def test_dstack_app__allowed__registers_with_app_measurement(
    registry, dev_verifier, operator, pool, chain, gov, default_policy, app_id
):
    attestation = _attestation(chain, registry, pool, app_compose=tcb_info()["app_compose"])
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        _register(registry, dev_verifier, operator, pool, attestation)
    registry.allowMeasurement(app_id, default_policy, ("dstack app", bytes(20), bytes(32)), sender=gov)
    _register(registry, dev_verifier, operator, pool, attestation)
    info = registry.workerInfo(attestation.worker)
    assert info.registered and bytes(info.measurementId) == app_id
    assert registry.isEligible(attestation.worker, app_id)


def test_dstack_app__two_instances__same_measurement(
    registry, dev_verifier, operator, pool, chain, gov, default_policy, app_id
):
    registry.allowMeasurement(app_id, default_policy, ("dstack app", bytes(20), bytes(32)), sender=gov)
    log = list(rtmr3(dstack.events()))
    log[3] = runtime("instance-id", os.urandom(20))  # a second CVM of the app: another RTMR3
    other_instance = tuple(e for e in dstack.events() if e.imr != 3) + tuple(log)
    first = _attestation(chain, registry, pool)
    second = _attestation(chain, registry, pool, events=other_instance)
    assert parse_quote(first.quote).field("rt_mr3") != parse_quote(second.quote).field("rt_mr3")
    for attestation in (first, second):
        _register(registry, dev_verifier, operator, pool, attestation)
        assert bytes(registry.workerInfo(attestation.worker).measurementId) == app_id


def test_dstack_app__other_app_on_same_image__refused(
    registry, dev_verifier, operator, pool, chain, gov, default_policy, app_id
):
    registry.allowMeasurement(app_id, default_policy, ("dstack app", bytes(20), bytes(32)), sender=gov)
    other = b"\x42" * 32
    log = list(rtmr3(dstack.events()))
    log[2] = runtime("compose-hash", other)
    events = tuple(e for e in dstack.events() if e.imr != 3) + tuple(log)
    attestation = _attestation(chain, registry, pool, events=events, config_id=b"\x01" + other + bytes(15))
    quote, evidence = quote_and_evidence(attestation, "dev", [], 1)
    assert bytes(dev_verifier.verify(quote, evidence).composeHash) == other  # the verifier proves it ...
    with ape.reverts(registry.RegistryMeasurementNotAllowed):  # ... and the registry refuses that app
        _register(registry, dev_verifier, operator, pool, attestation)


def test_dstack_image_without_app_log__refused(
    registry, dev_verifier, operator, pool, chain, gov, default_policy, app_id
):
    registry.allowMeasurement(app_id, default_policy, ("dstack app", bytes(20), bytes(32)), sender=gov)
    attestation = _attestation(chain, registry, pool)
    bare = WorkerAttestation(**{**attestation.__dict__, "event_log": None})  # the log withheld
    with ape.reverts(registry.RegistryMeasurementNotAllowed):
        _register(registry, dev_verifier, operator, pool, bare)
