"""`pha-worker serve` as a real process: configuration from the environment, SIGTERM shutdown."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pha.chains import DEVNET_CHAIN_ID
from tests.worker.conftest import ESCROW, REGISTRY

PHA_WORKER = str(Path(sys.executable).with_name("pha-worker"))


def start(env_extra, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHA_WORKER_", "DSTACK_"))}
    env.update(env_extra)
    return subprocess.Popen(
        [PHA_WORKER, "serve", "--port", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_port(process, lines):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1))
    raise AssertionError("worker did not start:\n" + "".join(lines))


def test_serve__configured_from_environment__serves_then_stops_cleanly_on_sigterm():
    env = {
        "PHA_WORKER_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "PHA_WORKER_REGISTRY": REGISTRY,
        "PHA_WORKER_POOL_ID": "7",
        "PHA_WORKER_ESCROW": ESCROW,
        "PHA_WORKER_SIMULATE": "true",
    }
    process = start(env, "--code-identity", "cli-test")
    lines: list[str] = []
    try:
        port = wait_for_port(process, lines)
        body = httpx.get(f"http://127.0.0.1:{port}/attestation", timeout=10).json()
        assert (body["chain_id"], body["pool_id"], body["simulated"]) == (DEVNET_CHAIN_ID, 7, True)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = "".join(lines) + rest
    assert process.returncode == 0, log
    assert "SIMULATED QUOTE" in log and "(simulated)" in log
    assert "stopped" in log and "Traceback" not in log


def test_serve__bad_configuration__one_line_error_and_non_zero_exit():
    process = start({}, "--chain-id", "1", "--registry", "0x12", "--pool-id", "1", "--escrow", ESCROW)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "bad configuration: registry: not an address" in err
    assert "Traceback" not in err


def test_serve__unloadable_handler__one_line_error():
    args = ["--chain-id", "1", "--registry", REGISTRY, "--pool-id", "1", "--escrow", ESCROW, "--simulate"]
    process = start({}, *args, "--handler", "nowhere.module:fn")
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "cannot load handler" in err and "Traceback" not in err


def write_manifest(path, chain_id, registry, escrow):
    from pha.manifest import DeployedContract, Manifest, save_manifest

    def entry(address):
        return DeployedContract(address, "0x" + "00" * 32, block=1, code_hash="0x", bytecode_hash="0x")

    contracts = {"WorkerRegistry": entry(registry), "JobEscrow": entry(escrow)}
    manifest = Manifest("base:devnet", chain_id, deployer=ESCROW, git_commit="0", contracts=contracts)
    return save_manifest(manifest, path)


def attestation_of(process):
    lines: list[str] = []
    try:
        port = wait_for_port(process, lines)
        return httpx.get(f"http://127.0.0.1:{port}/attestation", timeout=10).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_serve__manifest__binds_its_chain_registry_and_escrow(tmp_path):
    path = write_manifest(tmp_path / "base-devnet.json", DEVNET_CHAIN_ID, REGISTRY, ESCROW)
    body = attestation_of(start({}, "--manifest", str(path), "--pool-id", "3", "--simulate"))
    assert (body["chain_id"], body["pool_id"]) == (DEVNET_CHAIN_ID, 3)
    assert (body["registry"].lower(), body["escrow"].lower()) == (REGISTRY.lower(), ESCROW.lower())


def test_serve__manifest_and_an_option__the_option_wins(tmp_path):
    path = write_manifest(tmp_path / "base-devnet.json", DEVNET_CHAIN_ID, REGISTRY, ESCROW)
    args = ["--manifest", str(path), "--chain-id", "31337", "--pool-id", "3", "--simulate"]
    body = attestation_of(start({}, *args))
    assert body["chain_id"] == 31337 and body["registry"].lower() == REGISTRY.lower()


def test_serve__missing_manifest__one_line_error_saying_to_deploy(tmp_path):
    process = start({}, "--manifest", str(tmp_path / "nowhere.json"), "--pool-id", "1", "--simulate")
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "Traceback" not in err
    assert "no deployment manifest at" in err and "ape run deploy" in err


def test_serve__app_compose__emulates_a_dstack_app_and_a_missing_file_is_one_line():
    compose = Path(__file__).parents[1] / "data" / "dstack" / "app-compose.json"
    args = ["--chain-id", "1", "--registry", REGISTRY, "--pool-id", "1", "--escrow", ESCROW, "--simulate"]
    body = attestation_of(start({"PHA_WORKER_APP_COMPOSE": str(compose)}, *args))
    assert body["compose_hash"] == "0x12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7"
    assert [e["event"] for e in body["event_log"]][:3] == ["system-preparing", "app-id", "compose-hash"]
    process = start({}, *args, "--app-compose", str(compose.with_name("missing.json")))
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "cannot read the app compose" in err and "Traceback" not in err
