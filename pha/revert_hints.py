"""What to do about the contracts' custom errors a person meets through the scripts.

`pha.cli.describe_revert` shows a revert as `Name(args)`; for the errors below it adds the next
step ("governance allows the build first: `ape run governance allow-measurement ...`"). The
names are the contracts' own (a test checks each one exists in the compiled ABIs), so a renamed
error cannot silently lose its hint.
"""

from __future__ import annotations

ALLOW = "`ape run governance allow-measurement --worker-url URL` (governance's account)"

HINTS: dict[str, str] = {
    # registry: registering and renewing workers
    "RegistryMeasurementNotAllowed": (
        f"the worker's build is not allow-listed; governance allows it first: {ALLOW}"
    ),
    "RegistryMeasurementExpired": (
        "the build's policy has expired: run a newer allowed build, or governance re-allows it with"
        " a later --expires-at"
    ),
    "RegistryNotPoolOperator": (
        "only the pool's operator registers its workers: pass --account with the account that ran "
        "`ape run stake open-pool`"
    ),
    "RegistryPoolUnderBacked": (
        "the pool needs more stake for another worker: `ape run stake delegate POOL PHA`"
    ),
    "RegistryBindingMismatch": (
        "the worker's quote binds another chain, registry or pool: start it with `pha-worker serve "
        "--manifest deployments/<network>.json --pool-id POOL`"
    ),
    "RegistryWorkerExists": ("this worker key is registered already: `ape run operator renew` refreshes it"),
    "RegistryUnknownWorker": ("no such worker: register it first (`ape run operator register`)"),
    "RegistryVerifierNotAllowed": (
        "that verifier is not enabled here: `ape run governance set-verifier`, or pass the "
        "--verifier the deployment uses"
    ),
    "RegistryTcbNotAccepted": (
        "the platform's TCB status is below the measurement's policy: update its "
        "microcode/firmware, or governance relaxes the policy (`set-policy --max-tcb`)"
    ),
    "RegistryAdvisoryNotTolerated": (
        "the platform has an Intel advisory the policy does not tolerate: `ape run governance "
        "tolerate-advisory` (governance) or update the platform"
    ),
    "RegistryVerdictExpired": ("the attestation is too old: fetch a fresh one (`ape run operator renew`)"),
    "RegistryEvidenceNotNewer": (
        "renewals need evidence newer than the last one: wait for a fresh quote and retry"
    ),
    "RegistryTeeTypeMismatch": ("the quote's TEE type is not the one the measurement was allowed for"),
    "DevQuoteVerifierChainNotAllowed": (
        "the development verifier exists on local chains only: use --verifier committee (or "
        "automata) on this network"
    ),
    "DevQuoteVerifierNotSimulated": (
        "the dev verifier takes simulated quotes only: use --verifier committee for a real TDX quote"
    ),
    # staking
    "StakingUnknownPool": (
        "no pool with that id: `ape run stake pool-status N` shows one; `ape run stake open-pool` opens one"
    ),
    "StakingNotOperator": ("only the pool's operator may do this: pass --account with the pool's operator"),
    "StakingBelowMinimum": ("below the pool's minimum stake: delegate more"),
    "StakingCooldownNotOver": (
        "the withdrawal request is still cooling down: `ape run stake pool-status POOL --delegator "
        "ADDRESS` shows when it unlocks"
    ),
    "StakingInsufficientShares": (
        "the account has fewer shares than that: `ape run stake pool-status POOL --delegator ADDRESS`"
    ),
    "StakingNothingToClaim": ("nothing is owed yet: pools earn when their workers' jobs settle"),
    "StakingNothingOwed": ("nothing is owed yet: pools earn when their workers' jobs settle"),
    "StakingCommissionTooHigh": ("commission is in basis points, at most the protocol's cap (10000 = 100%)"),
    # escrow and jobs
    "JobEscrowNotClient": (
        "only the job's client may do this: pass --account with the account that posted it"
    ),
    "JobEscrowJobNotOpen": ("the job is no longer open (claimed or ended): `ape run client status JOB`"),
    "JobEscrowDeadlineNotPassed": ("the deadline has not passed yet: `ape run client status JOB` shows it"),
    "JobEscrowIneligible": (
        "no eligible worker runs that measurement: register one, or pick the measurement of one"
    ),
    "JobEscrowRelayFeeAbovePayment": ("the relay fee must be below the payment"),
    "JobEscrowZeroPayment": ("a job needs a payment above 0 PHA"),
    "JobEscrowBadDeadline": (
        "the duration is outside the escrow's bounds (see `ape run client post --help`)"
    ),
    "JobEscrowInputTooLarge": ("the job input is larger than the escrow accepts"),
    # token and access
    "ERC20InsufficientBalance": ("the account has too little PHA (on a development chain: `ape run faucet`)"),
    "ERC20InsufficientAllowance": ("the PHA allowance is too small: approve more, or use --permit"),
    "ERC2612ExpiredSignature": ("the permit's deadline passed before it was mined: retry the command"),
    "ERC2612InvalidSigner": ("the permit was signed by another account than the sender"),
    "AccessControlUnauthorizedAccount": (
        "the account lacks the role: pass --account with governance's account"
    ),
    "OwnableUnauthorizedAccount": (
        "only the contract's owner (governance) may do this: pass --account with it"
    ),
}


def revert_hint(name: str) -> str:
    """What to do about custom error `name` ("" when there is nothing more to say than its name)."""
    return HINTS.get(name, "")
