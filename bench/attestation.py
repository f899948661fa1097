"""Attestation gas: committee verification of the real TDX v4 quote, 2-of-3, calldata included."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from bench.common import BenchEnv, Row
from pha.paths import ROOT
from pha.quote.committee import Statement, encode_evidence, sign_statement
from pha.quote.layout import parse_quote, strip_padding
from pha.quote.tcb import TcbStatus


def measure(env: BenchEnv) -> list[Row]:
    keys = sorted(
        (keccak(f"bench attester {i}".encode()) for i in range(3)),
        key=lambda k: int(Account.from_key(k).address, 16),
    )
    signers = [Account.from_key(k).address for k in keys]
    committee = env.gov.deploy(env.project.CommitteeQuoteVerifier, env.gov, signers, 2, 7 * 86400)
    raw = strip_padding((ROOT / "tests" / "data" / "dcap" / "tdx_quote").read_bytes())
    signed_part = raw[: parse_quote(raw).signed_length]
    now = env.chain.pending_timestamp
    statement = Statement(
        parse_quote(raw).quote_hash, TcbStatus.UpToDate, [], 1710288000, now - 60, now + 86400
    )
    evidence = encode_evidence(
        statement,
        [
            (signers[i], sign_statement(statement, keys[i], env.chain.chain_id, str(committee.address)))
            for i in (0, 1)
        ],
    )
    calldata = committee.verify.as_transaction(signed_part, evidence).data
    receipt = env.gov.call(committee.verify.as_transaction(signed_part, evidence, sender=env.gov))
    return [
        Row(
            "attestation.committee_verify_2of3",
            int(receipt.gas_used),
            "gas",
            goal=150_000,
            note=f"tx calling CommitteeQuoteVerifier.verify (view) with the real TDX v4 header+body "
            f"(632 B) and 2 of 3 signatures; calldata {len(calldata)} B, cold attester slots",
        )
    ]
