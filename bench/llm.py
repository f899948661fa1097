"""Confidential chat jobs (docs/llm.md) on the real engine: llama.cpp's server from .build/llm
(`make setup-llm`) with the tiny random-weight model, a project-started anvil (devnet chain id,
1-second blocks, tests/devnet.py world), a chat worker in this process, the relayer in a thread
(one confirmation), the client flow of pha.llm.client.

- llm.job_latency_s: median over N_JOBS sequential jobs, post → answer proven and decrypted
  (choose worker, encrypt, post, claim, engine, settle, confirmation, proof), 16 tokens each.
- llm.tokens_per_s: the engine alone over HTTP, completion tokens / seconds over N_ENGINE
  requests of MAX_TOKENS tokens on 2 threads (after one warm-up request).
- llm.chat_job_gas: the settlement transaction of one chat job; the note compares it with an
  echo job whose (encrypted) output has the same length: the chain carries bytes and hashes,
  nothing chat-specific, so the two differ only by calldata zero bytes of random ciphertext.

The bench starts its own anvil: the Ape chain in `env` is not used.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from web3.logs import DISCARD

from bench.common import BenchEnv, Row
from pha import envelope
from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.escrow.spec import JobSpec, input_hash
from pha.llm.client import run_chat_job, wait_for_end, web3_poster
from pha.llm.engine import Engine, make_tiny_model
from pha.llm.proof import ChainView
from pha.llm.request import parse_chat_request

N_JOBS = 5
N_ENGINE = 5
MAX_TOKENS = 128
PHA = 10**18
MODEL = "pha-tiny"


def _tokens_per_s(engine: Engine) -> tuple[float, int]:
    tokens, seconds = 0, 0.0
    warm_up = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    httpx.post(f"{engine.url}/v1/chat/completions", json=warm_up, timeout=120)
    for seed in range(N_ENGINE):
        body = {"model": MODEL, "messages": [{"role": "user", "content": f"Tell me a story {seed}"}],
                "max_tokens": MAX_TOKENS, "temperature": 1.0, "seed": seed}  # fmt: skip
        started = time.monotonic()
        reply = httpx.post(f"{engine.url}/v1/chat/completions", json=body, timeout=120).json()
        seconds += time.monotonic() - started
        tokens += int(reply["usage"]["completion_tokens"])
    return tokens / seconds, tokens


def _settle_gas(view: ChainView, job_id: int) -> int:
    [event] = view.logs(view.escrow.events.JobSettled, view.start_block, jobId=job_id)
    return int(view.w3.eth.get_transaction_receipt(event["transactionHash"])["gasUsed"])


def measure(env: BenchEnv) -> list[Row]:
    from tests.devnet import Devnet
    from tests.relayer.conftest import RelayerThread, make_settings

    for name in ("worker", "worker.server", "worker.chat", "httpx", "relayer"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="pha-bench-llm-") as tmp_name:
        tmp = Path(tmp_name)
        model = make_tiny_model(tmp / "tiny.gguf")
        with Engine(model.path, MODEL) as engine, Anvil(chain_id=DEVNET_CHAIN_ID) as node:
            rate, tokens = _tokens_per_s(engine)
            net = Devnet(node.url).deploy()
            pool = net.open_pool([net.relayer.address])
            chat = {"engine_url": engine.url, "model": MODEL, "model_digest": model.digest,
                    "model_file": str(model.path), "max_tokens": 64}  # fmt: skip
            worker = net.start_worker(pool, code_identity="pha-worker/bench-llm", chat=chat)
            net.interval_mining(1)
            view = ChainView(
                net.w3, net.escrow.address, net.registry.address, net.deploy_block, net.c["token"].address
            )
            settings = make_settings(net, tmp, [worker.url], start_block=net.deploy_block, batch_wait=0.2)
            post = web3_poster(view, net.client)
            latencies, job_ids = [], []
            with RelayerThread(settings):
                for i in range(N_JOBS):
                    request = parse_chat_request(
                        {"model": "default", "messages": [{"role": "user", "content": f"Question {i}?"}],
                         "max_tokens": 16, "temperature": 0}
                    )  # fmt: skip
                    started = time.monotonic()
                    verification = run_chat_job(
                        view, post, request, pool, PHA, PHA // 10, 600, 120, folder=tmp
                    )
                    latencies.append(time.monotonic() - started)
                    job_ids.append(verification.settlement.job_id)
                chat_output = verification.settlement.output
                chat_gas = _settle_gas(view, job_ids[-1])
                # an echo job whose encrypted output is as long as the chat job's
                key = httpx.get(f"{worker.url}/attestation", timeout=10).json()["encryption_key"]
                _, reply = envelope.generate_keypair()
                filler = "x" * (
                    len(chat_output) - len(envelope.seal(b'{"handler":"echo","result":""}', reply, b""))
                )
                data = envelope.encrypt_input("echo", filler, key, reply_to=reply)
                measurement = view.registry.functions.workerInfo(worker.state.keys.address).call()[0]
                spec = JobSpec(
                    bytes(measurement),
                    input_hash(data),
                    PHA // 10,
                    net.now() + 600,
                    worker.state.keys.address,
                )
                receipt = net.send(net.escrow.functions.post(spec.as_tuple(), PHA, data), net.client)
                [posted] = net.escrow.events.JobPosted().process_receipt(receipt, errors=DISCARD)
                echo_id = int(posted["args"]["jobId"])
                wait_for_end(view, echo_id, int(receipt["blockNumber"]), 60)
                [settled] = view.logs(view.escrow.events.JobSettled, view.start_block, jobId=echo_id)
                echo_len = len(bytes(settled["args"]["output"]))
                echo_gas = _settle_gas(view, echo_id)
            net.stop_workers()
            load = engine.load_s
    return [
        Row("llm.job_latency_s", statistics.median(latencies), "s",
            note=f"median of {N_JOBS} sequential chat jobs, post → proven and decrypted answer (16 tokens), "
            f"1 s blocks, 1 confirmation; max {max(latencies):.2f} s"),
        Row("llm.tokens_per_s", rate, "tok/s", better="higher",
            note=f"the engine alone (llama.cpp server, tiny 2-layer random model, 2 threads): {tokens} "
            f"tokens in {N_ENGINE} requests of {MAX_TOKENS}; engine start to ready {load:.2f} s"),
        Row("llm.chat_job_gas", chat_gas, "gas",
            note=f"settlement of one chat job ({len(chat_output)}-byte encrypted output); an echo job with a "
            f"{echo_len}-byte encrypted output: {echo_gas:,} gas (difference {chat_gas - echo_gas:+,}: "
            "calldata zero bytes of random ciphertext)"),
    ]  # fmt: skip
