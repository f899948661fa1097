"""Governance tasks on the worker registry (run them from the governance account).

    ape run governance allow-measurement --worker-url http://127.0.0.1:8001 --label "pha-worker v1"
    ape run governance allow-measurement --measurement-id 0x... --tee tdx \
        --max-tcb SWHardeningNeeded --grace-days 30
    ape run governance allow-measurement --app-compose app-compose.json --quote quote.hex
        (a dstack app: sha256 of the file is its compose hash; the id is TDXCompose of the quote's
        MRTD/RTMR0..2 and it; --worker-url or --mr-td/--rtmr0..2 may give the registers instead)
    ape run governance set-policy --measurement-id 0x... --max-tcb UpToDate
    ape run governance revoke-measurement --measurement-id 0x...
    ape run governance tolerate-advisory --measurement-id 0x... INTEL-SA-00615 [--off]
    ape run governance set-verifier 0xVerifier [--off]
    ape run governance sweep-fees [--dry-run]     (protocol fees accrued in JobEscrow -> treasury;
                                                   pays pool ledgers first, their fees included)

A policy applies at once to every worker registered with the measurement; revoking makes them
all ineligible in one transaction.

When the deployment is governed by PHAGovernor + PHATimelock (`ape run deploy --governance
timelock`), the commands above do not change anything themselves: each becomes a proposal
(shown in words, then proposed), and PHA holders decide it (docs/governance.md):

    ape run governance delegate-votes [--to 0xDelegate]   (token and staked votes; default: yourself)
    ape run governance propose Staking setCooldown 86400 --description "Cooldown 1 day"
    ape run governance status [PROPOSAL_ID]
    ape run governance vote PROPOSAL_ID for|against|abstain [--reason "..."]
    ape run governance queue PROPOSAL_ID        (after it succeeded)
    ape run governance execute PROPOSAL_ID      (after the timelock delay; anyone may)

The guardian, if the deployment has one, revokes a measurement directly (revoke-measurement).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pha.cli import ADDRESS, UserError, account_option, network_option, script_session
from pha.fmt import format_pha
from pha.governance import STATES, SUPPORT, Call, Proposal, find_proposal
from pha.quote.tcb import advisory_id_hash
from pha.registry.actions import WorkerAttestation
from pha.registry.policy import Policy


def _hex32(value: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise UserError(f"{what} is not hex") from None
    if len(raw) != 32:
        raise UserError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def _measurement(measurement_id: str | None, worker_url: str | None) -> bytes:
    if bool(measurement_id) == bool(worker_url):
        raise UserError("give exactly one of --measurement-id and --worker-url")
    if worker_url:
        return WorkerAttestation.fetch(worker_url).measurement_id
    return _hex32(str(measurement_id), "--measurement-id")


def _registers(
    quote_path: str | None, worker_url: str | None, fields: dict[str, str | None]
) -> tuple[bytes, ...]:
    """MRTD, RTMR0..2 from a quote file, a worker's /attestation quote, or given as options."""
    from pha.quote.errors import QuoteError
    from pha.quote.io import read_quote
    from pha.quote.layout import TeeType, parse_quote

    given = [name for name, value in fields.items() if value]
    if sum((bool(quote_path), bool(worker_url), bool(given))) != 1:
        raise UserError("with --app-compose give the registers: --quote, --worker-url or --mr-td/--rtmr0..2")
    if given:
        if len(given) != 4:
            raise UserError("give all of --mr-td, --rtmr0, --rtmr1, --rtmr2")
        regs = []
        for name, value in fields.items():
            try:
                raw = bytes.fromhex(str(value).removeprefix("0x"))
            except ValueError:
                raise UserError(f"--{name} is not hex") from None
            if len(raw) != 48:
                raise UserError(f"--{name} must be 48 bytes, got {len(raw)}")
            regs.append(raw)
        return tuple(regs)
    try:
        raw_quote = read_quote(quote_path) if quote_path else WorkerAttestation.fetch(str(worker_url)).quote
        parsed = parse_quote(raw_quote)
    except OSError as error:
        raise UserError(f"cannot read {quote_path}: {error.strerror or error}") from None
    except QuoteError as error:
        raise UserError(f"{quote_path or worker_url}: {error}") from None
    if parsed.tee_type != TeeType.TDX:
        raise UserError("a dstack app compose applies to TDX quotes only")
    return tuple(parsed.field(name) for name in ("mr_td", "rt_mr0", "rt_mr1", "rt_mr2"))


def _app_measurement(
    app_compose: str, quote_path: str | None, worker_url: str | None, fields: dict[str, str | None]
) -> tuple[bytes, bytes]:
    """(compose hash, measurement id) of a dstack app: sha256 of the file, TDXCompose of the
    registers and it. A worker that reports another id runs another compose: refused."""
    from pathlib import Path

    from pha.quote.eventlog import compose_hash_of
    from pha.quote.measurement import tdx_measurement_id

    try:
        compose = compose_hash_of(Path(app_compose).read_bytes())
    except OSError as error:
        raise UserError(f"cannot read {app_compose}: {error.strerror or error}") from None
    mid = tdx_measurement_id(*_registers(quote_path, worker_url, fields), compose)
    if worker_url:
        reported = WorkerAttestation.fetch(worker_url).measurement_id
        if reported != mid:
            raise UserError(
                f"the worker reports measurement 0x{reported.hex()}, but {app_compose} gives 0x{mid.hex()}: "
                "it runs another app compose (or none)"
            )
    return compose, mid


def _policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--tee", type=click.Choice(["tdx", "sgx"]), default="tdx", show_default=True),
        click.option("--max-tcb", default="SWHardeningNeeded", show_default=True,
                     help="Worst TCB status accepted (UpToDate, SWHardeningNeeded, ...)."),
        click.option("--grace-days", default=0.0, show_default=True,
                     help="Days an OutOfDate platform stays acceptable after its TCB level's date."),
        click.option("--expires-at", default=0, show_default=True,
                     help="Unix time the measurement expires (0: never)."),
        click.option("--allow-debug", is_flag=True, help="Accept DEBUG enclaves (never on a real chain)."),
    ]):  # fmt: skip
        f = option(f)
    return f


def _policy(tee: str, max_tcb: str, grace_days: float, expires_at: int, allow_debug: bool) -> Policy:
    try:
        return Policy.build(tee, max_tcb, grace_days, expires_at, allow_debug)
    except ValueError as error:
        raise UserError(str(error)) from None


def _description_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--description",
        default=None,
        help="Under timelock governance: the proposal's text (default: a summary).",
    )(f)


def _governance(w: dict[str, Any]) -> tuple[Any, Any] | None:
    """(governor, timelock) when the deployment is timelock-governed, else None."""
    from ape import project

    contracts = w["manifest"].contracts
    if "PHAGovernor" not in contracts or "PHATimelock" not in contracts:
        return None
    return (
        project.PHAGovernor.at(contracts["PHAGovernor"].address),
        project.PHATimelock.at(contracts["PHATimelock"].address),
    )


def _known_contracts(w: dict[str, Any]) -> dict[str, Any]:
    """Every contract of the manifest, by lower-case address (to show calls in words)."""
    from ape import project

    return {
        entry.address.lower(): getattr(project, name).at(entry.address)
        for name, entry in w["manifest"].contracts.items()
    }


def _propose(w: dict[str, Any], governor: Any, proposal: Proposal) -> int:
    """Show the proposal in words, then propose it from the account."""
    click.echo(proposal.words(_known_contracts(w)))
    pid = proposal.id(governor)
    if int(governor.proposalSnapshot(pid)) != 0:
        raise UserError(f"proposal {pid} exists already (same calls and description): see `status {pid}`")
    threshold, account = int(governor.proposalThreshold()), w["account"]
    from ape import chain

    votes = int(governor.getVotes(account, chain.blocks.head.number - 1)) if chain.blocks.head.number else 0
    if votes < threshold:
        raise UserError(
            f"{account.address} has {format_pha(votes)} of votes, the threshold to propose is "
            f"{format_pha(threshold)} (delegate first: `ape run governance delegate-votes`)"
        )
    proposal.propose(governor, account)
    click.echo(f"proposed: id {pid}")
    click.echo(
        f"voting opens after block {int(governor.proposalSnapshot(pid))} and closes at block "
        f"{int(governor.proposalDeadline(pid))}: `ape run governance vote {pid} for`"
    )
    return pid


def _act(w: dict[str, Any], call: Call, done: str, description: str | None) -> None:
    """Send `call` from the account, or propose it when the timelock governs the deployment."""
    governance = _governance(w)
    if governance is not None:
        _propose(w, governance[0], Proposal.of(description or done, [call]))
        return
    if description is not None:
        raise UserError("--description is for timelock governance; this deployment has a governance account")
    getattr(call.contract, call.method)(*call.args, sender=w["account"])
    click.echo(done)


@click.group(short_help="Governance: measurements, policies, verifiers")
def cli() -> None:
    """Governance tasks on the worker registry."""


@cli.command("allow-measurement")
@network_option
@account_option
@click.option("--measurement-id", default=None, help="The measurement id (0x + 64 hex).")
@click.option(
    "--worker-url", default=None, help="Read the measurement id from a running worker's /attestation."
)
@_policy_options
@click.option("--label", default="", help="Human-readable name of the build.")
@click.option(
    "--source-commit", default="0x" + "00" * 20, help="Git commit the image was built from (20 bytes)."
)
@click.option("--image-digest", default="0x" + "00" * 32, help="Reproducible image digest (32 bytes).")
@click.option(
    "--app-compose", default=None, help="A dstack app's app-compose.json: allow that app on the image."
)
@click.option(
    "--quote", "quote_path", default=None, help="With --app-compose: a TDX quote giving the registers."
)
@click.option("--mr-td", default=None, help="With --app-compose: MRTD (48 bytes hex).")
@click.option("--rtmr0", default=None)
@click.option("--rtmr1", default=None)
@click.option("--rtmr2", default=None)
@_description_option
def allow_measurement(
    network_choice: str, account_alias: str | None, measurement_id: str | None, worker_url: str | None,
    tee: str, max_tcb: str, grace_days: float, expires_at: int, allow_debug: bool, label: str,
    source_commit: str, image_digest: str, app_compose: str | None, quote_path: str | None,
    mr_td: str | None, rtmr0: str | None, rtmr1: str | None, rtmr2: str | None, description: str | None,
) -> None:  # fmt: skip
    """Allow a measurement with its policy and build metadata."""
    fields = {"mr-td": mr_td, "rtmr0": rtmr0, "rtmr1": rtmr1, "rtmr2": rtmr2}
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        if app_compose is None and (quote_path or any(fields.values())):
            raise UserError("--quote and --mr-td/--rtmr0..2 go with --app-compose")
        if app_compose is not None and measurement_id:
            raise UserError("give --app-compose or --measurement-id, not both")
        if app_compose is not None:
            compose, mid = _app_measurement(app_compose, quote_path, worker_url, fields)
            click.echo(f"compose hash 0x{compose.hex()} (sha256 of {app_compose})")
            click.echo(f"measurement  0x{mid.hex()} (TDXCompose: MRTD, RTMR0..2 and the compose hash)")
        else:
            mid = _measurement(measurement_id, worker_url)
        policy = _policy(tee, max_tcb, grace_days, expires_at, allow_debug)
        commit = bytes.fromhex(source_commit.removeprefix("0x"))
        if len(commit) != 20:
            raise UserError("--source-commit must be 20 bytes")
        build = (label, commit, _hex32(image_digest, "--image-digest"))
        call = Call(w["WorkerRegistry"], "allowMeasurement", (mid, policy.as_tuple(), build))
        summary = f"allowed 0x{mid.hex()} ({tee}, max TCB {policy.max_tcb.name}, grace {grace_days:g} days)"
        _act(w, call, summary, description)


@cli.command("set-policy")
@network_option
@account_option
@click.option("--measurement-id", required=True)
@_policy_options
@_description_option
def set_policy(
    network_choice: str, account_alias: str | None, measurement_id: str, tee: str, max_tcb: str,
    grace_days: float, expires_at: int, allow_debug: bool, description: str | None,
) -> None:  # fmt: skip
    """Replace an allowed measurement's policy (applies to its workers at once)."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        registry = w["WorkerRegistry"]
        if registry.measurementStatus(mid) != 1:
            raise UserError(f"0x{mid.hex()} is not an allowed measurement")
        policy = _policy(tee, max_tcb, grace_days, expires_at, allow_debug)
        summary = f"policy of 0x{mid.hex()} set: max TCB {policy.max_tcb.name}, grace {grace_days:g} days"
        _act(w, Call(registry, "setPolicy", (mid, policy.as_tuple())), summary, description)


@cli.command("revoke-measurement")
@network_option
@account_option
@click.option("--measurement-id", required=True)
@_description_option
def revoke_measurement(
    network_choice: str, account_alias: str | None, measurement_id: str, description: str | None
) -> None:
    """Revoke a measurement: every worker running it becomes ineligible at once (the guardian
    does it directly; under timelock governance anyone else proposes it)."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        registry = w["WorkerRegistry"]
        if registry.measurementStatus(mid) != 1:
            raise UserError(f"0x{mid.hex()} is not an allowed measurement")
        if registry.hasRole(registry.GUARDIAN_ROLE(), w["account"]):
            registry.revokeMeasurement(mid, sender=w["account"])
            click.echo(f"revoked 0x{mid.hex()} (as the guardian)")
            return
        _act(w, Call(registry, "revokeMeasurement", (mid,)), f"revoked 0x{mid.hex()}", description)


@cli.command("tolerate-advisory")
@network_option
@account_option
@click.option("--measurement-id", required=True)
@click.argument("advisory")
@click.option("--off", is_flag=True, help="Stop tolerating it.")
@_description_option
def tolerate_advisory(
    network_choice: str, account_alias: str | None, measurement_id: str, advisory: str, off: bool,
    description: str | None,
) -> None:  # fmt: skip
    """Tolerate an Intel advisory (e.g. INTEL-SA-00615) for a measurement."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",)) as w:
        mid = _hex32(measurement_id, "--measurement-id")
        call = Call(w["WorkerRegistry"], "setAdvisoryTolerance", (mid, advisory_id_hash(advisory), not off))
        _act(w, call, f"{advisory}: {'not ' if off else ''}tolerated for 0x{mid.hex()}", description)


@cli.command("set-verifier")
@network_option
@account_option
@click.argument("verifier", type=ADDRESS)
@click.option("--off", is_flag=True, help="Remove it from the allow-list.")
@_description_option
def set_verifier(
    network_choice: str, account_alias: str | None, verifier: str, off: bool, description: str | None
) -> None:
    """Allow (or disallow) a quote verifier contract."""
    with script_session(network_choice, account_alias, ("WorkerRegistry",), user_errors=(ValueError,)) as w:
        call = Call(w["WorkerRegistry"], "setVerifier", (verifier, not off))
        _act(w, call, f"verifier {verifier}: {'disallowed' if off else 'allowed'}", description)


@cli.command("sweep-fees")
@network_option
@account_option
@click.option("--dry-run", is_flag=True, help="Only show what is owed to the treasury.")
def sweep_fees(network_choice: str, account_alias: str | None, dry_run: bool) -> None:
    """Pay the escrow's accrued protocol fees to the treasury (anyone may; the treasury usually does).

    Fees of single settlements wait in their pool's ledger: the ledgers holding any are paid
    first (one flushPoolRewards per 100 pools), so the sweep takes them too."""
    from ape.exceptions import ContractLogicError

    from pha.cli import describe_revert
    from pha.escrow import ledger

    with script_session(
        network_choice, account_alias, ("JobEscrow", "Staking"), need_account=not dry_run
    ) as w:
        escrow = w["JobEscrow"]
        treasury = escrow.treasury()
        due = [entry for entry in ledger.unpaid(escrow, int(w["Staking"].poolCount())) if entry.fee]
        pending = sum(entry.fee for entry in due)
        click.echo(
            f"protocol fees owed: {format_pha(int(escrow.feesOwed()))} (treasury {treasury}), "
            f"{format_pha(pending)} more in {len(due)} pool ledger(s)"
        )
        if dry_run:
            return
        if due:
            for line in ledger.flush(escrow, w["account"], due):
                click.echo(line)
        try:
            tx = escrow.sweepProtocolFees(sender=w["account"])
        except ContractLogicError as error:
            if "JobEscrowNothingOwed" in describe_revert(error):
                raise UserError("no protocol fees owed: nothing to sweep") from None
            raise
        swept = sum(int(log.amount) for log in tx.decode_logs(escrow.ProtocolFeesSwept))
        click.echo(f"swept {format_pha(swept)} to {treasury} (tx {tx.txn_hash})")


# ---------------------------------------------------------------------------- Governor + Timelock


def _require_governance(w: dict[str, Any]) -> tuple[Any, Any]:
    governance = _governance(w)
    if governance is None:
        raise UserError("this deployment has no PHAGovernor: a governance account governs it directly")
    return governance


def _proposal_of(w: dict[str, Any], governor: Any, proposal_id: int) -> Proposal:
    from ape import chain

    start = w["manifest"].contracts["PHAGovernor"].block
    proposal = find_proposal(governor, proposal_id, start, chain.blocks.head.number)
    if proposal is None:
        raise UserError(f"no proposal {proposal_id} on this governor")
    return proposal


def _parse_arg(text: str) -> Any:
    """A call argument: JSON (numbers, true/false, lists) or, failing that, the text itself."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


@cli.command("propose")
@network_option
@account_option
@click.argument("contract")
@click.argument("method")
@click.argument("args", nargs=-1)
@click.option("--description", required=True, help="What the proposal does, in words (its text on chain).")
def propose(
    network_choice: str, account_alias: str | None, contract: str, method: str, args: tuple[str, ...],
    description: str,
) -> None:  # fmt: skip
    """Propose CONTRACT.METHOD(ARGS...) (CONTRACT a manifest name; ARGS JSON or text)."""
    from ape import project

    with script_session(network_choice, account_alias, (), user_errors=(ValueError,)) as w:
        governor, _ = _require_governance(w)
        entries = w["manifest"].contracts
        if contract not in entries:
            raise UserError(f"{contract} is not in the manifest ({', '.join(entries)})")
        instance = getattr(project, contract).at(entries[contract].address)
        if not hasattr(instance, method):
            raise UserError(f"{contract} has no function {method}")
        try:
            call = Call(instance, method, tuple(_parse_arg(a) for a in args))
            call.calldata  # noqa: B018 - encodes now: a bad argument is a one-line error
        except Exception as error:  # Ape raises several types for arguments that do not fit the ABI
            raise UserError(f"{contract}.{method}{tuple(args)}: {str(error).splitlines()[0]}") from None
        _propose(w, governor, Proposal.of(description, [call]))


@cli.command("status")
@network_option
@click.argument("proposal_id", type=int, required=False)
def status(network_choice: str, proposal_id: int | None) -> None:
    """A proposal's state, votes and quorum (all proposals, without PROPOSAL_ID)."""
    from ape import chain

    with script_session(network_choice, None, (), need_account=False) as w:
        governor, timelock = _require_governance(w)
        head = chain.blocks.head.number
        if proposal_id is None:
            start = w["manifest"].contracts["PHAGovernor"].block
            logs = list(governor.ProposalCreated.range(start, head + 1))
            if not logs:
                click.echo("no proposals yet")
            for log in logs:
                pid = int(log.proposalId)
                click.echo(f"{pid}  {STATES[int(governor.state(pid))]:<9}  {log.description}")
            return
        proposal = _proposal_of(w, governor, proposal_id)
        click.echo(proposal.words(_known_contracts(w)))
        state = STATES[int(governor.state(proposal_id))]
        against, for_, abstain = (int(v) for v in governor.proposalVotes(proposal_id))
        snapshot, deadline = (
            int(governor.proposalSnapshot(proposal_id)),
            int(governor.proposalDeadline(proposal_id)),
        )
        quorum = int(governor.quorum(snapshot)) if snapshot < head else None
        click.echo(f"state:    {state}")
        click.echo(
            f"votes:    for {format_pha(for_)}, against {format_pha(against)}, abstain {format_pha(abstain)}"
        )
        click.echo(
            f"quorum:   {format_pha(quorum) if quorum is not None else 'known after block ' + str(snapshot)}"
            f" (for + abstain)"
        )
        click.echo(f"voting:   blocks {snapshot + 1}..{deadline} (now {head})")
        eta = int(governor.proposalEta(proposal_id))
        if eta:
            click.echo(
                f"eta:      executable from unix time {eta} (timelock delay {int(timelock.getMinDelay())} s)"
            )


@cli.command("vote")
@network_option
@account_option
@click.argument("proposal_id", type=int)
@click.argument("support", type=click.Choice(list(SUPPORT)))
@click.option("--reason", default="", help="A reason, recorded on chain.")
def vote(network_choice: str, account_alias: str | None, proposal_id: int, support: str, reason: str) -> None:
    """Vote for, against or abstain on a proposal, with the votes held at its snapshot."""
    with script_session(network_choice, account_alias, ()) as w:
        governor, _ = _require_governance(w)
        proposal = _proposal_of(w, governor, proposal_id)
        click.echo(proposal.words(_known_contracts(w)))
        state = STATES[int(governor.state(proposal_id))]
        if state != "Active":
            raise UserError(f"proposal {proposal_id} is {state}: votes are cast while it is Active")
        if governor.hasVoted(proposal_id, w["account"]):
            raise UserError(f"{w['account'].address} has voted on proposal {proposal_id} already")
        if reason:
            tx = governor.castVoteWithReason(proposal_id, SUPPORT[support], reason, sender=w["account"])
        else:
            tx = governor.castVote(proposal_id, SUPPORT[support], sender=w["account"])
        weight = int(tx.decode_logs(governor.VoteCast)[0].weight)
        click.echo(f"voted {support} on {proposal_id} with {format_pha(weight)} of votes")
        if weight == 0:
            click.echo("(no votes at the snapshot: delegate before a proposal's snapshot to vote on it)")


@cli.command("queue")
@network_option
@account_option
@click.argument("proposal_id", type=int)
def queue(network_choice: str, account_alias: str | None, proposal_id: int) -> None:
    """Queue a succeeded proposal in the timelock."""
    with script_session(network_choice, account_alias, ()) as w:
        governor, _ = _require_governance(w)
        proposal = _proposal_of(w, governor, proposal_id)
        state = STATES[int(governor.state(proposal_id))]
        if state != "Succeeded":
            raise UserError(f"proposal {proposal_id} is {state}: only a Succeeded proposal is queued")
        proposal.queue(governor, w["account"])
        click.echo(
            f"queued {proposal_id}: executable from unix time {int(governor.proposalEta(proposal_id))} "
            f"(`ape run governance execute {proposal_id}`)"
        )


@cli.command("execute")
@network_option
@account_option
@click.argument("proposal_id", type=int)
def execute(network_choice: str, account_alias: str | None, proposal_id: int) -> None:
    """Execute a queued proposal once the timelock delay is over (anyone may)."""
    from ape import chain

    with script_session(network_choice, account_alias, ()) as w:
        governor, _ = _require_governance(w)
        proposal = _proposal_of(w, governor, proposal_id)
        click.echo(proposal.words(_known_contracts(w)))
        state = STATES[int(governor.state(proposal_id))]
        if state != "Queued":
            raise UserError(f"proposal {proposal_id} is {state}: only a Queued proposal is executed")
        eta = int(governor.proposalEta(proposal_id))
        now = int(chain.blocks.head.timestamp)
        if now < eta:
            raise UserError(
                f"proposal {proposal_id} is executable from unix time {eta}, {eta - now} s from now"
            )
        proposal.execute(governor, w["account"])
        click.echo(f"executed {proposal_id}")


@cli.command("delegate-votes")
@network_option
@account_option
@click.option("--to", "delegatee", type=ADDRESS, default=None, help="Who votes with your PHA (default: you).")
def delegate_votes(network_choice: str, account_alias: str | None, delegatee: str | None) -> None:
    """Delegate your PHA token votes and your staked PHA votes (every pool you stake in)."""
    with script_session(network_choice, account_alias, ("PHAToken", "Staking")) as w:
        token, staking, account = w["PHAToken"], w["Staking"], w["account"]
        to = delegatee or str(account.address)
        count = int(staking.poolCount())
        pools = [p for p in range(1, count + 1) if int(staking.sharesOf(p, account)) > 0]
        limit = int(staking.MAX_SYNC_BATCH())
        if len(pools) > limit:
            raise UserError(f"you stake in {len(pools)} pools; delegate-votes counts at most {limit} at once")
        if str(token.delegates(account)).lower() != to.lower():
            token.invoke_transaction("delegate", to, sender=account)
        staking.delegateStakedVotes(to, pools, sender=account)
        click.echo(
            f"token votes ({format_pha(int(token.balanceOf(account)))}) and staked votes "
            f"({format_pha(int(staking.stakedVoteUnits(account)))} in {len(pools)} pool(s)) delegated to {to}"
        )
