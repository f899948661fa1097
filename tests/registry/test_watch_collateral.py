"""The operator watch warns before the attesters' collateral age limit refuses the next renewal."""

from pha.registry.watch import ELIGIBLE, Thresholds, WorkerView, assess, collateral_alert

DAY = 86400
NOW = 1_800_000_000
T = Thresholds()


def view(**kw) -> WorkerView:
    return WorkerView(
        worker="0x" + "ab" * 20,
        now=NOW,
        registered=True,
        reason=ELIGIBLE,
        attested_until=NOW + 10 * DAY,
        **kw,
    )


def test_fresh_collateral__no_warning():
    assert collateral_alert(NOW - 5 * DAY, NOW, T) is None
    assert [w.kind for w in assess(view(collateral_issued_at=NOW - 5 * DAY), T).warnings] == []


def test_within_a_day_of_the_max_age__warns_when_it_will_be_refused():
    alert = collateral_alert(NOW - 6 * DAY - 1, NOW, T)
    assert alert is not None and alert.kind == "collateral"
    assert (
        "is 6 d old" in alert.message
        and "refused by the attesters from" in alert.message
        and "(in 23 h 59 min)" in alert.message
    )
    assert collateral_alert(NOW - 6 * DAY + 60, NOW, T) is None  # just outside the warning window


def test_past_the_max_age__says_it_is_too_old():
    alert = collateral_alert(NOW - 8 * DAY, NOW, T)
    assert alert is not None and "older than the attesters' 7 d since" in alert.message
    assert [w.kind for w in assess(view(collateral_issued_at=NOW - 8 * DAY), T).warnings] == ["collateral"]


def test_unknown_issue_date__no_warning_and_configured_limits_apply():
    assert collateral_alert(0, NOW, T) is None
    short = Thresholds(collateral_max_age_s=2 * DAY, collateral_warn_s=DAY // 2)
    assert collateral_alert(NOW - 2 * DAY + DAY // 2 + 1, NOW, short) is None
    assert collateral_alert(NOW - 2 * DAY + DAY // 2, NOW, short) is not None
