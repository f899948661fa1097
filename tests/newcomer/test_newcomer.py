"""The README's "Run it yourself" path, command by command, as a newcomer runs it.

`pha-anvil` in the background, then `ape run` deploy → faucet → open-pool → delegate, a
simulated worker (`pha-worker serve --manifest`), allow-measurement → register → authorise the
relayer, a client posts a job, `pha-relayer run` settles it, the client sees the result, the
operator claims the commission and the delegator's stake has grown. The operator/staker is a
keyfile account (as after `ape accounts generate`), unlocked non-interactively by Ape's
passphrase variable; every command runs with stdin on /dev/null. Each step checks its exit code
and what it prints.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from pha.anvil import free_port
from pha.cli import passphrase_env_var
from pha.paths import ROOT
from tests.scripts import ape_run, keyfile_data_folder, ok

BIN = Path(sys.executable).parent
ALIAS = "newcomer"
PASSPHRASE = "a newcomer's passphrase"
KEY = "0x" + "4e" * 32
OPERATOR = Account.from_key(KEY).address
# anvil's test account 2 (public test mnemonic): the relayer's key, from the environment only.
RELAYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
RELAYER = Account.from_key(RELAYER_KEY).address
STAKING_ABI = [
    {
        "name": name,
        "type": "function",
        "stateMutability": "view",
        "inputs": inputs,
        "outputs": [{"name": "", "type": "uint256"}],
    }
    for name, inputs in (
        ("sharesOf", [{"name": "poolId", "type": "uint256"}, {"name": "account", "type": "address"}]),
        ("convertToAssets", [{"name": "poolId", "type": "uint256"}, {"name": "shares", "type": "uint256"}]),
    )
]


def background(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
    )


def wait_for(log: Path, pattern: str, process: subprocess.Popen, timeout: float = 60) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return found
        assert process.poll() is None, f"{log.name} exited: {log.read_text()}"
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not in {log.name} after {timeout} s: {log.read_text()}")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@pytest.fixture
def session(tmp_path) -> Iterator[dict]:
    env = {
        **os.environ,
        "PHA_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "APE_DATA_FOLDER": str(keyfile_data_folder(tmp_path / "ape", ALIAS, KEY, PASSPHRASE)),
        passphrase_env_var(ALIAS): PASSPHRASE,
    }
    procs: list[subprocess.Popen] = []
    yield {"env": env, "tmp": tmp_path, "procs": procs}
    for process in reversed(procs):
        stop(process)


def test_newcomer_walks_the_readme_from_deploy_to_a_paid_job(session):
    env, tmp, procs = session["env"], session["tmp"], session["procs"]

    # make anvil (here on a free port, a block a second as on an L2)
    anvil_log = tmp / "anvil.log"
    procs.append(
        background([str(BIN / "pha-anvil"), "--port", str(free_port()), "--block-time", "1"], env, anvil_log)
    )
    net = wait_for(anvil_log, r"--network (base:devnet:http://127\.0\.0\.1:\d+)", procs[-1]).group(1)
    assert "chain id 20350" in anvil_log.read_text()

    def run(*args: str, account: str | None = None) -> str:
        extra = ["--account", account] if account else []
        return ok(ape_run(*args, "--network", net, *extra, env=env))

    out = run("deploy")
    manifest_path = tmp / "deployments" / "base-devnet.json"
    assert manifest_path.exists(), out
    manifest = json.loads(manifest_path.read_text())

    # The keyfile account starts with nothing: the faucet gives PHA and ETH for gas.
    out = run("faucet", "--to", OPERATOR, "--amount", "5000")
    assert f"minted 5,000 PHA to {OPERATOR}" in out and "ETH for gas set to 10" in out, out

    out = run("stake", "open-pool", "--commission-bps", "1000", account=ALIAS)
    pool = int(re.search(r"pool (\d+)", out).group(1))
    out = run("stake", "delegate", str(pool), "1000", account=ALIAS)
    assert f"delegated 1,000 PHA to pool {pool}" in out, out

    worker_port = free_port()
    worker_url = f"http://127.0.0.1:{worker_port}"
    worker_log = tmp / "worker.log"
    procs.append(
        background(
            [
                str(BIN / "pha-worker"),
                "serve",
                "--simulate",
                "--port",
                str(worker_port),
                "--pool-id",
                str(pool),
                "--manifest",
                str(manifest_path),
            ],
            env,
            worker_log,
        )
    )
    wait_for(worker_log, "listening on", procs[-1])

    allowed = run("governance", "allow-measurement", "--worker-url", worker_url)
    out = run(
        "operator",
        "register",
        "--pool",
        str(pool),
        "--worker-url",
        worker_url,
        "--verifier",
        "dev",
        account=ALIAS,
    )
    assert "registered (SIMULATED quote)" in out and re.search(r"eligible:\s+yes", out), out
    measurement = re.search(r"measurement:\s+(0x[0-9a-f]{64})", out).group(1)
    assert measurement in allowed, allowed
    out = run("operator", "authorise-relayer", "--pool", str(pool), "--relayer", RELAYER, account=ALIAS)
    assert RELAYER in out, out

    out = run("faucet", "--to", "test:1", "--amount", "100")
    assert "minted 100 PHA" in out, out
    out = run(
        "client",
        "post",
        "--measurement",
        measurement,
        "--input",
        '{"handler":"echo","data":"hi"}',
        "--payment",
        "10",
        account="test:1",
    )
    job = int(re.search(r"job (\d+) posted", out).group(1))
    assert "10 PHA" in out, out
    assert f"job {job}: open" in run("client", "status", str(job))

    # relayer.toml as the README gives it, pointing at this devnet, worker and manifest
    config = tmp / "relayer.toml"
    config.write_text(
        f'rpc_urls = ["{net.removeprefix("base:devnet:")}"]\n'
        f'manifest = "{manifest_path}"\n'
        f'workers = ["{worker_url}"]\n'
        "confirmations = 1\n"
        f'db_path = "{tmp / "relayer.db"}"\n'
        "metrics_port = 0\n"
    )
    relayer_log = tmp / "relayer.log"
    check = subprocess.run(
        [str(BIN / "pha-relayer"), "check", "--config", str(config)],
        cwd=ROOT,
        env={**env, "PHA_RELAYER_PRIVATE_KEY": RELAYER_KEY},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    procs.append(
        background(
            [str(BIN / "pha-relayer"), "run", "--config", str(config)],
            {**env, "PHA_RELAYER_PRIVATE_KEY": RELAYER_KEY},
            relayer_log,
        )
    )
    out = run("client", "wait", str(job), "--timeout", "120")
    assert json.loads(out.splitlines()[-1]) == {"handler": "echo", "result": "hi"}, (
        out + relayer_log.read_text()
    )
    out = run("client", "status", str(job))
    assert f"job {job}: settled" in out and re.search(r"outputHash +0x[0-9a-f]{64}", out), out
    assert stop(procs.pop()) == 0, relayer_log.read_text()

    # The pool's reward reaches the pool: the operator's commission, the delegator's stake.
    run("stake", "flush-rewards", str(pool))
    out = run("stake", "claim-commission", str(pool), account=ALIAS)
    claimed = re.search(r"claimed ([\d,.]+) PHA", out)
    assert claimed and float(claimed.group(1).replace(",", "")) > 0, out
    out = run("stake", "pool-status", str(pool), "--delegator", OPERATOR)
    assert f"pool {pool}" in out and OPERATOR in out, out
    staking = Web3(Web3.HTTPProvider(net.removeprefix("base:devnet:"))).eth.contract(
        address=manifest["contracts"]["Staking"]["address"], abi=STAKING_ABI
    )
    shares = staking.functions.sharesOf(pool, OPERATOR).call()
    assert staking.functions.convertToAssets(pool, shares).call() > 1000 * 10**18  # the job's reward
