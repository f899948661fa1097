"""The committee attester replays a dstack log and signs the compose hash it proves; the committee
verifier then yields the app's measurement id. Collateral older than the maximum age is refused."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import ClientSession, web

from pha.quote.attester import Attester
from pha.quote.committee import encode_evidence
from pha.quote.errors import QuoteError, VerificationError
from pha.quote.eventlog import EventLogError
from pha.quote.measurement import tdx_measurement_id
from pha.quote.service import make_app
from pha.quote.verify import check_collateral_age, collateral_dates, collateral_window

from .dstack import COMPOSE_HASH, DSTACK, app_compose, collateral, quote, raw_quote, tcb_info

VERIFIER = "0x" + "22" * 20
DAY = 86400


def window_start() -> int:
    return collateral_window(collateral())[0]


def log_json() -> list:
    """A fresh copy of the sample's event log (tests edit it)."""
    return json.loads(json.dumps(tcb_info()["event_log"]))


@pytest.fixture
def pair(attester_keys):
    return Attester(attester_keys[0], 31337, VERIFIER), Attester(attester_keys[1], 31337, VERIFIER)


def test_attest__with_the_log__signs_the_compose_hash(pair):
    first, second = pair
    at = window_start() + 60
    signed = first.attest(raw_quote(), collateral(), at, log_json(), app_compose())
    assert signed.statement.compose_hash == COMPOSE_HASH
    assert signed.app is not None and signed.as_json()["app"]["compose_hash"] == "0x" + COMPOSE_HASH.hex()
    cosigned = second.cosign(raw_quote(), collateral(), signed.statement, at + 30, event_log=log_json())
    assert cosigned.statement == signed.statement


def test_attest__without_a_log__compose_zero_as_before(pair):
    signed = pair[0].attest(raw_quote(), collateral(), window_start() + 60)
    assert signed.statement.compose_hash == bytes(32) and signed.app is None


def test_attest__log_not_replaying_to_the_quote__refused(pair):
    log = log_json()
    del log[-3]  # os-image-hash
    with pytest.raises(EventLogError, match=r"^RTMR3 replays"):
        pair[0].attest(raw_quote(), collateral(), window_start() + 60, log)


def test_attest__another_apps_compose__refused(pair):
    other = app_compose().replace('"name":"intents-solver-1"', '"name":"intents-solver-2"')
    assert other != app_compose()
    with pytest.raises(EventLogError, match="sha256 of the app compose"):
        pair[0].attest(raw_quote(), collateral(), window_start() + 60, log_json(), other)


def test_attest__app_compose_without_a_log__refused(pair):
    with pytest.raises(QuoteError, match="needs the event log"):
        pair[0].attest(raw_quote(), collateral(), window_start() + 60, None, app_compose())


@pytest.mark.parametrize(
    ("compose", "log", "reason"),
    [
        (b"\x42" * 32, True, "is not the one my replay of the event log proves"),
        (bytes(32), True, "is not the one my replay"),  # the app's quote must not pass as plain TDX
        (COMPOSE_HASH, False, "no event log was given"),
    ],
)
def test_cosign__compose_hash_not_proved_by_own_replay__refused(pair, compose, log, reason):
    first, second = pair
    at = window_start() + 60
    proposed = dataclasses.replace(
        first.attest(raw_quote(), collateral(), at, log_json()).statement, compose_hash=compose
    )
    with pytest.raises(VerificationError, match=reason):
        second.cosign(raw_quote(), collateral(), proposed, at, event_log=log_json() if log else None)


# --- collateral freshness -----------------------------------------------------------------------


def test_collateral_dates__of_the_sample():
    dates = collateral_dates(collateral())
    assert set(dates) == {"TCB info", "QE identity", "PCK CRL", "root CA CRL"}
    assert dates["PCK CRL"][0] < dates["QE identity"][0] < dates["TCB info"][0] == window_start()


def test_collateral_older_than_max_age__refused(attester_keys):
    strict = Attester(attester_keys[0], 31337, VERIFIER, max_collateral_age=3600)
    pck_crl_issued = collateral_dates(collateral())["PCK CRL"][0]
    strict.attest(raw_quote(), collateral(), pck_crl_issued + 3600)
    with pytest.raises(
        VerificationError, match=r"collateral too old: its PCK CRL was issued 2025-09-02 07:03 UTC"
    ):
        strict.attest(raw_quote(), collateral(), pck_crl_issued + 3601)


def test_default_max_age__seven_days_inside_the_collateral_window(pair):
    issued = collateral_dates(collateral())["PCK CRL"][0]
    pair[0].attest(raw_quote(), collateral(), issued + 7 * DAY)
    with pytest.raises(VerificationError, match=r"8\.0 days before the verification time \(at most 7 days"):
        pair[0].attest(raw_quote(), collateral(), issued + 8 * DAY)  # dcap-qvl alone would accept it
    with pytest.raises(VerificationError, match="collateral too old"):
        pair[1].cosign(
            raw_quote(),
            collateral(),
            pair[0].attest(raw_quote(), collateral(), issued + DAY).statement,
            issued + 8 * DAY,
        )


def test_root_ca_crl__is_not_held_to_the_age():
    """Intel issues the root CA CRL about yearly: months old in any real collateral."""
    dates = collateral_dates(collateral())
    assert window_start() - dates["root CA CRL"][0] > 100 * DAY
    check_collateral_age(collateral(), window_start() + 60, 7 * DAY)


# --- the HTTP service ---------------------------------------------------------------------------


def test_service__event_log_and_app_compose__compose_hash_signed(attester_keys):
    attester = Attester(attester_keys[0], 31337, VERIFIER)
    body = {"quote": "0x" + raw_quote().hex(), "collateral": json.loads(collateral())}

    async def scenario() -> list[tuple[int, dict]]:
        runner = web.AppRunner(make_app(attester, clock=lambda: window_start() + 60))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        answers = []
        try:
            async with ClientSession() as http:
                for extra in (
                    {"event_log": log_json(), "app_compose": app_compose()},
                    {"event_log": json.dumps(log_json())},
                    {"event_log": log_json()[:-1]},
                    {"event_log": 7},
                    {"app_compose": app_compose()},
                ):
                    async with http.post(f"http://127.0.0.1:{port}/attest", json={**body, **extra}) as r:
                        answers.append((r.status, await r.json()))
        finally:
            await runner.cleanup()
        return answers

    (ok, good), (ok_text, good_text), (bad_log, refused), (bad_type, _), (lonely, _) = asyncio.run(scenario())
    assert ok == ok_text == 200
    assert (
        good["statement"]["composeHash"] == good_text["statement"]["composeHash"] == "0x" + COMPOSE_HASH.hex()
    )
    assert good["app"]["app_compose_checked"] is True
    assert bad_log == 400 and refused["error"].startswith("RTMR3 replays")
    assert bad_type == 400 and lonely == 400


# --- the CLI ------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_event_log_verify__prints_registers_compose_and_id():
    out = _cli(
        "event-log",
        "verify",
        str(DSTACK / "quote.hex"),
        str(DSTACK / "tcb_info.json"),
        "--app-compose",
        str(DSTACK / "app-compose.json"),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["compose_hash"] == "0x" + COMPOSE_HASH.hex() and data["app_compose_checked"]
    assert data["rtmr"][3] == "0x" + tcb_info()["rtmr3"]
    assert data["measurement_id"] == "0x" + quote().measurement_id_with_compose(COMPOSE_HASH).hex()
    text = _cli("event-log", "verify", str(DSTACK / "quote.hex"), str(DSTACK / "tcb_info.json"))
    assert text.returncode == 0 and "rtmr3" in text.stdout and "0x" + tcb_info()["rtmr3"] in text.stdout


def test_cli_event_log_verify__tampered_log__one_line_exit_1(tmp_path):
    log = log_json()
    log[-1], log[-2] = log[-2], log[-1]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    out = _cli("event-log", "verify", str(DSTACK / "quote.hex"), str(path))
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("pha-quote: RTMR3 replays to 0x") and "Traceback" not in out.stderr
    missing = _cli("event-log", "verify", str(DSTACK / "quote.hex"), str(tmp_path / "none.json"))
    assert missing.returncode == 1 and missing.stderr.startswith("pha-quote: cannot read")


def test_cli_compose_hash__sha256_and_measurement_id():
    out = _cli("compose-hash", str(DSTACK / "app-compose.json"), "--quote", str(DSTACK / "quote.hex"))
    assert out.returncode == 0, out.stderr
    f = quote().fields
    mid = tdx_measurement_id(f["mr_td"], f["rt_mr0"], f["rt_mr1"], f["rt_mr2"], COMPOSE_HASH)
    assert out.stdout.split() == [
        "compose_hash",
        "0x" + COMPOSE_HASH.hex(),
        "measurement_id",
        "0x" + mid.hex(),
    ]


def test_cli_attest__with_event_log__and_bad_max_age(attester_keys, tmp_path):
    env_key = "0x" + attester_keys[0].hex()
    args = (
        "attest",
        str(DSTACK / "quote.hex"),
        "--collateral",
        str(DSTACK / "collateral.json"),
        "--chain-id",
        "31337",
        "--verifier",
        VERIFIER,
        "--now",
        str(window_start() + 60),
    )
    env = {"PHA_ATTESTER_KEY": env_key, "PATH": "/usr/bin:/bin", "PYTHONPATH": "."}
    out = subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args, "--event-log", str(DSTACK / "tcb_info.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["statement"]["composeHash"] == "0x" + COMPOSE_HASH.hex()
    bad = subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args, "--max-collateral-age-days", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (
        bad.returncode == 1 and bad.stderr.strip() == "pha-quote: --max-collateral-age-days must be positive"
    )
    old = subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args[:-1], str(window_start() + 9 * DAY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert old.returncode == 1 and old.stderr.startswith("pha-quote: collateral too old")


# --- on chain -----------------------------------------------------------------------------------


def test_committee_on_anvil__yields_the_apps_measurement_id(project, attester_keys):
    """The real quote and the statement two attesters signed after replaying its log, on an anvil
    whose clock starts inside the collateral window: verify returns the app's measurement id."""
    from eth_account import Account
    from web3 import Web3

    from pha.anvil import Anvil

    from .test_non_local_chain import deploy

    at = window_start() + 60
    with Anvil(extra_args=["--timestamp", str(at + 60)]) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        addresses = [Account.from_key(k).address for k in attester_keys[:3]]
        committee = deploy(w3, project.CommitteeQuoteVerifier, w3.eth.accounts[0], addresses, 2, 7 * DAY)
        first = Attester(attester_keys[0], 31337, committee.address).attest(
            raw_quote(), collateral(), at, log_json(), app_compose()
        )
        second = Attester(attester_keys[1], 31337, committee.address).cosign(
            raw_quote(), collateral(), first.statement, at, event_log=log_json()
        )
        evidence = encode_evidence(
            first.statement, [(first.attester, first.signature), (second.attester, second.signature)]
        )
        result = committee.functions.verify(raw_quote(), evidence).call()
        # The same quote attested without its log: the plain id, which any app on the image shares.
        plain = [
            Attester(k, 31337, committee.address).attest(raw_quote(), collateral(), at)
            for k in attester_keys[:2]
        ]
        plain_result = committee.functions.verify(
            raw_quote(), encode_evidence(plain[0].statement, [(s.attester, s.signature) for s in plain])
        ).call()
    assert result[2] == first.app.measurement_id == quote().measurement_id_with_compose(COMPOSE_HASH)
    assert bytes(result[12]) == COMPOSE_HASH
    assert plain_result[2] == quote().measurement_id != result[2]


# --- the operator's side: `operator register --verifier committee` for a dstack worker ----------


@contextmanager
def attester_services(attesters: list[Attester], at: int) -> Iterator[list[str]]:
    """The attesters' HTTP services (real aiohttp, loopback) on a thread of their own; the sample's
    collateral is each one's configured provider, their clock `at`."""
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []

    async def provider(_: bytes) -> str:
        return collateral()

    async def start() -> list[str]:
        urls = []
        for attester in attesters:
            runner = web.AppRunner(make_app(attester, provider=provider, clock=lambda: at))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            urls.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]
        return urls

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    finally:
        for runner in runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def test_operator_committee_evidence__sends_the_workers_log__both_attesters_sign_the_compose(pair):
    from eth_abi import decode

    from pha.cli import UserError
    from pha.quote.committee import STATEMENT_ABI
    from pha.registry.actions import committee_evidence

    app = {"event_log": log_json(), "app_compose": app_compose()}
    with attester_services(list(pair), window_start() + 60) as urls:
        signed_part, evidence = committee_evidence(urls, raw_quote(), 2, app)
        _, plain = committee_evidence(urls, raw_quote(), 2)
        tampered = {**app, "event_log": log_json()[:-1]}
        with pytest.raises(UserError, match="RTMR3 replays"):
            committee_evidence(urls, raw_quote(), 2, tampered)
    statement, signatures = decode([STATEMENT_ABI, "bytes"], evidence)
    assert signed_part == quote().signed_part
    assert statement[6] == COMPOSE_HASH and len(signatures) == 2 * 65
    assert decode([STATEMENT_ABI, "bytes"], plain)[0][6] == bytes(32)  # no log: no compose hash
