"""Operator tasks: register, renew and deregister workers, authorise relayers, check a worker.

    ape run operator register --pool 1 --worker-url http://127.0.0.1:8001 [--verifier dev]
    ape run operator register --pool 1 --worker-url URL --verifier committee \\
        --attester-url http://a1:8300 --attester-url http://a2:8300
    ape run operator register --pool 1 --worker-url URL --gpu-evidence gpu.json [...]
    ape run operator renew --worker 0x... --worker-url URL [--gpu-evidence gpu.json] [...]
    ape run operator deregister --worker 0x...
    ape run operator authorise-relayer --pool 1 --relayer 0x... [--revoke]
    ape run operator worker-status --worker 0x... [--measurement-id 0x...] [--json]

The worker's quote must bind this chain, this registry and the pool (start the worker with
them: see docs/worker.md). With the committee verifier the first attester proposes a statement
and the others verify the quote themselves before co-signing it. With `--gpu-evidence` (a
GPU report whose nonce commits to the worker's binding, docs/gpu.md) the attesters verify the
GPU too, and the registry records it (registerGpuWorker / renewGpuWorker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pha.cli import ADDRESS, UserError, account_option, network_option, script_session
from pha.fmt import echo_json, json_option
from pha.registry.actions import (
    WorkerAttestation,
    choose_verifier,
    gpu_evidence,
    prepare_renewal,
    quote_and_evidence,
    worker_status,
)


def _verifier_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--worker-url", required=True, help="The worker's HTTP address (its /attestation)."),
        click.option("--verifier", default="dev", show_default=True,
                     help="dev, committee, automata (from the manifest) or a verifier address."),
        click.option("--attester-url", "attester_urls", multiple=True, help="Committee attester (repeat)."),
        click.option("--gpu-evidence", "gpu_file", default=None,
                     help="The worker's GPU evidence JSON (report + certs): register it as a GPU worker."),
    ]):  # fmt: skip
        f = option(f)
    return f


def _verifier(w: dict, verifier: str) -> tuple[str, int]:
    """The verifier's address and how many attester signatures it needs."""
    address = choose_verifier(w["manifest"], verifier)
    threshold = 1
    if verifier == "committee":
        from ape import project

        threshold = int(project.CommitteeQuoteVerifier.at(address).threshold())
    return address, threshold


def _evidence(
    w: dict, attestation: WorkerAttestation, verifier: str, attester_urls: tuple[str, ...]
) -> tuple:
    address, threshold = _verifier(w, verifier)
    quote, evidence = quote_and_evidence(attestation, verifier, list(attester_urls), threshold)
    return address, quote, evidence


@click.group(short_help="Operator: workers and relayers")
def cli() -> None:
    """Operator tasks on the worker registry."""


@cli.command()
@network_option
@account_option
@click.option("--pool", "pool_id", type=int, required=True, help="Your pool's id.")
@_verifier_options
def register(
    network_choice: str, account_alias: str | None, pool_id: int, worker_url: str, verifier: str,
    attester_urls: tuple[str, ...], gpu_file: str | None,
) -> None:  # fmt: skip
    """Register a running worker into your pool."""
    from ape import chain

    with script_session(network_choice, account_alias, ("WorkerRegistry", "Staking")) as w:
        registry = w["WorkerRegistry"]
        if w["Staking"].operatorOf(pool_id) != w["account"].address:
            raise UserError(f"pool {pool_id} is not operated by {w['account'].address}")
        attestation = WorkerAttestation.fetch(worker_url)
        attestation.check_target(chain.chain_id, registry.address, pool_id)
        address, quote, evidence = _evidence(w, attestation, verifier, attester_urls)
        args = (pool_id, attestation.worker, attestation.encryption_key, address, quote, evidence)
        if gpu_file is None:
            registry.registerWorker(*args, sender=w["account"])
        else:
            _, threshold = _verifier(w, verifier)
            gpu = gpu_evidence(
                gpu_file, attestation, verifier, address, list(attester_urls), threshold, _chain_now()
            )
            registry.registerGpuWorker(*args, gpu, sender=w["account"])
        lines = worker_status(registry, attestation.worker, _chain_now()).lines()
        lines += _gpu_lines(registry, attestation.worker) if gpu_file else []
        click.echo(
            "\n".join(["registered" + (" (SIMULATED quote)" if attestation.simulated else ""), *lines])
        )


@cli.command()
@network_option
@account_option
@click.option("--worker", type=ADDRESS, required=True, help="The worker's current signing address.")
@_verifier_options
def renew(
    network_choice: str, account_alias: str | None, worker: str, worker_url: str, verifier: str,
    attester_urls: tuple[str, ...], gpu_file: str | None,
) -> None:  # fmt: skip
    """Renew a worker's attestation with a fresh quote (rotates keys if the worker restarted)."""
    from ape import chain

    with script_session(network_choice, account_alias, ("WorkerRegistry",), user_errors=(ValueError,)) as w:
        registry = w["WorkerRegistry"]
        info = registry.workerInfo(worker)
        if not info.registered:
            raise UserError(f"worker {worker} is not registered")
        address, threshold = _verifier(w, verifier)
        renewal = prepare_renewal(
            worker, worker_url, chain.chain_id, registry.address, int(info.poolId), address, verifier,
            list(attester_urls), threshold,
        )  # fmt: skip
        if gpu_file is None:
            registry.renewWorker(*renewal.args, sender=w["account"])
        else:
            gpu = gpu_evidence(
                gpu_file, renewal.attestation, verifier, address, list(attester_urls), threshold, _chain_now()
            )
            registry.renewGpuWorker(*renewal.args, gpu, sender=w["account"])
        lines = worker_status(registry, renewal.attestation.worker, _chain_now()).lines()
        lines += _gpu_lines(registry, renewal.attestation.worker) if gpu_file else []
        click.echo("\n".join([f"renewed{' with new keys' if renewal.rotated else ''}", *lines]))


@cli.command()
@network_option
@account_option
@click.option("--worker", type=ADDRESS, required=True)
def deregister(network_choice: str, account_alias: str | None, worker: str) -> None:
    """Remove a worker from its pool (stake is never tied to it)."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",), user_errors=(ValueError,)) as w:
        registry = w["WorkerRegistry"]
        if not registry.workerInfo(worker).registered:
            raise UserError(f"worker {worker} is not registered")
        registry.deregisterWorker(worker, sender=w["account"])
        click.echo(f"deregistered {worker}")


@cli.command("authorise-relayer")
@network_option
@account_option
@click.option("--pool", "pool_id", type=int, required=True)
@click.option("--relayer", type=ADDRESS, required=True, help="The relayer's address.")
@click.option("--revoke", is_flag=True, help="Withdraw the authorisation.")
def authorise_relayer(
    network_choice: str, account_alias: str | None, pool_id: int, relayer: str, revoke: bool
) -> None:
    """Let a relayer claim and settle jobs for your pool's workers."""
    with script_session(
        network_choice, account_alias, ("WorkerRegistry", "Staking"), user_errors=(ValueError,)
    ) as w:
        if w["Staking"].operatorOf(pool_id) != w["account"].address:
            raise UserError(f"pool {pool_id} is not operated by {w['account'].address}")
        w["WorkerRegistry"].setRelayer(pool_id, relayer, not revoke, sender=w["account"])
        click.echo(f"relayer {relayer}: {'revoked' if revoke else 'authorised'} for pool {pool_id}")


@cli.command("worker-status")
@network_option
@click.option("--worker", type=ADDRESS, required=True)
@click.option(
    "--measurement-id", default=None, help="Check against this measurement (default: the worker's)."
)
@json_option
def worker_status_cmd(network_choice: str, worker: str, measurement_id: str | None, as_json: bool) -> None:
    """Whether a worker is eligible, why not, and when its attestation expires. Exit 1 if not eligible."""
    with script_session(network_choice, None, ("WorkerRegistry",), need_account=False,
                        user_errors=(ValueError,)) as w:  # fmt: skip
        mid = bytes.fromhex(measurement_id.removeprefix("0x")) if measurement_id else None
        status = worker_status(w["WorkerRegistry"], worker, _chain_now(), mid)
        if as_json:
            echo_json(status.as_json())
        else:
            click.echo("\n".join(status.lines()))
        if not status.eligible:
            raise SystemExit(1)


def _gpu_lines(registry: Any, worker: str) -> list[str]:
    from pha.fmt import format_time

    g = registry.gpuInfo(worker)
    model = bytes(g.model).rstrip(b"\0").decode("ascii", "replace")
    return [
        f"GPU:          {model} (device 0x{bytes(g.deviceId).hex()[:16]}…)",
        f"GPU to:       {format_time(int(g.attestedUntil), _chain_now())}",
    ]


def _chain_now() -> int:
    from ape import chain

    return int(chain.blocks.head.timestamp)
