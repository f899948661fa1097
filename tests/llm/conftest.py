"""The LLM world: the real engine (llama.cpp's server from .build/llm, `make setup-llm`) serving the
tiny random-weight model made here from a seed, an anvil with the stack (tests/devnet.py), a pool
whose worker forwards chat jobs to that engine, a relayer running in a thread, and a client key.

Without the engine's venv every test here fails with "run make setup-llm": these tests claim
inference, so they never pass without a real engine.
"""

from __future__ import annotations

import pytest

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.llm.engine import Engine, EngineMissingError, make_tiny_model, require_engine
from pha.llm.proof import ChainView
from tests.devnet import Devnet
from tests.relayer.conftest import RelayerThread, make_settings

MODEL = "pha-tiny"


@pytest.fixture(scope="session")
def engine_python():
    try:
        return require_engine()
    except EngineMissingError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def model(engine_python, tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture(scope="session")
def engine(model):
    with Engine(model.path, MODEL) as running:
        yield running


@pytest.fixture(scope="session")
def net(engine):
    with Anvil(chain_id=DEVNET_CHAIN_ID) as node:
        devnet = Devnet(node.url).deploy()
        devnet.pool = devnet.open_pool([r.address for r in devnet.relayers])
        devnet.interval_mining(1)
        yield devnet
        devnet.stop_workers()


def chat_config(engine, gguf, **overrides):
    values = {
        "engine_url": engine.url,
        "model": MODEL,
        "model_digest": gguf.digest,
        "model_file": str(gguf.path),
        "max_tokens": 64,
    }
    values.update(overrides)
    return values


@pytest.fixture(scope="session")
def chat_worker(net, engine, model):
    return net.start_worker(net.pool, code_identity="pha-worker/llm-test", chat=chat_config(engine, model))


@pytest.fixture(scope="session")
def relayer(net, chat_worker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("relayer")
    settings = make_settings(net, tmp, [chat_worker.url], start_block=net.deploy_block, batch_wait=0.5)
    with RelayerThread(settings) as running:
        yield running


@pytest.fixture(scope="session")
def view(net):
    return ChainView(
        net.w3, net.escrow.address, net.registry.address, net.deploy_block, net.c["token"].address
    )
