"""The worker against the contracts: DevQuoteVerifier accepts its simulated quote with the same binding
and measurement id; WorkerBinding.sol computes the same report_data; JobEscrow hashes what it signs."""

import pytest
from eth_utils import keccak

from pha import envelope
from pha.escrow.typed_data import (
    Domain,
    ResultEntry,
    batch_digest,
    recover_digest,
    result_digest,
    results_hash,
)
from pha.quote import DEV_ADDRESS
from tests.worker.conftest import POOL_ID, REGISTRY, make_settings
from worker.server import build_state, run_job


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


# --- JobEscrow hashes what the worker signs (runs once contracts/JobEscrow.sol is on main) ---


@pytest.fixture(scope="module")
def escrow(project, gov, token):
    try:
        contract_type = project.JobEscrow
    except (AttributeError, KeyError):
        pytest.skip("contracts/JobEscrow.sol is not on this branch yet")
    stand_in = gov.address  # the views under test touch none of the dependencies
    # ... but the constructor approves Staking on the token once: the token must be a real one.
    return gov.deploy(contract_type, gov, token, stand_in, stand_in, stand_in, stand_in, 100, 100)


def test_escrow__result_and_batch_digests_equal_what_the_worker_signs(escrow, chain):
    state = build_state(make_settings(chain_id=chain.chain_id, escrow=escrow.address))
    domain = Domain(chain.chain_id, escrow.address)
    outputs, entries = [], []
    for job_id, text in ((1, "great"), (2, "awful")):
        raw = envelope.build_input("sentiment", text)
        result = run_job(state, job_id, keccak(raw), raw)
        entry = ResultEntry(job_id, result["input_hash"], result["output_hash"])
        onchain = bytes(escrow.resultDigest(job_id, entry.input_hash, entry.output_hash, state.keys.address))
        assert onchain == result_digest(domain, entry, state.keys.address)
        assert recover_digest(onchain, result["signature"]) == state.keys.address
        outputs.append(bytes.fromhex(result["output"][2:]))
        entries.append(entry)
    batch = [
        (e.job_id, (b"\x00" * 32, e.input_hash, state.keys.address, 0, 0, 6), out)
        for e, out in zip(entries, outputs, strict=True)
    ]
    onchain_results_hash = bytes(escrow.resultsHash(batch))
    assert onchain_results_hash == results_hash(entries)
    assert bytes(escrow.batchDigest(onchain_results_hash, state.keys.address)) == batch_digest(
        domain, entries, state.keys.address
    )
