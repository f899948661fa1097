"""pha.quote off-chain: dcap-qvl verification window, attester -> committee on-chain, CLI, HTTP service."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from aiohttp import ClientSession, web
from eth_account import Account

from pha.quote.attester import Attester
from pha.quote.committee import encode_evidence
from pha.quote.errors import VerificationError
from pha.quote.layout import parse_quote
from pha.quote.service import make_app
from pha.quote.tcb import TcbStatus
from pha.quote.verify import collateral_window, verify_quote

from .conftest import DATA


def test_verify__tdx_inside_window__up_to_date(tdx_raw, tdx_collateral):
    start, end = collateral_window(tdx_collateral)
    verdict = verify_quote(tdx_raw, tdx_collateral, start + 60)
    assert verdict.status == TcbStatus.UpToDate and verdict.advisory_ids == []
    assert verdict.tcb_date == 1710288000 and start < verdict.collateral_expires_at <= end


def test_verify__sgx_inside_window__status_and_advisories(sgx_raw, sgx_collateral):
    start, _ = collateral_window(sgx_collateral)
    verdict = verify_quote(sgx_raw, sgx_collateral, start + 60)
    assert verdict.status == TcbStatus.ConfigurationAndSWHardeningNeeded
    assert verdict.advisory_ids == ["INTEL-SA-00289", "INTEL-SA-00615"]


@pytest.mark.parametrize("name", ["tdx", "sgx"])
def test_verify__outside_window__refused(name, tdx_raw, sgx_raw, tdx_collateral, sgx_collateral):
    raw, collateral = (tdx_raw, tdx_collateral) if name == "tdx" else (sgx_raw, sgx_collateral)
    start, end = collateral_window(collateral)
    for when in (start - 86400, end + 86400):
        with pytest.raises(VerificationError):
            verify_quote(raw, collateral, when)


def test_attester__two_real_signatures__accepted_by_committee(
    project, tdx_raw, tdx_collateral, attester_keys
):
    """End to end at the collateral's own time: an anvil whose clock starts inside the 2025 window."""
    from web3 import Web3

    from pha.anvil import Anvil

    from .test_non_local_chain import deploy

    start, _ = collateral_window(tdx_collateral)
    with Anvil(extra_args=["--timestamp", str(start + 120)]) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        addresses = [Account.from_key(k).address for k in attester_keys[:3]]
        committee = deploy(w3, project.CommitteeQuoteVerifier, w3.eth.accounts[0], addresses, 2, 7 * 86400)
        signed = [
            Attester(k, 31337, committee.address).attest(tdx_raw, tdx_collateral, start + 60)
            for k in attester_keys[:2]
        ]
        statement = signed[0].statement
        assert signed[1].statement == statement
        evidence = encode_evidence(statement, [(s.attester, s.signature) for s in signed])
        result = committee.functions.verify(tdx_raw[:632], evidence).call()
    assert result[2] == parse_quote(tdx_raw).measurement_id  # measurementId
    assert result[7] == int(TcbStatus.UpToDate) and result[9] == 1710288000  # tcbStatus, tcbDate


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args], capture_output=True, input=stdin, timeout=60
    )


def test_cli_parse__real_quote_json__fields(tdx_raw):
    out = _cli("parse", str(DATA / "tdx_quote"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["measurement_id"] == "0x" + parse_quote(tdx_raw).measurement_id.hex()
    assert data["tee_type"] == "TDX"


@pytest.mark.parametrize(
    "args",
    [
        ("parse", "/nonexistent/quote"),
        ("parse", str(DATA / "tdx_quote_collateral.json")),
        ("verify", str(DATA / "sgx_quote"), "--collateral", str(DATA / "sgx_quote")),
        ("verify", str(DATA / "sgx_quote"), "--collateral", str(DATA / "sgx_quote_collateral.json")),
        (
            "report-data",
            "--chain-id",
            "1",
            "--registry",
            "0x1",
            "--signer",
            "0x1",
            "--encryption-key",
            "00",
            "--pool-id",
            "1",
        ),
        (
            "attest",
            str(DATA / "sgx_quote"),
            "--collateral",
            str(DATA / "sgx_quote_collateral.json"),
            "--chain-id",
            "1",
            "--verifier",
            "0x" + "11" * 20,
        ),
    ],
)
def test_cli__bad_input__one_line_no_traceback(args):
    out = _cli(*args)
    assert out.returncode != 0
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pha-quote: "), out.stderr
    assert b"Traceback" not in out.stderr


def test_cli_verify__at_collateral_issue__shows_status_and_advisories():
    out = _cli(
        "verify",
        str(DATA / "sgx_quote"),
        "--collateral",
        str(DATA / "sgx_quote_collateral.json"),
        "--at-collateral-issue",
    )
    assert out.returncode == 0, out.stderr
    assert b"ConfigurationAndSWHardeningNeeded" in out.stdout and b"INTEL-SA-00615" in out.stdout


def test_cli_report_data__matches_library():
    from pha.quote.binding import report_data

    reg, signer = "0x" + "ab" * 20, "0x" + "cd" * 20
    out = _cli(
        "report-data",
        "--chain-id",
        "8453",
        "--registry",
        reg,
        "--signer",
        signer,
        "--encryption-key",
        "0x" + "11" * 32,
        "--pool-id",
        "9",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().strip() == "0x" + report_data(8453, reg, signer, b"\x11" * 32, 9).hex()


def test_service__post_attest_over_loopback__signed_statement(attester_keys, tdx_raw, tdx_collateral):
    from eth_account import Account

    start, _ = collateral_window(tdx_collateral)
    attester = Attester(attester_keys[0], 31337, "0x" + "22" * 20)

    async def scenario() -> tuple[dict, int, int]:
        app = make_app(attester, clock=lambda: start + 60)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with ClientSession() as http:
                url = f"http://127.0.0.1:{port}/attest"
                padded = (DATA / "tdx_quote").read_bytes()
                async with http.post(
                    url, json={"quote": "0x" + padded.hex(), "collateral": json.loads(tdx_collateral)}
                ) as r:
                    good = await r.json()
                async with http.post(
                    url, json={"quote": "0x1234", "collateral": json.loads(tdx_collateral)}
                ) as r:
                    bad = r.status
                async with http.post(url, data=b"not json") as r:
                    junk = r.status
        finally:
            await runner.cleanup()
        return good, bad, junk

    good, bad, junk = asyncio.run(scenario())
    assert bad == 400 and junk == 400
    assert good["attester"] == Account.from_key(attester_keys[0]).address
    assert good["statement"]["quoteHash"] == "0x" + parse_quote(tdx_raw).quote_hash.hex()
    assert good["statement"]["tcbStatusName"] == "UpToDate"
    assert good["quote"] == "0x" + tdx_raw[:632].hex()
