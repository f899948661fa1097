"""The whole flow end to end, on a chain the project starts and stops itself.

    ape run demo [--jobs 24] [--block-time 1] [--show-all]
    ape run demo --llm            (make demo-llm: one confidential chat job on the real engine)

Starts a Base-like anvil, deploys the stack, funds and stakes, starts an enclave worker (the
labelled simulator) and a relayer as processes, posts jobs (sentiment scoring, and one encrypted
both ways), waits for the results and prints who got paid what; then stops everything it started.
The steps are in pha/demo.py.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import click

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.cli import connected
from pha.demo import (
    chat_job,
    deploy,
    fund_and_stake,
    post_jobs,
    register_worker,
    start_relayer,
    start_worker,
    summary,
    wait_settled,
)


def _engine(workdir: Path, stack: ExitStack) -> tuple[str, ...]:
    """Start the engine on the tiny model; the worker's chat options for it."""
    from pha.llm.engine import Engine, EngineMissingError, make_tiny_model

    try:
        model = make_tiny_model(workdir / "tiny.gguf")
    except EngineMissingError as error:
        raise click.ClickException(str(error)) from None
    engine = stack.enter_context(Engine(model.path, "pha-tiny"))
    click.echo(
        f"engine: llama.cpp server at {engine.url}, tiny model sha256 {model.digest} "
        f"(ready in {engine.load_s:.1f} s)"
    )
    return ("--chat-engine-url", engine.url, "--chat-model", "pha-tiny", "--chat-model-digest", model.digest,
            "--chat-model-file", str(model.path), "--chat-max-tokens", "64")  # fmt: skip


@click.command(short_help="Run the whole flow end to end on a project-owned anvil")
@click.option(
    "--jobs", default=24, show_default=True, help="Sentiment jobs to post (plus one encrypted job)."
)
@click.option("--block-time", default=1.0, show_default=True, help="Seconds per block of the demo chain.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for all results.")
@click.option("--show-all", is_flag=True, help="Print every job's result (default: the first 6).")
@click.option("--llm", is_flag=True, help="One confidential chat job on the LLM engine (make setup-llm).")
def cli(jobs: int, block_time: float, timeout: float, show_all: bool, llm: bool) -> None:
    from ape import chain
    from ape.logging import logger as ape_logger

    ape_logger.set_level("ERROR")
    started = time.monotonic()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="pha-demo-") as tmp:
        workdir = Path(tmp)
        node = stack.enter_context(Anvil(chain_id=DEVNET_CHAIN_ID, block_time=block_time, optimism=True))
        click.echo(
            f"chain: anvil, devnet chain id {DEVNET_CHAIN_ID} (OP-stack mode), "
            f"{block_time:g} s blocks, at {node.url}"
        )
        stack.enter_context(connected(f"base:devnet:{node.url}"))
        world, manifest_path = deploy(node)
        fund_and_stake(world)
        if llm:
            start_worker(world, node, workdir, stack, _engine(workdir, stack))
            register_worker(world)
            start_relayer(world, node, manifest_path, workdir, stack)
            chat_job(world, manifest_path, "Keep this between us: what is 2 + 2?", timeout, workdir)
            click.echo(
                f"\ndemo finished in {time.monotonic() - started:.1f} s; "
                "engine, worker, relayer and anvil stopped"
            )
            return
        start_worker(world, node, workdir, stack)
        register_worker(world)
        start_relayer(world, node, manifest_path, workdir, stack)
        first_block = chain.blocks.head.number
        job_ids, encrypted = post_jobs(world, jobs)
        posted_at = {
            int(e.jobId): (e.block_number, chain.blocks[e.block_number].timestamp)
            for e in world.contracts["JobEscrow"].JobPosted.range(first_block, chain.blocks.head.number + 1)
        }
        settled = wait_settled(world, job_ids, first_block, timeout)
        summary(world, job_ids, encrypted, settled, posted_at, show=None if show_all else 6)
    click.echo(f"\ndemo finished in {time.monotonic() - started:.1f} s; worker, relayer and anvil stopped")
