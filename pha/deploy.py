"""Deploy the whole stack with Ape, or attach to a deployment whose code is still current.

The stack is a list of `Step`s (one contract each, constructor arguments computed from the
steps before it) followed by idempotent wiring functions (roles, links). Later components
add their step and their wiring here; `scripts/deploy.py`, the demo, the tests and the bench
all go through `deploy_stack`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address

from pha.escrow.spec import ZERO_ADDRESS
from pha.manifest import DeployedContract, Manifest, ManifestError, load_manifest, save_manifest
from pha.paths import ROOT

log = logging.getLogger(__name__)

# The OP-stack L2StandardBridge predeploy (same address on Base, OP Mainnet and their testnets).
L2_STANDARD_BRIDGE = "0x4200000000000000000000000000000000000010"
# PHA on Ethereum mainnet: the remote token of the L2 PHA.
L1_PHA = "0x6c5bA91642F10282b576d91922Ae6448C9d52f4E"


@dataclass(frozen=True)
class MigratorParams:
    """The Migrator's deploy-time snapshot commitment (from `ape run migrate build`)."""

    root: str
    total: int
    count: int
    closes_at: int
    operator: str
    predecessor: str = "0x" + "00" * 20
    """The Migrator this one replaces (its claimed leaves stay claimed); zero for the first."""


@dataclass(frozen=True)
class GovernanceParams:
    """PHAGovernor and PHATimelock settings. Voting times count blocks (PHAToken's clock); the
    defaults assume 2-second blocks (Base, OP, Phala L2)."""

    voting_delay: int = 43_200
    """Blocks from a proposal to its vote snapshot (1 day): time to delegate, and to see it coming."""
    voting_period: int = 302_400
    """Blocks the vote lasts (7 days)."""
    proposal_threshold: int = 100_000 * 10**18
    """Votes (wei of PHA) needed to propose."""
    quorum_percent: int = 4
    """Percent of the PHA supply at the snapshot that must vote for or abstain."""
    timelock_delay: int = 2 * 86_400
    """Seconds between queueing a passed proposal and executing it."""

    @classmethod
    def devnet(cls) -> GovernanceParams:
        """Short settings for local chains: a vote of 20 blocks, a 60 s timelock, threshold 1 PHA."""
        return cls(
            voting_delay=1, voting_period=20, proposal_threshold=10**18, quorum_percent=4, timelock_delay=60
        )

    def __post_init__(self) -> None:
        if self.voting_period < 1:
            raise ValueError("voting period must be at least 1 block")
        if not 0 <= self.quorum_percent <= 100:
            raise ValueError(f"quorum {self.quorum_percent}% is not between 0 and 100")
        if self.voting_delay < 0 or self.timelock_delay < 0 or self.proposal_threshold < 0:
            raise ValueError("governance delays and threshold cannot be negative")


GOVERNANCE_MODES = ("timelock", "account")
"""`timelock`: PHAGovernor + PHATimelock govern (the default on public networks); `account`: one
governance account holds every admin role (the local default, for the devnet demo and tests)."""


def governance_defaults(local: bool, mode: str | None = None) -> tuple[str, GovernanceParams]:
    """The governance mode (`mode` if given) and its settings for a chain: on local chains a
    governance account and the short devnet settings; everywhere else the timelock and the
    public settings. Public networks never default to a governance account."""
    return (mode or ("account" if local else "timelock")), (
        GovernanceParams.devnet() if local else GovernanceParams()
    )


@dataclass
class DeployConfig:
    """Parameters of a deployment that are not code."""

    admin: str
    """Governance account (mode `account`): receives every admin role. In mode `timelock` the
    deployer holds the roles only while wiring, then hands them to the timelock."""
    governance: str = "account"
    """One of GOVERNANCE_MODES. `ape run deploy` defaults to `timelock` on every non-local network."""
    governance_params: GovernanceParams = field(default_factory=GovernanceParams)
    guardian: str | None = None
    """Mode `timelock` only: may revoke measurements, pause migration and cancel queued
    proposals, nothing else (docs/governance.md)."""
    bridge: str = L2_STANDARD_BRIDGE
    remote_token: str = L1_PHA
    treasury: str | None = None
    """Receives protocol fees and slashed stake; defaults to the governance (`admin`, or the timelock)."""
    dev_verifier: bool = False
    """Deploy the development quote verifier (simulated quotes). Local chain ids only
    (`pha.chains.LOCAL_CHAIN_IDS`, the devnet's included): its constructor reverts elsewhere and
    there is no opt-in."""
    attesters: list[str] = field(default_factory=list)
    """Committee attesters; the committee verifier is deployed only when some are given."""
    threshold: int = 1
    attestation_validity: int = 7 * 86_400
    max_verdict_age: int = 86_400
    escrow_fee_bps: int = 100
    """JobEscrow protocol fee, bps of (payment - relay fee); at most 1,000."""
    escrow_slash_bps: int = 1_000
    """JobEscrow slash of a missed claimed deadline, bps of the job's payment; at most 5,000."""
    migrator: MigratorParams | None = None
    """Only `ape run migrate deploy --snapshot` knows these; without them the Migrator step is skipped."""

    def __post_init__(self) -> None:
        for name in ("admin", "bridge", "remote_token", "treasury", "guardian"):
            value = getattr(self, name)
            if value is not None and not is_address(value):
                raise ValueError(f"{name.replace('_', '-')} {value!r} is not an address")
        if self.governance not in GOVERNANCE_MODES:
            raise ValueError(f"governance {self.governance!r} is not one of {', '.join(GOVERNANCE_MODES)}")
        if self.guardian is not None and self.governance != "timelock":
            raise ValueError("a guardian is for timelock governance only")
        self.guardian = to_checksum_address(self.guardian) if self.guardian else None
        self.admin = to_checksum_address(self.admin)
        self.bridge = to_checksum_address(self.bridge)
        self.remote_token = to_checksum_address(self.remote_token)
        if self.treasury is not None or self.governance == "account":
            self.treasury = to_checksum_address(self.treasury or self.admin)
        self.attesters = committee(self.attesters, self.threshold)


def committee(attesters: list[str], threshold: int) -> list[str]:
    """A committee's attesters checksummed and sorted (as the verifier holds them); ValueError
    for a non-address, a duplicate or a threshold outside 1..len(attesters)."""
    checked = []
    for a in attesters:
        if not is_address(a):
            raise ValueError(f"attester {a!r} is not an address")
        checked.append(to_checksum_address(a))
    if len(set(checked)) != len(checked):
        duplicate = next(a for a in checked if checked.count(a) > 1)
        raise ValueError(f"attester {duplicate} is given twice")
    if checked and not 1 <= threshold <= len(checked):
        raise ValueError(f"threshold {threshold} is not between 1 and {len(checked)} attesters")
    return sorted(checked, key=lambda a: int(a, 16))


@dataclass
class DeployContext:
    """What a step sees: the configuration, the deployer and what is deployed so far."""

    config: DeployConfig
    deployer: Any
    contracts: dict[str, Any] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return str(self.contracts[name].address)

    @property
    def timelock(self) -> bool:
        return self.config.governance == "timelock"

    @property
    def admin(self) -> str:
        """Who the constructors make admin: the deployer while it wires a timelock deployment."""
        return str(self.deployer.address) if self.timelock else self.config.admin

    @property
    def governance(self) -> str:
        """The final governance: the timelock, or the governance account."""
        return self.address("PHATimelock") if self.timelock else self.config.admin

    @property
    def treasury(self) -> str:
        return self.config.treasury or self.governance


@dataclass(frozen=True)
class Step:
    """Deploy contract `name` (an Ape project contract) with arguments computed from the context."""

    name: str
    args: Callable[[DeployContext], list]
    when: Callable[[DeployConfig], bool] = lambda config: True
    """Deploy this step only when it returns True for the configuration."""


def _token_args(ctx: DeployContext) -> list:
    return [ctx.admin, ctx.config.bridge, ctx.config.remote_token]


class SkipStep(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a step's `args` when this deployment does not include it (its inputs are not given).

    The step's previous deployment is then kept in the manifest if nothing deployed before it
    changed in this call (so re-running `ape run deploy` keeps the Migrator).
    """


def _migrator_args(ctx: DeployContext) -> list:
    params = ctx.config.migrator
    if params is None:
        raise SkipStep
    return [
        ctx.address("PHAToken"),
        params.root,
        params.total,
        params.count,
        params.closes_at,
        ctx.admin,
        to_checksum_address(params.operator),
        to_checksum_address(params.predecessor),
    ]


def _staking_args(ctx: DeployContext) -> list:
    # Staking(IERC20 pha, address admin, address treasury): governance gets DEFAULT_ADMIN_ROLE
    # and SLASHER_ROLE; slashed PHA goes to the treasury.
    return [ctx.address("PHAToken"), ctx.admin, ctx.treasury]


def _log_args(ctx: DeployContext) -> list:
    return [ctx.admin]


def _timelock_args(ctx: DeployContext) -> list:
    # TimelockController(minDelay, proposers, executors, admin): the governor becomes proposer
    # and anyone executor at hand-over; the deployer is admin only until then.
    return [ctx.config.governance_params.timelock_delay, [], [], str(ctx.deployer.address)]


def _votes_args(ctx: DeployContext) -> list:
    return [ctx.address("PHAToken"), ctx.address("Staking")]


def _governor_args(ctx: DeployContext) -> list:
    g = ctx.config.governance_params
    return [
        ctx.address("PHAVotes"),
        ctx.address("PHATimelock"),
        g.voting_delay,
        g.voting_period,
        g.proposal_threshold,
        g.quorum_percent,
    ]


def _registry_args(ctx: DeployContext) -> list:
    c = ctx.config
    return [
        ctx.admin,
        ctx.address("Staking"),
        ctx.address("AttestationLog"),
        c.attestation_validity,
        c.max_verdict_age,
    ]


def _dev_verifier_args(ctx: DeployContext) -> list:
    from pha.quote.dev import DEV_ADDRESS

    # Ownable2Step verifiers are owned by the final governance from the start: their wiring is
    # on the registry's side, and a two-step transfer to a timelock would need a timelocked accept.
    return [ctx.governance, DEV_ADDRESS, ctx.config.max_verdict_age]


def _committee_args(ctx: DeployContext) -> list:
    c = ctx.config
    return [ctx.governance, c.attesters, c.threshold, c.attestation_validity]


def _escrow_args(ctx: DeployContext) -> list:
    c = ctx.config
    return [
        ctx.admin,
        ctx.address("PHAToken"),
        ctx.address("Staking"),
        ctx.address("WorkerRegistry"),
        ctx.address("AttestationLog"),
        ctx.treasury,
        c.escrow_fee_bps,
        c.escrow_slash_bps,
    ]


def _timelocked(config: DeployConfig) -> bool:
    return config.governance == "timelock"


STEPS: list[Step] = [
    Step("PHATimelock", _timelock_args, when=_timelocked),
    Step("PHAToken", _token_args),
    Step("Migrator", _migrator_args),
    Step("Staking", _staking_args),
    Step("AttestationLog", _log_args),
    Step("WorkerRegistry", _registry_args),
    Step("JobEscrow", _escrow_args),
    Step("DevQuoteVerifier", _dev_verifier_args, when=lambda c: c.dev_verifier),
    Step("CommitteeQuoteVerifier", _committee_args, when=lambda c: bool(c.attesters)),
    Step("PHAVotes", _votes_args, when=_timelocked),
    Step("PHAGovernor", _governor_args, when=_timelocked),
]


def _is_admin(ctx: DeployContext, contract: Any) -> bool:
    if contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), ctx.deployer.address):
        return True
    log.warning(
        "%s: the deployer is not governance; wire it yourself (see README, 'Deploying to Base / OP')",
        contract.contract_type.name,
    )
    return False


def grant_role(ctx: DeployContext, target: str, role_name: str, grantee: str) -> None:
    """Grant `role_name` on contract `target` to contract `grantee`, if both are deployed (idempotent)."""
    contract, holder = ctx.contracts.get(target), ctx.contracts.get(grantee)
    if contract is None or holder is None:
        return
    role = getattr(contract, role_name)()
    if contract.hasRole(role, holder.address) or not _is_admin(ctx, contract):
        return
    contract.grantRole(role, holder.address, sender=ctx.deployer)
    log.info("%s: %s granted to %s %s", target, role_name, grantee, holder.address)


MIGRATION_SCALE = 10**6
"""Planck (12 decimals) to wei (18): `Migrator.SCALE`."""


def _wire_migrator_minter(ctx: DeployContext) -> None:
    """The migrator mints through the token's MINTER_ROLE, under the token's migration cap.

    First the cap, if the token has none yet: what MINTER_ROLE already minted (nothing on a
    public chain; test funding on a local one) plus this snapshot's total in wei. Once set, the
    token only lets it be lowered, so a replacement migrator shares it. Then the role (once;
    skipped after `close()`): the token revokes it from the previous holder (a replaced
    Migrator) in the same call, and never grants it again to a retired one.
    """
    if "Migrator" not in ctx.contracts:
        return
    token, migrator = ctx.contracts["PHAToken"], ctx.contracts["Migrator"]
    role = token.MINTER_ROLE()
    if migrator.closed() or token.hasRole(role, migrator.address):
        return
    if token.pastMinter(migrator.address):
        log.warning(
            "Migrator %s lost MINTER_ROLE before (replaced or revoked): the token never grants it "
            "again; deploy a replacement (`ape run migrate deploy --replace`)",
            migrator.address,
        )
        return
    if not token.hasRole(token.DEFAULT_ADMIN_ROLE(), ctx.deployer.address):
        log.warning(
            "from the token admin: setMigrationCap(%d) if unset, then grant MINTER_ROLE to the Migrator %s",
            int(token.migrationMinted()) + int(migrator.SNAPSHOT_TOTAL()) * MIGRATION_SCALE,
            migrator.address,
        )
        return
    if int(token.migrationCap()) == 0:
        cap = int(token.migrationMinted()) + int(migrator.SNAPSHOT_TOTAL()) * MIGRATION_SCALE
        token.setMigrationCap(cap, sender=ctx.deployer)
        log.info("PHAToken: migration cap set to %d wei (only lowered from now on)", cap)
    token.grantRole(role, migrator.address, sender=ctx.deployer)
    log.info("PHAToken: MINTER_ROLE granted to Migrator %s", migrator.address)


def _wire_staking_slashers(ctx: DeployContext) -> None:
    grant_role(ctx, "Staking", "SLASHER_ROLE", "JobEscrow")


def _wire_staking_registry(ctx: DeployContext) -> None:
    """Staking counts workers for, and reports backing flips to, the registry (set once)."""
    staking, registry = ctx.contracts.get("Staking"), ctx.contracts.get("WorkerRegistry")
    if staking is None or registry is None or int(staking.registry(), 16) != 0:
        return
    if not _is_admin(ctx, staking):
        log.warning("Staking: set the registry %s from the staking admin", registry.address)
        return
    staking.setRegistry(registry.address, sender=ctx.deployer)
    log.info("Staking: registry set to %s", registry.address)


def _wire_staking_ledgers(ctx: DeployContext) -> None:
    """Staking takes the escrow's pool ledgers before any change to a pool's shares, slash or
    commission. A redeployed escrow replaces the current one, which stays the former ledger
    holder (its open jobs may still fill its ledgers) until governance clears it."""
    staking, escrow = ctx.contracts.get("Staking"), ctx.contracts.get("JobEscrow")
    if staking is None or escrow is None or int(staking.registry(), 16) == 0:
        return
    current, former = (str(a) for a in staking.rewardLedgers())
    if current.lower() == escrow.address.lower():
        return
    former = current if int(current, 16) != 0 else former
    if former.lower() == escrow.address.lower():
        former = ZERO_ADDRESS
    if not _is_admin(ctx, staking):
        log.warning("Staking: governance must call setRewardLedgers(%s, %s)", escrow.address, former)
        return
    staking.setRewardLedgers(escrow.address, former, sender=ctx.deployer)
    log.info("Staking: reward ledgers set to escrow %s (former %s)", escrow.address, former)


def _wire_log_writers(ctx: DeployContext) -> None:
    """The log's writers: the registry (attestations) and the escrow (results). A redeployed
    escrow replaces the current one, which stays a (former) writer so its open jobs can still be
    settled; governance clears it once it has none (README, "Deploying to Base / OP")."""
    log_contract = ctx.contracts.get("AttestationLog")
    if log_contract is None:
        return
    registry, escrow = ctx.contracts.get("WorkerRegistry"), ctx.contracts.get("JobEscrow")
    current = (str(log_contract.registry()), str(log_contract.escrow()), str(log_contract.formerEscrow()))
    wanted_registry = registry.address if registry is not None else current[0]
    wanted_escrow = escrow.address if escrow is not None else current[1]
    if (wanted_registry.lower(), wanted_escrow.lower()) == (current[0].lower(), current[1].lower()):
        return
    replaced = int(current[1], 16) != 0 and current[1].lower() != wanted_escrow.lower()
    former = current[1] if replaced else current[2]
    if not _is_admin(ctx, log_contract):
        return
    log_contract.setWriters(wanted_registry, wanted_escrow, former, sender=ctx.deployer)
    log.info(
        "AttestationLog: writers set to registry %s, escrow %s (former escrow %s)",
        wanted_registry,
        wanted_escrow,
        former,
    )


def _wire_verifiers(ctx: DeployContext) -> None:
    """Allow-list every deployed verifier in the registry (idempotent)."""
    registry = ctx.contracts.get("WorkerRegistry")
    if registry is None:
        return
    for name in ("DevQuoteVerifier", "CommitteeQuoteVerifier", "AutomataQuoteVerifier"):
        verifier = ctx.contracts.get(name)
        if verifier is None or registry.isVerifier(verifier.address) or not _is_admin(ctx, registry):
            continue
        registry.setVerifier(verifier.address, True, sender=ctx.deployer)
        log.info("WorkerRegistry: verifier %s %s allowed", name, verifier.address)


ADMINISTERED = ("PHAToken", "Migrator", "Staking", "AttestationLog", "WorkerRegistry", "JobEscrow")
"""The AccessControl contracts whose DEFAULT_ADMIN_ROLE governance holds."""
GUARDED = {"WorkerRegistry": "revokeMeasurement", "Migrator": "pause"}
"""Where the guardian holds GUARDIAN_ROLE, and the one function it opens."""
ANYONE = ZERO_ADDRESS
"""TimelockController's EXECUTOR_ROLE holder meaning "anyone may execute a ready operation"."""


def _grant(contract: Any, role: bytes, account: str, sender: Any) -> None:
    if not contract.hasRole(role, account):
        contract.grantRole(role, account, sender=sender)


def _wire_timelock(ctx: DeployContext) -> None:
    """Hand the stack to the timelock (mode `timelock`), then renounce every role of the deployer.

    The timelock gets DEFAULT_ADMIN_ROLE of every AccessControl contract (and Staking's
    SLASHER_ROLE, which governance holds); the governor proposes and cancels on the timelock and
    anyone executes; the guardian, if any, gets GUARDIAN_ROLE where it exists and nothing on the
    timelock (a canceller could veto every proposal, including the one removing it).
    Idempotent: a later run finds the deployer without roles and does nothing.
    """
    if not ctx.timelock:
        return
    timelock, governor = ctx.contracts["PHATimelock"], ctx.contracts["PHAGovernor"]
    me = str(ctx.deployer.address)
    tl = str(timelock.address)
    if not timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), me):
        return
    deployer = ctx.deployer
    guardian = ctx.config.guardian
    for name in ADMINISTERED:
        contract = ctx.contracts.get(name)
        if contract is None or not contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), me):
            continue
        _grant(contract, contract.DEFAULT_ADMIN_ROLE(), tl, deployer)
        if name == "Staking":
            _grant(contract, contract.SLASHER_ROLE(), tl, deployer)
        if guardian and name in GUARDED:
            _grant(contract, contract.GUARDIAN_ROLE(), guardian, deployer)
    for role in (timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE()):
        _grant(timelock, role, str(governor.address), deployer)
    _grant(timelock, timelock.EXECUTOR_ROLE(), ANYONE, deployer)
    for name in ADMINISTERED:
        contract = ctx.contracts.get(name)
        if contract is None:
            continue
        roles = [contract.DEFAULT_ADMIN_ROLE()]
        if name == "Staking":
            roles.insert(0, contract.SLASHER_ROLE())
        if name == "PHAToken":
            roles.insert(0, contract.MINTER_ROLE())
        for role in roles:
            if contract.hasRole(role, me):
                contract.renounceRole(role, me, sender=deployer)
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), me, sender=deployer)
    log.info(
        "governance handed to PHATimelock %s (proposer PHAGovernor %s); deployer renounced",
        tl,
        governor.address,
    )


WIRING: list[Callable[[DeployContext], None]] = [
    _wire_migrator_minter,
    _wire_staking_slashers,
    _wire_staking_registry,
    _wire_staking_ledgers,
    _wire_log_writers,
    _wire_verifiers,
    _wire_timelock,
]


def git_commit() -> str:
    """The commit the code was deployed from ("-dirty" when the tree has local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def bytecode_hash(container: Any) -> str:
    """keccak256 of a project contract's compiled creation code."""
    code = container.contract_type.deployment_bytecode.bytecode or "0x"
    return "0x" + keccak(hexstr=code).hex()


def code_hash_at(provider: Any, address: str) -> str:
    """keccak256 of the runtime code at `address` (of empty code when nothing is there)."""
    return "0x" + keccak(bytes(provider.get_code(address))).hex()


def _normalise(args: list) -> list:
    """Constructor arguments as the manifest records them (JSON): addresses and hashes as strings,
    numbers and flags as they are, lists (the committee's attesters) element by element."""
    return [_normalise_one(a) for a in args]


def _normalise_one(arg: Any) -> Any:
    if isinstance(arg, int | bool):
        return arg
    if isinstance(arg, list | tuple):
        return [_normalise_one(a) for a in arg]
    return str(arg)


def _still_current(entry: DeployedContract | None, container: Any, args: list, provider: Any) -> bool:
    return (
        entry is not None
        and entry.bytecode_hash == bytecode_hash(container)
        and entry.args == args
        and entry.code_hash == code_hash_at(provider, entry.address)
        and entry.code_hash != "0x" + keccak(b"").hex()
    )


def _refuse_after_handover(ctx: DeployContext, name: str) -> None:
    """Once the timelock governs (the deployer renounced its admin), a new contract would be the
    deployer's (constructors make it admin while wiring) or could not be wired in (the deployer
    holds no role left): refuse; such a change is a governance proposal."""
    timelock = ctx.contracts.get("PHATimelock")
    if timelock is None or timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), str(ctx.deployer.address)):
        return
    from pha.cli import UserError

    raise UserError(
        f"{name} would be deployed anew, but PHATimelock {timelock.address} governs this deployment "
        "(the deployer renounced its roles): deploy and wire a new contract by a governance proposal"
    )


def deploy_stack(
    deployer: Any,
    config: DeployConfig,
    path: Path,
    fresh: bool = False,
    network_name: str | None = None,
) -> tuple[Manifest, DeployContext, list[str]]:
    """Deploy (or attach to) every step, wire them, write the manifest.

    Returns the manifest, the context with Ape contract instances, and the names deployed anew
    in this call (empty when everything was attached).
    """
    from ape import chain, project

    provider = chain.provider
    previous: Manifest | None = None
    if not fresh and path.exists():
        try:
            previous = load_manifest(path)
        except ManifestError as error:
            log.warning("ignoring unreadable manifest: %s", error)
        if previous is not None and previous.chain_id != provider.chain_id:
            log.warning(
                "manifest %s is for chain %d, not %d: deploying anew",
                path,
                previous.chain_id,
                provider.chain_id,
            )
            previous = None

    ctx = DeployContext(config=config, deployer=deployer)
    manifest = Manifest(
        network=network_name or provider.network_choice,
        chain_id=provider.chain_id,
        deployer=str(deployer.address),
        git_commit=git_commit(),
    )
    deployed: list[str] = []
    for step in STEPS:
        if not step.when(config):
            continue
        container = getattr(project, step.name)
        entry = previous.contracts.get(step.name) if previous else None
        try:
            args = _normalise(step.args(ctx))
        except SkipStep:
            if entry is not None and not deployed and _still_current(entry, container, entry.args, provider):
                ctx.contracts[step.name] = container.at(entry.address)
                manifest.contracts[step.name] = entry
                log.info("%s: kept at %s", step.name, entry.address)
            continue
        if entry is not None and _still_current(entry, container, args, provider):
            ctx.contracts[step.name] = container.at(entry.address)
            manifest.contracts[step.name] = entry
            log.info("%s: attached at %s", step.name, entry.address)
            continue
        _refuse_after_handover(ctx, step.name)
        instance = deployer.deploy(container, *args)
        receipt = instance.creation_metadata.receipt if instance.creation_metadata else None
        tx_hash = str(instance.txn_hash.hex() if isinstance(instance.txn_hash, bytes) else instance.txn_hash)
        block = receipt.block_number if receipt is not None else chain.blocks.head.number
        ctx.contracts[step.name] = instance
        manifest.contracts[step.name] = DeployedContract(
            address=str(instance.address),
            tx_hash=tx_hash if tx_hash.startswith("0x") else "0x" + tx_hash,
            block=int(block),
            code_hash=code_hash_at(provider, instance.address),
            bytecode_hash=bytecode_hash(container),
            args=args,
        )
        deployed.append(step.name)
        log.info("%s: deployed at %s", step.name, instance.address)

    for wire in WIRING:
        wire(ctx)
    if previous is not None and not deployed:
        manifest.git_commit = previous.git_commit
    save_manifest(manifest, path)
    return manifest, ctx, deployed
