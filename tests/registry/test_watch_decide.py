"""The operator watch's decisions (pha.registry.watch), without a chain: what it warns about and
when it renews."""

from pha.quote.tcb import TcbStatus
from pha.registry.watch import (
    ATTESTATION_EXPIRED,
    ELIGIBLE,
    NOT_REGISTERED,
    TCB_BELOW_POLICY,
    Thresholds,
    WorkerView,
    assess,
)

HOUR = 3600
NOW = 1_800_000_000
T = Thresholds(expiry_warn_s=24 * HOUR, grace_warn_s=72 * HOUR, renew_before_s=12 * HOUR, renew_retry_s=600)
MAX_TCB = int(TcbStatus.SWHardeningNeeded)


def view(left_s: int, reason: int = ELIGIBLE, **kw) -> WorkerView:
    values = dict(
        worker="0x" + "ab" * 20, now=NOW, registered=True, reason=reason, pool_id=1,
        measurement_id=bytes(range(32)), attested_until=NOW + left_s, tcb_status=int(TcbStatus.UpToDate),
        max_tcb_status=MAX_TCB,
    )  # fmt: skip
    values.update(kw)
    return WorkerView(**values)


def kinds(a) -> list[str]:
    return [w.kind for w in a.warnings]


def test_assess__far_from_expiry__no_warning_no_renewal():
    a = assess(view(72 * HOUR), T, renew_configured=True)
    assert kinds(a) == [] and not a.renew
    assert a.seconds_to_expiry == 72 * HOUR and a.seconds_to_grace_close is None


def test_assess__expiry_within_warning_window__warns_with_hours_left():
    a = assess(view(20 * HOUR), T)
    assert kinds(a) == ["expiry"]
    assert "expires in 20 h (" in a.warnings[0].message
    assert not a.renew  # 20 h > renew_before (12 h)


def test_assess__near_expiry_and_renew_not_configured__says_renewal_due_but_does_not_renew():
    a = assess(view(5 * HOUR), T, renew_configured=False)
    assert kinds(a) == ["expiry"] and not a.renew
    assert "not configured" in a.renew_note


def test_assess__near_expiry_and_renew_configured__renews():
    a = assess(view(5 * HOUR), T, renew_configured=True)
    assert a.renew and a.renew_note == "renewing"


def test_assess__renewal_attempted_recently__waits_for_the_retry_interval():
    assert not assess(view(5 * HOUR), T, True, last_renew_attempt=NOW - 100).renew
    assert assess(view(5 * HOUR), T, True, last_renew_attempt=NOW - 601).renew


def test_assess__attestation_already_expired__ineligible_with_reason_and_renewable():
    a = assess(view(-10, reason=ATTESTATION_EXPIRED, reason_text="attestation has expired"), T, True)
    assert kinds(a) == ["ineligible"]
    message = a.warnings[0].message
    assert "AttestationExpired" in message and "attestation has expired" in message
    assert a.seconds_to_expiry == 0 and a.renew


def test_assess__measurement_revoked__ineligible_and_no_renewal_even_if_configured():
    a = assess(view(2 * HOUR, reason=4, reason_text="measurement is not allowed"), T, True)
    assert kinds(a) == ["ineligible"] and "MeasurementNotAllowed" in a.warnings[0].message
    assert not a.renew and a.renew_note == ""


def test_assess__not_registered__ineligible_no_renewal():
    a = assess(WorkerView("0x" + "cd" * 20, NOW, False, NOT_REGISTERED), T, True)
    assert kinds(a) == ["ineligible"] and not a.renew


def test_assess__out_of_date_in_grace_window_closing__warns_grace_not_expiry():
    a = assess(view(48 * HOUR, tcb_status=int(TcbStatus.OutOfDate), out_of_date_grace=30 * 86_400), T)
    assert kinds(a) == ["grace"]
    assert a.seconds_to_grace_close == 48 * HOUR
    assert "OutOfDate" in a.warnings[0].message and "closes in 2 d (" in a.warnings[0].message


def test_assess__out_of_date_in_grace_far_from_close__exports_grace_without_warning():
    a = assess(view(100 * HOUR, tcb_status=int(TcbStatus.OutOfDate), out_of_date_grace=30 * 86_400), T)
    assert kinds(a) == [] and a.seconds_to_grace_close == 100 * HOUR


def test_assess__out_of_date_status_accepted_by_policy__not_a_grace_window():
    v = view(100 * HOUR, tcb_status=int(TcbStatus.OutOfDate), max_tcb_status=int(TcbStatus.OutOfDate))
    assert assess(v, T).seconds_to_grace_close is None


def test_assess__grace_removed_by_governance__ineligible_tcb_and_renewal_tried():
    v = view(50 * HOUR, reason=TCB_BELOW_POLICY, tcb_status=int(TcbStatus.OutOfDate), out_of_date_grace=0)
    a = assess(v, T, renew_configured=True)
    assert kinds(a) == ["ineligible"] and "TcbBelowPolicy" in a.warnings[0].message
    assert a.renew  # only a fresh quote from an updated platform brings it back


def test_assess__measurement_expires_before_attestation__measurement_warning_and_no_renewal():
    a = assess(view(72 * HOUR, measurement_expires_at=NOW + 3 * HOUR), T, renew_configured=True)
    assert kinds(a) == ["measurement_expiry"]
    assert a.seconds_to_expiry == 3 * HOUR and not a.renew


def test_assess__fresh_worker_with_a_day_of_evidence__no_warning_under_24h_default():
    # The devnet verifier's verdicts last 24 h; the default warning is 24 h before the end. A
    # worker verified a minute ago must not warn (issue 18: `watch` exited 1 on a fresh worker).
    fresh = view(24 * HOUR - 60, verified_at=NOW - 60)
    a = assess(fresh, Thresholds(), renew_configured=True)
    assert kinds(a) == [] and not a.renew
    # Without the verification time (older registries), the configured thresholds apply as set.
    assert kinds(assess(view(24 * HOUR - 60), Thresholds())) == ["expiry"]


def test_thresholds_for_lifetime__warn_at_half_renew_at_quarter_never_above_configured():
    day = Thresholds().for_lifetime(24 * HOUR)
    assert (day.expiry_warn_s, day.renew_before_s) == (12 * HOUR, 6 * HOUR)
    assert day.grace_warn_s == Thresholds().grace_warn_s  # the grace window is not the lifetime
    week = T.for_lifetime(7 * 24 * HOUR)
    assert (week.expiry_warn_s, week.renew_before_s) == (T.expiry_warn_s, T.renew_before_s)
    assert T.for_lifetime(0) == T


def test_assess__short_lived_evidence__warns_and_renews_in_its_last_half_and_quarter():
    verified = NOW - 2 * HOUR
    # 3 h 50 min of evidence, 1 h 50 min left: in the last half (warn), not the last quarter.
    a = assess(view(110 * 60, verified_at=verified), T, renew_configured=True)
    assert kinds(a) == ["expiry"] and not a.renew
    # 3 h of evidence, 1 h left (a quarter is 45 min): warn only.
    b = assess(view(HOUR, verified_at=verified), T, renew_configured=True)
    assert kinds(b) == ["expiry"] and not b.renew
    # 2 h 20 min of evidence, 20 min left (< a quarter, 35 min): renew.
    c = assess(view(20 * 60, verified_at=verified), T, renew_configured=True)
    assert c.renew and c.renew_note == "renewing"
