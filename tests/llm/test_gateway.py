"""`pha-gateway` driven by the official `openai` client, unchanged: each request a confidential job on
the real engine and chain; refusals and unverifiable answers are HTTP errors with the reason."""

from __future__ import annotations

import openai
import pytest
from click.testing import CliRunner

from pha.llm.gateway import Gateway, GatewayConfig, GatewayThread, main
from tests.llm.conftest import MODEL

PHA = 10**18


def client_for(gateway: GatewayThread, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=api_key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def gateway(view, net, relayer, tmp_path_factory):
    config = GatewayConfig(net.pool, PHA, PHA // 10, timeout=90, chat_dir=tmp_path_factory.mktemp("gw"))
    with GatewayThread(Gateway(view, net.client, config)) as running:
        yield running


def test_models__lists_the_pool_model(gateway, net):
    models = client_for(gateway).models.list()
    assert [m.id for m in models.data] == ["default"]
    assert models.data[0].owned_by == f"pha pool {net.pool}"


def test_chat_completion__a_verified_confidential_job(gateway, view, model, chat_worker):
    completion = client_for(gateway).chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Tell me a secret"}],
        max_tokens=8,
        temperature=0,
    )
    assert completion.object == "chat.completion" and completion.model == MODEL
    assert completion.choices[0].message.role == "assistant" and completion.choices[0].message.content
    assert completion.usage.completion_tokens > 0
    extra = completion.model_extra
    job_id, facts = extra["job_id"], extra["verification"]
    assert isinstance(job_id, int) and facts["job_id"] == job_id and facts["encrypted"] is True
    assert facts["worker"] == chat_worker.state.keys.address and facts["model_digest"] == model.digest
    # the job is on chain, settled by that worker, with an encrypted input
    settled = view.escrow.events.JobSettled().get_logs(
        from_block=view.start_block, argument_filters={"jobId": job_id}
    )
    assert settled and settled[0]["args"]["worker"] == facts["worker"]
    assert bytes(settled[0]["args"]["output"]).startswith(b"PHAENC1")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_tokens": 10_000}, "max_tokens must be an integer from 1 to 512"),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, "messages[0] must be"),
        ({"messages": [{"role": "user", "content": "x" * 9000}]}, "at most 7680"),
        ({"n": 2}, "unknown fields n"),
        ({"stream": True}, "streaming is not supported"),
    ],
)
def test_malformed_or_oversized__400_with_the_reason_and_nothing_posted(gateway, view, kwargs, fragment):
    before = view.escrow.functions.nextJobId().call()
    args = {"model": "default", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, **kwargs}
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(gateway).chat.completions.create(**args)
    assert caught.value.status_code == 400 and fragment in caught.value.message
    assert view.escrow.functions.nextJobId().call() == before


def test_answer_from_another_model__502_unverifiable(view, net, relayer, tmp_path):
    config = GatewayConfig(
        net.pool, PHA, PHA // 10, timeout=90, model_digest="0x" + "ee" * 32, chat_dir=tmp_path
    )
    with (
        GatewayThread(Gateway(view, net.client, config)) as pinned,
        pytest.raises(openai.APIStatusError) as caught,
    ):
        client_for(pinned).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
    assert caught.value.status_code == 502
    assert "does not verify: answered by another model" in caught.value.message


def test_api_key__required_when_set(view, net, tmp_path):
    config = GatewayConfig(net.pool, PHA, api_key="s3cret", chat_dir=tmp_path)
    with GatewayThread(Gateway(view, net.client, config)) as locked:
        with pytest.raises(openai.AuthenticationError):
            client_for(locked, "wrong").models.list()
        assert [m.id for m in client_for(locked, "s3cret").models.list().data] == ["default"]


def test_cli__non_loopback_host_and_missing_key__one_line_errors(tmp_path, monkeypatch):
    manifest = tmp_path / "m.json"
    manifest.write_text("{}")
    result = CliRunner().invoke(main, ["--manifest", str(manifest), "--pool", "1", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "not a loopback address" in result.output
    monkeypatch.delenv("PHA_GATEWAY_PRIVATE_KEY", raising=False)
    result = CliRunner().invoke(main, ["--manifest", str(manifest), "--pool", "1"])
    assert result.exit_code == 1 and "set PHA_GATEWAY_PRIVATE_KEY" in result.output
