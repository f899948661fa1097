"""Client commands for the job escrow.

    ape run client post --measurement 0x.. --input '{"handler":"echo","data":"hi"}' --payment 10
    ape run client status 7 [--json]
    ape run client wait 7 [--timeout 600] [--json]
    ape run client cancel 7
    ape run client expire 7
    ape run client chat --pool 1 "What is a TEE?" [--model-digest 0x..] [--max-tokens 64]
    ape run client verify 8 [--json]

Amounts are in PHA (decimals allowed). `post` first checks a plaintext input against the
built-in handlers' formats (pha.jobs; docs/worker.md "Job inputs") and refuses bad input before
any transaction; `--any-handler` checks only the envelope (for handlers workers add). It
approves the escrow for exactly the payment, or signs an ERC-2612 permit with --permit (one
transaction). Jobs are read back from the escrow's events (the contract keeps only a commitment to the spec).

`chat` is a confidential LLM job (docs/llm.md): the request is checked, encrypted to an eligible
worker of the pool with a fresh reply key, posted for that worker only, and its answer decrypted
and verified; `verify` proves a chat job again from the chain and the local record.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from pha.cli import (
    NEGATIVE_NUMBERS_ARE_ARGUMENTS,
    AddressError,
    account_option,
    connected,
    describe_revert,
    network_option,
    parse_address,
    require_manifest,
    resolve_account,
)
from pha.envelope import is_envelope
from pha.escrow.client import TCB_NAMES, JobView, load_job, render_output
from pha.escrow.spec import NO_TCB_FLOOR, ZERO_ADDRESS, JobSpec, input_hash
from pha.faucet import faucet_hint
from pha.fmt import PHA, amount_json, echo_json, format_pha, format_time, json_option, time_json, wrap
from pha.jobs import JobInputError, input_problem, parse_job_input
from pha.llm.request import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, ChatRequestError, parse_chat_request
from pha.llm.result import ChatVerificationError, normalise_digest
from pha.permit import PermitRefusedError, sign_permit


def _pha(text: str, name: str) -> int:
    try:
        value = Decimal(text) * PHA
    except InvalidOperation:
        raise click.ClickException(f"{name} must be a number of PHA, got {text!r}") from None
    if value < 0 or value != value.to_integral_value():
        raise click.ClickException(f"{name} must be a non-negative amount with at most 18 decimals")
    return int(value)


def _bytes32(text: str, name: str) -> bytes:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise click.ClickException(f"{name} must be 32 bytes of hex") from None
    if len(raw) != 32:
        raise click.ClickException(f"{name} must be 32 bytes of hex, got {len(raw)} bytes")
    return raw


def _escrow() -> tuple[Any, Any, int]:
    from ape import Contract

    manifest = require_manifest()
    entry = manifest.contracts.get("JobEscrow")
    if entry is None:
        raise click.ClickException("this deployment has no JobEscrow: run `ape run deploy` first")
    token = manifest.contracts.get("PHAToken")
    return Contract(entry.address), Contract(token.address) if token else None, entry.block


def _job(escrow: Any, start: int, job_id: int) -> JobView:
    from ape import chain

    view = load_job(escrow, job_id, start, chain.blocks.head.number)
    if view is None:
        raise click.ClickException(f"job {job_id} was never posted on this escrow")
    return view


def _open_job(account_alias: str | None, job_id: int) -> tuple[Any, Any, JobView]:
    """The escrow, the signer and a job that has not ended (else one line)."""
    escrow, _, start = _escrow()
    account = resolve_account(account_alias)
    view = _job(escrow, start, job_id)
    if view.outcome:
        raise click.ClickException(f"job {job_id} already {view.outcome}")
    return escrow, account, view


def _send(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from ape.exceptions import ApeException

    try:
        return fn(*args, **kwargs)
    except ApeException as error:
        raise click.ClickException(f"transaction refused: {describe_revert(error)}") from None


@click.group(short_help="Post and follow escrowed jobs")
def cli() -> None:
    """Post jobs to the escrow, follow them, cancel or expire them."""


@cli.command()
@network_option
@account_option
@click.option("--measurement", required=True, help="Required enclave measurement id (32 bytes hex).")
@click.option("--input", "input_text", default=None, help="Input bytes as text (UTF-8 JSON envelope).")
@click.option(
    "--input-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Input bytes from a file (e.g. an encrypted PHAENC1 envelope).",
)
@click.option("--payment", required=True, help="Payment in PHA.")
@click.option("--relay-fee", default="0", show_default=True, help="Relay fee in PHA (part of the payment).")
@click.option("--deadline-in", default=3_600, show_default=True, help="Seconds until the deadline.")
@click.option("--worker", default=ZERO_ADDRESS, help="Only this worker may claim/settle (default: any).")
@click.option(
    "--max-tcb",
    type=click.Choice(TCB_NAMES),
    default=TCB_NAMES[NO_TCB_FLOOR],
    show_default=True,
    help="Worst TCB status the job accepts.",
)
@click.option("--permit", is_flag=True, help="Approve with an ERC-2612 permit instead of approve().")
@click.option(
    "--any-handler",
    is_flag=True,
    help="Check only the input envelope, not the handler name or its data format "
    "(for handlers a worker adds with --handler).",
)
def post(
    network_choice: str,
    account_alias: str | None,
    measurement: str,
    input_text: str | None,
    input_file: Path | None,
    payment: str,
    relay_fee: str,
    deadline_in: int,
    worker: str,
    max_tcb: str,
    permit: bool,
    any_handler: bool,
) -> None:
    """Post a job and print its id."""
    if (input_text is None) == (input_file is None):
        raise click.ClickException("give exactly one of --input or --input-file")
    data = input_file.read_bytes() if input_file else input_text.encode()
    _check_input(data, any_handler)
    amount, fee = _pha(payment, "--payment"), _pha(relay_fee, "--relay-fee")
    if amount == 0:
        raise click.ClickException("--payment must be above 0 PHA: workers are paid from it")
    if fee > amount:
        raise click.ClickException("--relay-fee cannot exceed --payment")
    try:
        worker = parse_address(worker)
    except AddressError as error:
        raise click.ClickException(f"--worker: {error}") from None
    from ape import chain

    with connected(network_choice):
        escrow, token, _ = _escrow()
        account = resolve_account(account_alias)
        if len(data) > int(escrow.MAX_INPUT_BYTES()):
            raise click.ClickException(
                f"input is {len(data)} bytes; the escrow carries at most "
                f"{escrow.MAX_INPUT_BYTES()} (post a pointer instead)"
            )
        balance = int(token.balanceOf(account))
        if balance < amount:
            raise click.ClickException(
                f"{account.address} holds {format_pha(balance)}, needs {format_pha(amount)}"
                + faucet_hint(str(account.address))
            )
        spec = JobSpec(
            measurement_id=_bytes32(measurement, "--measurement"),
            input_hash=input_hash(data),
            relay_fee=fee,
            deadline=chain.pending_timestamp + deadline_in,
            worker=worker,
            max_tcb_status=TCB_NAMES.index(max_tcb),
        )
        job_id = _post_spec(escrow, token, account, spec, amount, data, permit)[0]
        click.echo(
            f"job {job_id} posted: {format_pha(amount)}, deadline "
            f"{format_time(spec.deadline, int(chain.pending_timestamp))}\n"
            f"  inputHash 0x{spec.input_hash.hex()}"
        )


def _post_spec(
    escrow: Any, token: Any, account: Any, spec: JobSpec, amount: int, data: bytes, permit: bool
) -> tuple[int, int]:
    """Pay and post (approve, or an ERC-2612 permit): (job id, block)."""
    if permit:
        v, r, s, until = _permit(token, account, escrow.address, amount)
        tx = _send(escrow.postWithPermit, spec.as_tuple(), amount, data, until, v, r, s, sender=account)
    else:
        if int(token.allowance(account, escrow)) < amount:
            _send(token.approve, escrow, amount, sender=account)
        tx = _send(escrow.post, spec.as_tuple(), amount, data, sender=account)
    return int(tx.decode_logs(escrow.JobPosted)[0].jobId), int(tx.block_number)


def _check_input(data: bytes, any_handler: bool) -> None:
    """Refuse, before anything is sent, plaintext input a worker would refuse (an encrypted
    envelope is opaque here: the worker checks it after decrypting)."""
    if is_envelope(data):
        return
    try:
        parse_job_input(data, None, {}) if any_handler else parse_job_input(data)
    except JobInputError as error:
        raise click.ClickException(str(error)) from None


def _reclaim_hint(view: JobView, now: int) -> str:
    """How the client gets the payment of an active job back, and when."""
    if view.claimer:
        return (
            f"claimed, so the payment comes back after the deadline "
            f"{format_time(view.spec.deadline, now, past='passed {} ago')}: "
            f"`ape run client expire {view.job_id}`"
        )
    return f"reclaim the payment now: `ape run client cancel {view.job_id}`"


def _permit(token: Any, account: Any, spender: Any, amount: int) -> tuple[int, bytes, bytes, int]:
    try:
        return sign_permit(token, account, str(spender), amount)
    except PermitRefusedError as error:
        raise click.ClickException(str(error)) from None


def _chain_now() -> int:
    from ape import chain

    return int(chain.pending_timestamp)


def _describe(view: JobView, now: int) -> str:
    """The human form of `status`: PHA amounts, ISO times, every line within 80 columns."""

    def row(label: str, value: str) -> str:
        return f"  {label:<11} {value}"

    spec = view.spec
    lines = [
        f"job {view.job_id}: {view.state}",
        row("client", view.client),
        row("payment", f"{format_pha(view.payment)} (relay fee {format_pha(spec.relay_fee)})"),
        row("measurement", f"0x{spec.measurement_id.hex()}"),
        row("deadline", format_time(spec.deadline, now, past="passed {} ago")),
    ]
    if spec.worker != ZERO_ADDRESS:
        lines.append(row("only worker", spec.worker))
    if view.claimer:
        lines.append(row("claimed by", f"{view.claimer} (pool {view.pool_id})"))
    if view.outcome == "settled":
        lines.append(row("settled by", str(view.worker)))
        lines.append(row("outputHash", f"0x{(view.output_hash or b'').hex()}"))
    problem = None if view.outcome else input_problem(view.input)
    if problem:
        lines.append(wrap(f"refused by workers: {problem}"))
        lines.append(wrap(_reclaim_hint(view, now)))
    if view.refund is not None:
        lines.append(
            row("refunded", format_pha(view.refund))
            + (f", pool slashed {format_pha(view.slashed)}" if view.slashed else "")
        )
    return "\n".join(lines)


def _job_json(view: JobView, now: int) -> dict[str, Any]:
    """The `--json` document of `status` and `wait` (docs/escrow.md "Client script")."""
    spec = view.spec
    problem = None if view.outcome else input_problem(view.input)
    settled = view.outcome == "settled"
    return {
        "job_id": view.job_id,
        "state": view.state,
        "now": time_json(now),
        "client": view.client,
        "payment": amount_json(view.payment),
        "relay_fee": amount_json(spec.relay_fee),
        "measurement_id": "0x" + spec.measurement_id.hex(),
        "input_hash": "0x" + spec.input_hash.hex(),
        "deadline": time_json(spec.deadline),
        "max_tcb_status": TCB_NAMES[spec.max_tcb_status],
        "only_worker": None if spec.worker == ZERO_ADDRESS else spec.worker,
        "claimed_by": view.claimer,
        "pool_id": view.pool_id,
        "settled_by": view.worker if settled else None,
        "output": render_output(view.output or b"") if settled else None,
        "output_hash": "0x" + view.output_hash.hex() if settled and view.output_hash else None,
        "refund": None if view.refund is None else amount_json(view.refund),
        "slashed": None if view.slashed is None else amount_json(view.slashed),
        "input_problem": problem,
    }


@cli.command(context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@click.argument("job_id", type=click.IntRange(min=0))
@json_option
def status(network_choice: str, job_id: int, as_json: bool) -> None:
    """Print a job's state."""
    with connected(network_choice):
        escrow, _, start = _escrow()
        view, now = _job(escrow, start, job_id), _chain_now()
        if as_json:
            echo_json(_job_json(view, now))
        else:
            click.echo(_describe(view, now))


@cli.command(context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@click.argument("job_id", type=click.IntRange(min=0))
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between checks.")
@json_option
def wait(network_choice: str, job_id: int, timeout: int, poll: float, as_json: bool) -> None:
    """Wait for a job's result and print the output (--json: the settled job, output included)."""
    with connected(network_choice):
        escrow, _, start = _escrow()
        until = time.monotonic() + timeout
        while True:
            view = _job(escrow, start, job_id)
            if view.outcome == "settled":
                if as_json:
                    echo_json(_job_json(view, _chain_now()))
                else:
                    click.echo(render_output(view.output or b""))
                return
            if view.outcome:
                raise click.ClickException(f"job {job_id} ended without a result: {view.outcome}")
            problem = input_problem(view.input)
            if problem:
                raise click.ClickException(
                    f"job {job_id} will get no result, workers refuse its input: {problem}; "
                    + _reclaim_hint(view, _chain_now())
                )
            if time.monotonic() > until:
                raise click.ClickException(f"job {job_id} still {view.state} after {timeout}s")
            time.sleep(poll)


@cli.command(context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@account_option
@click.argument("job_id", type=click.IntRange(min=0))
def cancel(network_choice: str, account_alias: str | None, job_id: int) -> None:
    """Cancel an unclaimed job (its client only) and take the payment back."""
    with connected(network_choice):
        escrow, account, view = _open_job(account_alias, job_id)
        if view.claimer:
            raise click.ClickException(
                f"job {job_id} is claimed by {view.claimer}: wait for it or its deadline"
            )
        if view.client != account.address:
            raise click.ClickException(f"only the client {view.client} can cancel job {job_id}")
        _send(escrow.cancel, job_id, view.spec.as_tuple(), sender=account)
        click.echo(f"job {job_id} cancelled: {format_pha(view.payment)} refunded")


@cli.command(context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@account_option
@click.argument("job_id", type=click.IntRange(min=0))
def expire(network_choice: str, account_alias: str | None, job_id: int) -> None:
    """Expire a job past its deadline: refund the client, slash the claiming pool."""
    from ape import chain

    with connected(network_choice):
        escrow, account, view = _open_job(account_alias, job_id)
        if chain.pending_timestamp <= view.spec.deadline:
            raise click.ClickException(
                f"job {job_id}'s deadline {format_time(view.spec.deadline, int(chain.pending_timestamp))} "
                "has not passed"
            )
        tx = _send(
            escrow.expire,
            job_id,
            view.spec.as_tuple(),
            view.claimer or ZERO_ADDRESS,
            view.pool_id or 0,
            sender=account,
        )
        event = tx.decode_logs(escrow.JobExpired)[0]
        click.echo(
            f"job {job_id} expired: {format_pha(int(event.refund))} refunded, "
            f"{format_pha(int(event.slashed))} slashed"
        )


# --- confidential chat jobs (docs/llm.md) ---------------------------------------------------


def _chain_view() -> Any:
    from ape import chain

    from pha.llm.proof import ChainView

    manifest = require_manifest()
    for name in ("JobEscrow", "WorkerRegistry"):
        if name not in manifest.contracts:
            raise click.ClickException(f"this deployment has no {name}: run `ape run deploy` first")
    token = manifest.contracts.get("PHAToken")
    return ChainView(
        chain.provider.web3,
        manifest.address("JobEscrow"),
        manifest.address("WorkerRegistry"),
        manifest.deploy_block,
        token.address if token else None,
    )


def _print_verification(verification: Any, as_json: bool, answer: bool) -> None:
    facts = verification.facts()
    if as_json:
        echo_json({**facts, "answer": verification.proof.answer} if answer else facts)
        return
    if answer:
        click.echo(verification.proof.answer)
        click.echo("")
    batch = facts["signed_batch_of"]
    click.echo(
        f"verified job {facts['job_id']}:\n"
        f"  worker        {facts['worker']} (signature recovered from the settle transaction"
        + (f", a batch of {batch})" if batch > 1 else ")")
        + f"\n  measurement   {facts['measurement_id']} (registered, attested until "
        f"{format_time(facts['attested_until'], _chain_now())})\n"
        f"  quote         {facts['quote_hash']} checked by {facts['verifier']}\n"
        f"  model         {facts['model']} sha256 {facts['model_digest']}\n"
        f"  request hash  {facts['request_hash']} (our request)\n"
        f"  response hash {facts['response_hash']} (the answer above)\n"
        f"  on chain      ciphertext only (inputHash {facts['input_hash'][:18]}…, "
        f"outputHash {facts['output_hash'][:18]}…)"
    )


@cli.command()
@network_option
@account_option
@click.argument("prompt")
@click.option("--pool", "pool_id", type=click.IntRange(min=0), required=True, help="Staking pool to run it.")
@click.option("--system", default=None, help="A system message before the prompt.")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Model name the worker must serve.")
@click.option("--model-digest", default=None, help="Pin the model: sha256 of its GGUF file (0x-hex).")
@click.option(
    "--max-tokens", default=DEFAULT_MAX_TOKENS, show_default=True, help="Most tokens in the answer."
)
@click.option("--temperature", default=1.0, show_default=True, help="Sampling temperature (0: greedy).")
@click.option("--seed", type=int, default=None, help="The engine's sampling seed.")
@click.option("--payment", default="1", show_default=True, help="Payment in PHA.")
@click.option("--relay-fee", default="0.1", show_default=True, help="Relay fee in PHA (part of the payment).")
@click.option("--deadline-in", default=600, show_default=True, help="Seconds until the deadline.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the answer.")
@click.option("--permit", is_flag=True, help="Approve with an ERC-2612 permit instead of approve().")
@json_option
def chat(
    network_choice: str,
    account_alias: str | None,
    prompt: str,
    pool_id: int,
    system: str | None,
    model: str,
    model_digest: str | None,
    max_tokens: int,
    temperature: float,
    seed: int | None,
    payment: str,
    relay_fee: str,
    deadline_in: int,
    timeout: float,
    permit: bool,
    as_json: bool,
) -> None:
    """Ask a pool's attested worker, confidentially; print the verified answer."""
    from pha.llm.client import ChatJobError, run_chat_job

    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    data: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    data["temperature"] = temperature
    if seed is not None:
        data["seed"] = seed
    try:  # refused here, before anything is sent
        request = parse_chat_request(data)
        if model_digest is not None:
            normalise_digest(model_digest)
    except (ChatRequestError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    amount, fee = _pha(payment, "--payment"), _pha(relay_fee, "--relay-fee")
    if amount == 0 or fee > amount:
        raise click.ClickException("--payment must be above 0 PHA and at least --relay-fee")
    with connected(network_choice):
        escrow, token, _ = _escrow()
        account = resolve_account(account_alias)
        view = _chain_view()
        if int(token.balanceOf(account)) < amount:
            raise click.ClickException(
                f"{account.address} holds {format_pha(int(token.balanceOf(account)))}, needs "
                f"{format_pha(amount)}" + faucet_hint(str(account.address))
            )

        def post(job: Any, value: int) -> tuple[int, int]:
            return _post_spec(escrow, token, account, job.spec, value, job.data, permit)

        def posted(record: Any) -> None:
            if not as_json:
                click.echo(
                    f"job {record.job_id} posted, encrypted to worker {record.worker} (pool {pool_id}); "
                    "waiting for its answer",
                    err=True,
                )

        try:
            verification = run_chat_job(
                view,
                post,
                request,
                pool_id,
                amount,
                fee,
                deadline_in,
                timeout,
                model_digest,
                on_posted=posted,
            )
        except (ChatJobError, ChatVerificationError) as error:
            raise click.ClickException(str(error)) from None
        _print_verification(verification, as_json, answer=True)


@cli.command(context_settings=NEGATIVE_NUMBERS_ARE_ARGUMENTS)
@network_option
@click.argument("job_id", type=click.IntRange(min=0))
@click.option(
    "--model-digest", default=None, help="Require this model digest (default: the one pinned at post)."
)
@json_option
def verify(network_choice: str, job_id: int, model_digest: str | None, as_json: bool) -> None:
    """Prove a chat job: signature, registered attested worker, model, request and response."""
    from dataclasses import replace

    from pha.llm.client import ChatJobError, load_record, verify_chat_job

    with connected(network_choice):
        view = _chain_view()
        try:
            record = load_record(view.chain_id, view.escrow.address, job_id)
        except ChatJobError as error:
            raise click.ClickException(str(error)) from None
        if record is None:
            raise click.ClickException(
                f"no local record of chat job {job_id} (its reply key and request are kept by the "
                "client that posted it, under PHA_CHAT_DIR)"
            )
        if model_digest is not None:
            try:
                record = replace(record, model_digest=normalise_digest(model_digest))
            except ValueError as error:
                raise click.ClickException(str(error)) from None
        try:
            verification = verify_chat_job(view, record)
        except ChatVerificationError as error:
            raise click.ClickException(f"job {job_id} does not verify: {error}") from None
        _print_verification(verification, as_json, answer=False)
