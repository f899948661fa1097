"""Operations on anvil: the operator watch and fee payouts. A worker's attestation nears its end
(time travel): the watch inside `pha-relayer run` warns and its gauges show it; `pha-relayer
watch --once` with renew configured renews it and the new expiry is on chain. `pha-relayer fees`
shows and withdraws the relay fees the relayer earned; `ape run governance sweep-fees` pays the
protocol fees to the treasury. The tests run in order (the first one settles the jobs whose fees
the last ones pay out)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pha.fmt import format_pha
from pha.paths import ROOT
from relayer.cli import main
from tests.relayer.conftest import RelayerThread, ended, make_settings, measurement_of, wait_until

pytestmark = pytest.mark.slow

HOUR = 3600
APE = str(Path(sys.executable).with_name("ape"))


@pytest.fixture(autouse=True)
def _keep_logging():
    """`pha-relayer watch` installs its own root handler (on CliRunner's stderr): undo it after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def travel(net, seconds: int) -> None:
    net.w3.provider.make_request("evm_increaseTime", [seconds])
    net.w3.provider.make_request("evm_mine", [])


def attested_until(net, worker: str) -> int:
    return int(net.registry.functions.workerInfo(worker).call()[2])


def gauge(text: str, name: str, worker: str, extra: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'worker="{worker}"' in line and extra in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {worker} not in /metrics")


def config(tmp_path, net, **values) -> str:
    path = tmp_path / "relayer.json"
    base = {"rpc_urls": [net.url], "escrow": net.escrow.address, "registry": net.registry.address}
    path.write_text(json.dumps({**base, **values}))
    return str(path)


def test_watch_in_relayer__attestation_near_expiry__warns_and_gauges_show_it(mined, tmp_path, caplog):
    net = mined
    worker = net.start_worker(net.pool)
    address = worker.state.keys.address
    until = attested_until(net, address)
    travel(net, until - net.now() - 4 * HOUR)  # 4 h left (the devnet verifier's verdicts last a day)
    caplog.set_level(logging.WARNING)
    settings = make_settings(
        net, tmp_path, [worker.url], start_block=net.w3.eth.block_number, metrics_port=0,
        watch_interval_s=0.5, watch_expiry_warn_hours=6,
    )  # fmt: skip
    ids = net.post_jobs(2, measurement_of(worker.url))  # earns relay fees for the fees test below
    with RelayerThread(settings) as r:
        url = f"http://127.0.0.1:{r.relayer.metrics_port}/metrics"
        wait_until(lambda: "pha_watch_seconds_to_expiry{" in httpx.get(url).text, 20, "watch gauges")
        text = httpx.get(url).text
        left = gauge(text, "pha_watch_seconds_to_expiry", address)
        assert 3 * HOUR < left <= 4 * HOUR
        assert gauge(text, "pha_watch_eligible", address) == 1
        assert gauge(text, "pha_watch_warning", address, 'kind="expiry"') == 1
        assert gauge(text, "pha_watch_warning", address, 'kind="ineligible"') == 0
        wait_until(lambda: ended(net, ids), 40, "jobs settled while the watch runs")
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "relayer.watch"]
    assert any(address in m and "attestation expires in" in m and "not configured" in m for m in lines), lines
    assert attested_until(net, address) == until  # warned, not renewed: renew is not configured


def test_watch_once__renew_configured__renews_and_new_expiry_on_chain(mined, tmp_path, monkeypatch):
    net = mined
    worker = net.start_worker(net.pool)
    address = worker.state.keys.address
    until = attested_until(net, address)
    travel(net, until - net.now() - 2 * HOUR)
    monkeypatch.setenv("PHA_RELAYER_OPERATOR_KEY", net.operator.key.hex())
    path = config(
        tmp_path, net, watch_workers=[{"url": worker.url, "address": address, "renew": True}],
        watch_verifier=net.c["verifier"].address, watch_expiry_warn_hours=6, watch_renew_before_hours=6,
    )  # fmt: skip
    result = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--config", path])
    assert result.exit_code == 1, result.output + result.stderr  # there was a warning
    assert "warning (expiry): attestation expires in" in result.output
    assert "renewed" in result.stderr and "Traceback" not in result.stderr
    renewed = attested_until(net, address)
    assert renewed > until and renewed >= net.now() + 23 * HOUR
    again = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--config", path])
    assert again.exit_code == 0 and "eligible" in again.output and "warning" not in again.output


def test_watch_once__fresh_worker_with_default_thresholds__exits_0(mined, tmp_path):
    # The devnet verifier's verdicts last a day, the default warning 24 h: the warning is capped
    # at half the attestation's lifetime, so a worker registered just now is not flagged.
    net = mined
    worker = net.start_worker(net.pool)
    path = config(tmp_path, net, watch_workers=[{"url": worker.url}])
    result = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--config", path])
    assert result.exit_code == 0, result.output + result.stderr
    assert "eligible" in result.output and "warning" not in result.output
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.search(rf"eligible until {iso} \(in (1 d|23 h \d+ min)\)", result.output), result.output
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output
    as_json = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--json", "--config", path])
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    address = worker.state.keys.address
    assert document["unreadable"] == 0 and len(document["workers"]) == 1
    [seen] = document["workers"]
    assert seen["worker"] == address and seen["eligible"] and seen["reason"] == "Eligible"
    assert seen["warnings"] == [] and seen["pool_id"] == net.pool
    assert seen["attested_until"]["unix"] == attested_until(net, address)
    assert seen["attested_until"]["iso"] in result.output
    assert seen["seconds_to_expiry"] == seen["eligible_until"]["unix"] - seen["now"]["unix"]


def test_watch_once__renew_without_operator_key__one_line_error(mined, tmp_path, monkeypatch):
    monkeypatch.delenv("PHA_RELAYER_OPERATOR_KEY", raising=False)
    path = config(tmp_path, mined, watch_workers=[{"url": "http://127.0.0.1:9", "renew": True}])
    result = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--config", path])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: renew: true needs the pool operator's key in PHA_RELAYER_OPERATOR_KEY"
    ]


def test_fees__shows_and_withdraws_relay_fees_then_nothing_owed(mined, tmp_path, monkeypatch):
    net = mined
    relayer = net.relayers[0]
    token = net.c["token"]
    owed = int(net.escrow.functions.relayerOwed(relayer.address).call())
    assert owed > 0  # the jobs of the first test
    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", relayer.key.hex())
    path = config(tmp_path, net)
    shown = CliRunner(mix_stderr=False).invoke(main, ["fees", "--config", path])
    assert shown.exit_code == 0, shown.stderr
    assert f"relayer {relayer.address}: owed 0.2 PHA" in shown.output
    as_json = CliRunner(mix_stderr=False).invoke(main, ["fees", "--config", path, "--json"])
    assert json.loads(as_json.stdout) == {
        "relayer": relayer.address,
        "owed": {"wei": str(owed), "pha": "0.2"},
        "withdrawn": {"wei": "0", "pha": "0"},
        "withdrawal": None,
    }
    receiver = net.client.address
    before = int(token.functions.balanceOf(receiver).call())
    args = ["fees", "--withdraw", "--to", receiver, "--config", path]
    done = CliRunner(mix_stderr=False).invoke(main, args)
    assert done.exit_code == 0, done.stderr
    assert f"withdrew 0.2 PHA to {receiver}" in done.output
    assert int(token.functions.balanceOf(receiver).call()) - before == owed
    assert int(net.escrow.functions.relayerOwed(relayer.address).call()) == 0
    assert int(net.escrow.functions.relayerWithdrawn(relayer.address).call()) == owed
    empty = CliRunner(mix_stderr=False).invoke(main, ["fees", "--withdraw", "--config", path])
    assert empty.exit_code == 1
    assert empty.stderr.strip().splitlines() == [f"Error: no relay fees owed to {relayer.address}"]


def test_fees__without_key__one_line_error(mined, tmp_path, monkeypatch):
    monkeypatch.delenv("PHA_RELAYER_PRIVATE_KEY", raising=False)
    result = CliRunner(mix_stderr=False).invoke(main, ["fees", "--config", config(tmp_path, mined)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "PHA_RELAYER_PRIVATE_KEY" in result.stderr
    assert os.environ.get("PHA_RELAYER_PRIVATE_KEY") is None


def devnet_manifest(net, folder) -> dict[str, str]:
    """A manifest for the devnet's contracts, so `ape run` scripts attach to them; returns the env."""
    names = {
        "JobEscrow": "escrow", "WorkerRegistry": "registry", "DevQuoteVerifier": "verifier",
        "Staking": "staking",
    }  # fmt: skip
    contracts = {
        name: {"address": net.c[key].address, "tx_hash": "0x", "block": net.deploy_block, "code_hash": "",
               "bytecode_hash": ""}
        for name, key in names.items()
    }  # fmt: skip
    manifest = {
        "network": "base:devnet", "chain_id": net.chain_id, "deployer": net.gov.address, "git_commit": "",
        "version": 1, "contracts": contracts,
    }  # fmt: skip
    (folder / "base-devnet.json").write_text(json.dumps(manifest))
    return {**os.environ, "PHA_DEPLOYMENTS_DIR": str(folder)}


def test_operator_renew_script__renews_from_the_worker_url(mined, tmp_path):
    net = mined
    worker = net.start_worker(net.pool)
    address = worker.state.keys.address
    until = attested_until(net, address)
    travel(net, HOUR)
    args = [
        APE, "run", "operator", "renew", "--worker", address, "--worker-url", worker.url,
        "--network", f"base:devnet:{net.url}", "--account", "test:4",
    ]  # fmt: skip
    env = devnet_manifest(net, tmp_path)
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\nrenewed\n" in result.stdout and "eligible:     yes" in result.stdout
    assert attested_until(net, address) >= until + HOUR


def test_governance_sweep_fees__pays_the_treasury_then_one_line_when_nothing_owed(mined, tmp_path):
    net = mined
    pools = range(1, int(net.c["staking"].functions.poolCount().call()) + 1)

    def ledger_fees() -> list[int]:
        return [int(net.escrow.functions.poolFeesOwed(p).call()) for p in pools]

    in_ledger = sum(ledger_fees())
    owed = int(net.escrow.functions.feesOwed().call()) + in_ledger
    assert owed > 0  # protocol fees of the jobs settled above (single settlements': in the pool's ledger)
    treasury = net.escrow.functions.treasury().call()
    token = net.c["token"]
    before = int(token.functions.balanceOf(treasury).call())
    env = devnet_manifest(net, tmp_path)
    args = [APE, "run", "governance", "sweep-fees", "--network", f"base:devnet:{net.url}"]
    swept = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    paid = int(token.functions.balanceOf(treasury).call()) - before
    left = int(net.escrow.functions.feesOwed().call())
    assert paid > 0 and paid + left == owed and left <= 1  # the escrow may keep 1 wei (gas anchor)
    assert sum(ledger_fees()) == 0  # the ledgers were paid first
    assert ("protocol fees now sweepable" in swept.stdout) == (in_ledger > 0)
    assert f"swept {format_pha(paid)} to {treasury}" in swept.stdout
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "Traceback" not in again.stdout + again.stderr
    errors = [line for line in again.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: no protocol fees owed: nothing to sweep"], again.stderr


def test_watch_loop__serves_gauges_and_stops_on_sigterm(mined, tmp_path):
    import signal
    import socket
    import time

    net = mined
    worker = net.start_worker(net.pool)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = config(tmp_path, net, workers=[worker.url], metrics_port=port, watch_interval_s=0.5)
    exe = str(Path(sys.executable).with_name("pha-relayer"))
    proc = subprocess.Popen([exe, "watch", "--config", path], stderr=subprocess.PIPE, text=True)
    try:
        address = worker.state.keys.address

        def served() -> bool:
            try:
                return (
                    f'pha_watch_eligible{{pool="{net.pool}",worker="{address}"}} 1.0'
                    in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                )
            except httpx.HTTPError:
                return False

        wait_until(served, 30, "the watch's gauges")
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["ok"] is True
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(20) == 0 and time.monotonic() - started < 20
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_watch_once__old_collateral_file__warns_by_its_oldest_part(mined, tmp_path):
    # The real sample collateral (tests/data/dstack) was issued long before the chain's clock: the
    # watch reads its dates and warns that the attesters would refuse renewals with it.
    net = mined
    worker = net.start_worker(net.pool)
    collateral = tmp_path / "collateral.json"
    collateral.write_bytes((ROOT / "tests" / "data" / "dstack" / "collateral.json").read_bytes())
    target = {"url": worker.url, "collateral": "collateral.json"}  # relative to the config file
    path = config(tmp_path, net, watch_workers=[target])
    result = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--json", "--config", path])
    [seen] = json.loads(result.stdout)["workers"]
    [warning] = seen["warnings"]
    assert warning["kind"] == "collateral" and "older than the attesters' 7 d" in warning["message"]
    assert result.exit_code == 1
    collateral.write_text("{}")
    broken = CliRunner(mix_stderr=False).invoke(main, ["watch", "--once", "--config", path])
    assert broken.exit_code != 0 and "not DCAP collateral JSON" in broken.stdout + broken.stderr
