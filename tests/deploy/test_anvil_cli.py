"""`pha-anvil` (run as `python -m pha.anvil_cli`, what the console script calls): help, a port
already taken, and a devnet started by hand that `ape run deploy` reaches with the printed choice."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from pha.anvil import free_port, port_in_use, rpc_call
from pha.chains import DEVNET_CHAIN_ID
from pha.paths import ROOT
from tests.scripts import ape_run, ok, one_line_error

PHA_ANVIL = [sys.executable, "-m", "pha.anvil_cli"]


def run(*args):
    return subprocess.run([*PHA_ANVIL, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_pha_anvil__help():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: pha-anvil [OPTIONS]")
    for option in ("--host", "--port", "--block-time", "--state", "--quiet"):
        assert option in result.stdout
    assert "chain id 20350" in " ".join(result.stdout.split()) and "[default: 8545" in result.stdout


def test_pha_anvil__port_in_use__says_which_and_by_whom():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--port", str(port))
    one_line_error(result, f"port {port} on 127.0.0.1 is already in use by pid {os.getpid()}")
    assert result.returncode == 1
    assert "stop that process or pass --port N" in result.stderr


def test_pha_anvil__bad_block_time__refused():
    result = run("--block-time", "0")
    assert result.returncode == 2 and "Invalid value for '--block-time'" in result.stderr


def test_pha_anvil__starts_the_devnet_that_deploy_reaches(tmp_path):
    port = free_port()
    node = subprocess.Popen(
        [*PHA_ANVIL, "--port", str(port), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert node.stdout is not None
        lines = [node.stdout.readline() for _ in range(3)]
        url = f"http://127.0.0.1:{port}"
        assert lines[0].startswith(f"pha devnet: chain id {DEVNET_CHAIN_ID}, OP-stack anvil")
        assert int(str(rpc_call(url, "eth_chainId")), 16) == DEVNET_CHAIN_ID
        choice = re.fullmatch(r"use it with: ape run deploy --network (\S+)\n", lines[1])
        assert choice and choice.group(1) == f"base:devnet:{url}", lines

        # The node said who holds its port to a second start.
        assert port_in_use("127.0.0.1", port).startswith(f"port {port} on 127.0.0.1 is already in use")
        assert f"chain id {DEVNET_CHAIN_ID} answers there" in port_in_use("127.0.0.1", port)

        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path)}
        # The devnet example in every script's --help is this choice on pha-anvil's default port.
        help_text = " ".join(ok(ape_run("deploy", "--help", env=env)).split())
        assert "e.g. base:devnet:http://127.0.0.1:8545 (the devnet `pha-anvil` starts)" in help_text
        assert choice.group(1).replace(str(port), "8545") == "base:devnet:http://127.0.0.1:8545"
        assert "(deployed)" in ok(ape_run("deploy", "--network", choice.group(1), env=env))
        assert json.loads((tmp_path / "base-devnet.json").read_text())["chain_id"] == DEVNET_CHAIN_ID
    finally:
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=15) == 0
    deadline = time.monotonic() + 5
    while port_in_use("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert port_in_use("127.0.0.1", port) is None  # anvil went with it
