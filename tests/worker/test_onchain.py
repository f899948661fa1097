"""The worker's simulated quote on-chain: DevQuoteVerifier accepts it and reads the same binding
and measurement id; WorkerBinding.sol computes the same report_data as the worker."""

import pytest

from pha.quote import DEV_ADDRESS
from tests.worker.conftest import POOL_ID, REGISTRY, make_settings
from worker.server import build_state


@pytest.fixture(scope="module")
def dev_verifier(project, gov):
    return gov.deploy(project.DevQuoteVerifier, gov, DEV_ADDRESS, 86400)


@pytest.fixture(scope="module")
def state(chain):
    return build_state(make_settings(chain_id=chain.chain_id, code_identity="onchain-test"))


def test_dev_verifier__accepts_simulated_quote_with_worker_binding_and_measurement(dev_verifier, state):
    verified = dev_verifier.verify(state.attestation.quote, b"")
    report = b"".join(bytes(word) for word in verified.reportData)
    assert report == state.attestation.report_data
    assert bytes(verified.measurementId) == state.attestation.measurement_id
    assert verified.teeType == 2 and not verified.debug


def test_worker_binding_library__matches_worker_report_data(project, gov, state, chain):
    parser = gov.deploy(project.TestQuoteParser)
    onchain = parser.binding(chain.chain_id, REGISTRY, state.keys.address, state.keys.encryption_key, POOL_ID)
    assert bytes(onchain) == state.attestation.report_data[:32]
