"""Operator watch: what to warn about, and whether to renew, for one registered worker.

Pure decisions over what the registry says (`WorkerView`, read by the caller at chain time
`now`); reading the chain, the metrics and the renewal transaction live at the edges
(`relayer/watch.py`, `pha-relayer watch`). Nothing here does I/O, so every rule is tested
without a chain (tests/registry/test_watch_decide.py).

Times are the chain's (block timestamps), in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pha.fmt import format_duration, format_time, iso
from pha.quote.tcb import TcbStatus
from pha.registry.reasons import reason_hint, reason_name

ELIGIBLE, NOT_REGISTERED, INVALIDATED = 0, 1, 2
ATTESTATION_EXPIRED, TCB_BELOW_POLICY = 6, 7
# A fresh quote can cure these (the operator's renewal); the others need governance or stake.
RENEWABLE = frozenset({ELIGIBLE, ATTESTATION_EXPIRED, TCB_BELOW_POLICY})
OUT_OF_DATE = frozenset({TcbStatus.OutOfDate, TcbStatus.OutOfDateConfigurationNeeded})


@dataclass(frozen=True)
class WorkerView:
    """One worker as the registry sees it (workerInfo + policyOf + explain) at chain time `now`."""

    worker: str
    now: int
    registered: bool
    reason: int
    """registry.explain's verdict as IWorkerRegistry.Reason (0 = eligible)."""
    reason_text: str = ""
    pool_id: int = 0
    measurement_id: bytes = bytes(32)
    attested_until: int = 0
    tcb_status: int = 0
    max_tcb_status: int = 0
    out_of_date_grace: int = 0
    measurement_expires_at: int = 0
    """The measurement's policy expiry (0: never)."""
    verified_at: int = 0
    """When the evidence the registry holds was verified (workerInfo's verifiedAt; 0: unknown)."""
    collateral_issued_at: int = 0
    """Issue date of the oldest part (TCB info, QE identity, PCK CRL) of the collateral the next
    renewal would use (`pha.quote.verify.oldest_collateral`; 0: unknown, no warning)."""

    @property
    def lifetime(self) -> int:
        """How long the current attestation lasts from verification to its end (0: unknown)."""
        return max(0, self.attested_until - self.verified_at) if self.verified_at else 0

    @property
    def eligible(self) -> bool:
        return self.reason == ELIGIBLE

    @property
    def in_grace(self) -> bool:
        """An OutOfDate platform admitted inside the measurement's grace window: the registry capped
        its attestation at the window's close, and no renewal with the same TCB can pass it."""
        return (
            self.tcb_status > self.max_tcb_status
            and self.tcb_status in OUT_OF_DATE
            and self.out_of_date_grace > 0
        )

    @property
    def eligible_until(self) -> int:
        """When the worker stops being eligible with nothing done: its attestation's end or its
        measurement's expiry, whichever comes first."""
        if self.measurement_expires_at and self.measurement_expires_at < self.attested_until:
            return self.measurement_expires_at
        return self.attested_until


@dataclass(frozen=True)
class Thresholds:
    """When to warn and when to renew (seconds before the event)."""

    expiry_warn_s: int = 24 * 3600
    grace_warn_s: int = 7 * 24 * 3600
    renew_before_s: int = 12 * 3600
    """Renew (where configured) when the attestation ends sooner than this; keep it well below the
    registry's attestationValidity, or every renewal is due again at once."""
    renew_retry_s: int = 600
    """After a renewal attempt, wait this long before the next one for the same worker."""
    collateral_max_age_s: int = 7 * 24 * 3600
    """The attesters' maximum collateral age (`pha-quote serve --max-collateral-age-days`)."""
    collateral_warn_s: int = 24 * 3600
    """Warn this long before the collateral reaches that age."""

    def for_lifetime(self, lifetime: int) -> Thresholds:
        """These thresholds for an attestation that lasts `lifetime` seconds in all: the expiry
        warning at most half of it before the end and the renewal at most a quarter, so that a
        freshly verified worker is neither flagged nor renewed at once whatever the verifier's
        validity (a day on the devnet, shorter than the 24 h default warning)."""
        if lifetime <= 0:
            return self
        return replace(
            self,
            expiry_warn_s=min(self.expiry_warn_s, lifetime // 2),
            renew_before_s=min(self.renew_before_s, lifetime // 4),
        )


@dataclass(frozen=True)
class Alert:
    kind: str
    """expiry | measurement_expiry | grace | ineligible | collateral"""
    message: str


@dataclass(frozen=True)
class Assessment:
    view: WorkerView
    seconds_to_expiry: int
    """Until the worker stops being eligible by time alone (0: already past)."""
    seconds_to_grace_close: int | None
    """Until the TCB grace window closes (None: the platform is not relying on a grace window)."""
    warnings: tuple[Alert, ...] = field(default_factory=tuple)
    renew: bool = False
    renew_note: str = ""
    """Why a renewal is or is not attempted (for the log)."""


def assess(
    view: WorkerView,
    thresholds: Thresholds,
    renew_configured: bool = False,
    last_renew_attempt: int | None = None,
) -> Assessment:
    """Warnings for one worker and whether to renew it now (`last_renew_attempt`: chain time).

    The thresholds are capped for the worker's attestation lifetime (`Thresholds.for_lifetime`)."""
    t, now = thresholds.for_lifetime(view.lifetime), view.now
    if not view.registered:
        warning = Alert("ineligible", "not registered (deregistered, or its key was rotated)")
        return Assessment(view, 0, None, (warning,), False, "not registered")
    left = max(0, view.eligible_until - now)
    grace_left = max(0, view.attested_until - now) if view.in_grace else None
    warnings: list[Alert] = []
    if not view.eligible:
        reason, hint = reason_name(view.reason), reason_hint(view.reason)
        message = f"ineligible: {reason} ({view.reason_text or reason})" + (f"; {hint}" if hint else "")
        warnings.append(Alert("ineligible", message))
    else:
        measurement_first = view.eligible_until < view.attested_until
        if grace_left is not None and grace_left < t.grace_warn_s:
            warnings.append(
                Alert(
                    "grace",
                    f"TCB {TcbStatus(view.tcb_status).name} is below the policy "
                    f"({TcbStatus(view.max_tcb_status).name}) and accepted only until the grace window "
                    f"closes in {format_duration(grace_left)} ({iso(view.attested_until)}): update the "
                    "platform's TCB (microcode / firmware), then renew",
                )
            )
        elif left < t.expiry_warn_s:
            if measurement_first:
                warnings.append(
                    Alert(
                        "measurement_expiry",
                        f"measurement 0x{view.measurement_id.hex()[:16]}… expires in {format_duration(left)} "
                        f"({iso(view.eligible_until)}): move the worker to a newer allowed measurement",
                    )
                )
            else:
                warnings.append(
                    Alert(
                        "expiry",
                        f"attestation expires in {format_duration(left)} ({iso(view.attested_until)})",
                    )
                )
    collateral = collateral_alert(view.collateral_issued_at, now, t)
    if collateral is not None:
        warnings.append(collateral)
    renew, note = _renewal(view, t, renew_configured, last_renew_attempt)
    return Assessment(view, left, grace_left, tuple(warnings), renew, note)


def collateral_alert(issued_at: int, now: int, t: Thresholds) -> Alert | None:
    """A warning once the collateral is within `collateral_warn_s` of the attesters' maximum age
    (their renewals would then be refused), None before or when the issue date is unknown."""
    if not issued_at:
        return None
    refused_from = issued_at + t.collateral_max_age_s
    if now < refused_from - t.collateral_warn_s:
        return None
    if now > refused_from:
        max_age = format_duration(t.collateral_max_age_s)
        state = f"older than the attesters' {max_age} since {iso(refused_from)}"
    else:
        state = f"refused by the attesters from {format_time(refused_from, now)}"
    return Alert(
        "collateral",
        f"collateral issued {iso(issued_at)} is {format_duration(now - issued_at)} old, {state}: renewals "
        "need fresh collateral (point the attesters at a PCCS, or refresh the collateral file)",
    )


def _renewal(view: WorkerView, t: Thresholds, configured: bool, last_attempt: int | None) -> tuple[bool, str]:
    attestation_left = view.attested_until - view.now
    due = view.reason in RENEWABLE and (view.reason != ELIGIBLE or attestation_left < t.renew_before_s)
    if not due:
        return False, ""
    if not configured:
        return False, "renewal due, not configured (renew: true + the operator key)"
    if last_attempt is not None and view.now - last_attempt < t.renew_retry_s:
        return False, f"renewal due, last attempt {view.now - last_attempt} s ago"
    return True, "renewing"
