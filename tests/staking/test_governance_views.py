"""Governance parameters within hard bounds, backing for workers, constructor checks."""

import ape
import pytest

from tests.conftest import PHA
from tests.staking.conftest import DAY, only_event

ZERO = "0x0000000000000000000000000000000000000000"


def test_constructor__defaults_and_roles(project, gov, treasury, token):
    staking = gov.deploy(project.Staking, token, gov, treasury)
    assert staking.PHA() == token
    assert staking.cooldown() == 7 * DAY
    assert staking.commissionNotice() == 7 * DAY
    assert staking.maxSlashBps() == 1_000
    assert staking.minStakePerWorker() == 1_000 * PHA
    assert staking.treasury() == treasury
    assert staking.hasRole(staking.DEFAULT_ADMIN_ROLE(), gov)
    assert staking.hasRole(staking.SLASHER_ROLE(), gov)
    assert staking.poolCount() == 0


@pytest.mark.parametrize("which", [0, 1, 2])
def test_constructor__zero_address__reverts(project, gov, token, which):
    args = [token, gov, gov]
    args[which] = ZERO
    with ape.reverts(project.Staking.StakingZeroAddress):
        gov.deploy(project.Staking, *args)


@pytest.mark.parametrize(
    ("setter", "getter", "event", "good", "low", "high"),
    [
        ("setCooldown", "cooldown", "CooldownSet", 3 * DAY, DAY - 1, 28 * DAY + 1),
        ("setCommissionNotice", "commissionNotice", "CommissionNoticeSet", 2 * DAY, DAY - 1, 30 * DAY + 1),
        ("setMaxSlashBps", "maxSlashBps", "MaxSlashBpsSet", 2_500, None, 5_001),
        (
            "setMinStakePerWorker",
            "minStakePerWorker",
            "MinStakePerWorkerSet",
            50 * PHA,
            PHA - 1,
            10**7 * PHA + 1,
        ),
    ],
)
def test_parameters__within_bounds_set__outside_revert__others_refused(
    staking, gov, attacker, setter, getter, event, good, low, high
):
    tx = getattr(staking, setter)(good, sender=gov)
    assert getattr(staking, getter)() == good
    assert len(tx.decode_logs(getattr(staking, event))) == 1
    for bad in (low, high):
        if bad is None:
            continue
        with ape.reverts(staking.StakingParameterOutOfBounds):
            getattr(staking, setter)(bad, sender=gov)
    with ape.reverts(staking.AccessControlUnauthorizedAccount):
        getattr(staking, setter)(good, sender=attacker)


def test_set_treasury__governance_sets__zero_and_others_refused(staking, gov, carol, attacker):
    tx = staking.setTreasury(carol, sender=gov)
    assert staking.treasury() == carol
    assert only_event(tx, staking.TreasurySet).treasury == carol
    with ape.reverts(staking.StakingZeroAddress):
        staking.setTreasury(ZERO, sender=gov)
    with ape.reverts(staking.AccessControlUnauthorizedAccount):
        staking.setTreasury(attacker, sender=attacker)


def test_can_add_worker__compares_backing_with_minimum_per_worker(staking, pool_id, alice, stake):
    stake(alice, 2_500 * PHA)
    assert staking.canAddWorker(pool_id, 2)
    assert not staking.canAddWorker(pool_id, 3)
    assert staking.canAddWorker(pool_id, 0)


def test_can_add_worker__counts_queued_stake(staking, pool_id, alice, stake):
    stake(alice, 2_000 * PHA)
    staking.undelegate(pool_id, staking.sharesOf(pool_id, alice), sender=alice)
    assert staking.canAddWorker(pool_id, 2)


def test_can_add_worker__unknown_pool__false(staking):
    assert not staking.canAddWorker(staking.poolCount() + 1, 0)


def test_backing__unknown_pool__zero(staking):
    assert staking.backing(staking.poolCount() + 42) == 0
