"""`ape run client chat` and `ape run client verify` as a client runs them, on the real engine and
chain: the answer printed and verified, the record kept owner-only, a refusal before posting."""

from __future__ import annotations

import json
import os
import stat

import pytest

from pha.manifest import DeployedContract, Manifest, save_manifest
from tests.devnet import NAMES
from tests.scripts import ape_run, ok, one_line_error


@pytest.fixture(scope="module")
def cli_env(net, tmp_path_factory):
    """`ape run` attached to the module's chain: a manifest of its contracts, a records folder."""
    folder = tmp_path_factory.mktemp("cli")
    contracts = {
        name: DeployedContract(net.c[short].address, "0x", net.deploy_block, "0x", "0x")
        for name, short in NAMES.items()
        if short in net.c
    }
    save_manifest(
        Manifest("base:devnet", net.chain_id, net.gov.address, "test", contracts), folder / "base-devnet.json"
    )
    env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(folder), "PHA_CHAT_DIR": str(folder / "chat")}
    return env, f"base:devnet:{net.url}", folder


def run(cli_env, *args, account=None):
    env, network, _ = cli_env
    extra = ["--account", account] if account else []
    return ape_run("client", *args, "--network", network, *extra, env=env)


def test_client_chat__prints_the_verified_answer_then_verify_proves_it_again(cli_env, net, relayer, model):
    args = ["chat", "--pool", str(net.pool), "--max-tokens", "8", "--temperature", "0"]
    args += ["--model-digest", model.digest, "--json", "What is my secret? It is 9911."]
    out = ok(run(cli_env, *args, account="test:1"))
    facts = json.loads(out)
    assert facts["answer"] and facts["model_digest"] == model.digest and facts["encrypted"] is True
    job_id = facts["job_id"]
    record = cli_env[2] / "chat" / f"{net.chain_id}-{net.escrow.address.lower()}-{job_id}.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600  # it holds the prompt and the reply key
    out = ok(run(cli_env, "verify", str(job_id)))
    assert f"verified job {job_id}:" in out and f"sha256 {model.digest}" in out
    assert facts["request_hash"] in out and facts["response_hash"] in out and facts["worker"] in out
    one_line_error(
        run(cli_env, "verify", str(job_id), "--model-digest", "0x" + "ab" * 32), "answered by another model"
    )
    record.unlink()
    one_line_error(run(cli_env, "verify", str(job_id)), f"no local record of chat job {job_id}")


def test_client_chat__malformed_or_oversized__refused_before_anything_is_sent(cli_env, net):
    before = net.escrow.functions.nextJobId().call()
    one_line_error(
        run(cli_env, "chat", "--pool", str(net.pool), "--max-tokens", "10000", "hi", account="test:1"),
        "chat request: max_tokens must be an integer from 1 to 512",
    )
    one_line_error(
        run(cli_env, "chat", "--pool", str(net.pool), "x" * 9000, account="test:1"), "at most 7680"
    )
    assert net.escrow.functions.nextJobId().call() == before
