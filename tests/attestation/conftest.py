"""Fixtures for the attestation tests: real quotes, attester keys, deployed verifiers."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from pha.quote.committee import Statement, encode_evidence, sign_statement
from pha.quote.layout import parse_quote, strip_padding
from pha.quote.tcb import TcbStatus

DATA = Path(__file__).resolve().parents[1] / "data" / "dcap"
DAY = 24 * 3600


def read_quote(name: str) -> bytes:
    return strip_padding((DATA / name).read_bytes())


@pytest.fixture(scope="session")
def tdx_raw() -> bytes:
    return read_quote("tdx_quote")


@pytest.fixture(scope="session")
def sgx_raw() -> bytes:
    return read_quote("sgx_quote")


@pytest.fixture(scope="session")
def tdx_collateral() -> str:
    return (DATA / "tdx_quote_collateral.json").read_text()


@pytest.fixture(scope="session")
def sgx_collateral() -> str:
    return (DATA / "sgx_quote_collateral.json").read_text()


@pytest.fixture(scope="session")
def attester_keys() -> list[bytes]:
    """Three attester keys, sorted by address (the order signatures must come in)."""
    keys = [keccak(f"pha test attester {i}".encode()) for i in range(4)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


@pytest.fixture(scope="session")
def attester_addresses(attester_keys) -> list[str]:
    return [Account.from_key(k).address for k in attester_keys]


@pytest.fixture(scope="session")
def parser(project, gov):
    return gov.deploy(project.TestQuoteParser)


@pytest.fixture(scope="session")
def committee(project, gov, attester_addresses):
    """2-of-3 committee (the fourth key is not an attester)."""
    return gov.deploy(project.CommitteeQuoteVerifier, gov, attester_addresses[:3], 2, 7 * DAY)


@pytest.fixture
def make_statement(chain):
    def _make(raw: bytes, **overrides) -> Statement:
        now = chain.pending_timestamp
        values = {
            "quote_hash": parse_quote(raw).quote_hash,
            "tcb_status": TcbStatus.UpToDate,
            "advisory_ids": [],
            "tcb_date": 1710288000,
            "verified_at": now - 60,
            "expires_at": now + DAY,
        }
        values.update(overrides)
        return Statement(**values)

    return _make


@pytest.fixture
def evidence_for(committee, chain, attester_keys):
    """evidence_for(statement, [key indexes], sort=True, verifier=committee, chain_id=chain)."""

    def _evidence(statement: Statement, signers=(0, 1), sort=True, verifier=None, chain_id=None) -> bytes:
        verifier = str((verifier or committee).address)
        chain_id = chain_id or chain.chain_id
        pairs = [
            (
                Account.from_key(attester_keys[i]).address,
                sign_statement(statement, attester_keys[i], chain_id, verifier),
            )
            for i in signers
        ]
        if sort:
            return encode_evidence(statement, pairs)
        # keep the given order (for the unsorted/duplicate tests)
        from eth_abi import encode

        from pha.quote.committee import STATEMENT_ABI

        return encode([STATEMENT_ABI, "bytes"], [statement.as_tuple(), b"".join(s for _, s in pairs)])

    return _evidence
