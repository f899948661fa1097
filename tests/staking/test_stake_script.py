"""`ape run stake`: the checked actions behind each subcommand, the CLI's one-line errors, and
the deploy step."""

import json
import re

import pytest
from click.testing import CliRunner

from pha.fmt import WIDTH, format_pha
from pha.permit import sign_permit
from pha.staking import actions
from pha.staking.amounts import AmountError, parse_pha, shares_for_assets
from tests.conftest import PHA
from tests.staking.conftest import COOLDOWN


def test_parse_pha__decimals_and_errors():
    assert parse_pha("1.5") == 3 * PHA // 2
    assert parse_pha("0.000000000000000001") == 1
    assert parse_pha("1_000") == 1_000 * PHA
    for bad in ("", "abc", "-1", "0", "1e-19", "nan"):
        with pytest.raises(AmountError):
            parse_pha(bad)


def test_format_pha__exact():
    assert format_pha(1_234_500_000_000_000_000_000) == "1,234.5 PHA"
    assert format_pha(1) == "0.000000000000000001 PHA"
    assert format_pha(0) == "0 PHA"


def test_shares_for_assets__rounds_up_so_the_amount_is_reached():
    shares = shares_for_assets(10**18, 3 * 10**18 + 7, 2 * 10**21)
    assert shares * (3 * 10**18 + 8) // (2 * 10**21 + 1_000) >= 10**18


def test_open_pool_and_status__prints_pool(staking, alice):
    lines = actions.open_pool(staking, alice, 1_500)
    new = staking.poolCount()
    assert lines == [f"opened pool {new} (operator {alice.address}, commission 15%)"]
    status = "\n".join(actions.pool_status(staking, new))
    assert "commission         15%" in status and "backing            0 PHA" in status


def test_sweep_slashed__pays_treasury_and_says_so(staking, token, pool_id, alice, gov, treasury, stake):
    stake(alice, 100 * PHA)
    with pytest.raises(actions.StakeError, match="no slashed PHA is owed"):
        actions.sweep_slashed(staking, alice)
    staking.slash(pool_id, 2 * PHA, b"\x01" * 32, sender=gov)
    before = token.balanceOf(treasury)
    lines = actions.sweep_slashed(staking, alice)
    assert lines == [f"paid 2 PHA of slashed PHA to the treasury {treasury.address}"]
    assert token.balanceOf(treasury) - before == 2 * PHA


def test_sync_backing__reports_state(staking, pool_id, alice):
    assert actions.sync_backing(staking, alice, [pool_id]) == [f"pool {pool_id} is backed (unchanged)"]
    with pytest.raises(actions.StakeError, match="no pool"):
        actions.sync_backing(staking, alice, [staking.poolCount() + 1])


def test_open_pool__commission_too_high__one_line(staking, alice):
    with pytest.raises(actions.StakeError, match=r"commission must be 0\.\.5000"):
        actions.open_pool(staking, alice, 9_000)


def test_delegate__not_enough_pha__says_balance(staking, token, pool_id, alice, fund):
    fund(alice, PHA)
    with pytest.raises(actions.StakeError, match=r"not enough PHA: .* has 1 PHA, needs 2 PHA"):
        actions.delegate(staking, token, alice, pool_id, 2 * PHA)


def test_delegate__approves_then_delegates(staking, token, pool_id, alice, fund):
    fund(alice, 5 * PHA)
    lines = actions.delegate(staking, token, alice, pool_id, 5 * PHA)
    assert lines == [f"delegated 5 PHA to pool {pool_id}: you hold 100.00 % of the pool (≈ 5 PHA)"]
    assert staking.assetsOf(pool_id, alice) >= 5 * PHA - 1


def test_delegate__with_permit__needs_no_approve(staking, token, pool_id, alice, fund):
    fund(alice, 5 * PHA)
    actions.delegate(staking, token, alice, pool_id, 5 * PHA, permit=True)
    assert staking.sharesOf(pool_id, alice) > 0
    assert token.nonces(alice) == 1


def test_delegate__with_permit__after_the_chain_clock_jumps__deadline_is_ahead_of_the_chain(
    staking, token, pool_id, alice, fund, chain
):
    fund(alice, 5 * PHA)
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 90 * 24 * 3600)  # a devnet far ahead
    _, _, _, deadline = sign_permit(token, alice, str(staking.address), PHA)
    assert deadline >= chain.blocks.head.timestamp + 3_600
    actions.delegate(staking, token, alice, pool_id, 5 * PHA, permit=True)
    assert staking.sharesOf(pool_id, alice) > 0


def test_delegate__unknown_pool__one_line(staking, token, alice):
    unknown = staking.poolCount() + 3
    with pytest.raises(actions.StakeError, match=f"no pool {unknown}"):
        actions.delegate(staking, token, alice, unknown, PHA)


def test_undelegate__nothing_staked__one_line(staking, pool_id, alice):
    with pytest.raises(actions.StakeError, match="no active stake in pool"):
        actions.undelegate(staking, alice, pool_id, None)


def test_undelegate__amount__queues_at_least_that(staking, pool_id, alice, stake):
    stake(alice, 10 * PHA)
    lines = actions.undelegate(staking, alice, pool_id, 4 * PHA)
    assert "request 0" in lines[0] and "withdrawable from" in lines[0]
    _, assets = staking.withdrawalRequest(pool_id, alice, 0)
    assert assets >= 4 * PHA


def test_undelegate__more_than_worth__one_line(staking, pool_id, alice, stake):
    stake(alice, PHA)
    with pytest.raises(actions.StakeError, match="worth"):
        actions.undelegate(staking, alice, pool_id, 2 * PHA)


def test_undelegate__leaving_dust__suggests_all(staking, pool_id, alice, stake):
    stake(alice, PHA)
    with pytest.raises(actions.StakeError, match="use --all"):
        actions.undelegate(staking, alice, pool_id, PHA - 10**15)


def test_withdraw__nothing__one_line(staking, pool_id, alice):
    with pytest.raises(actions.StakeError, match="nothing to withdraw"):
        actions.withdraw(staking, alice, pool_id, None)


def test_withdraw__cooldown_not_over__says_when(staking, pool_id, alice, stake):
    stake(alice, PHA)
    actions.undelegate(staking, alice, pool_id, None)
    with pytest.raises(
        actions.StakeError,
        match=r"cooldown not over: request 0 .* unlocks at \d{4}-\d\d-\d\dT[\d:]+Z \(in (6 d 23 h|7 d)\)",
    ):
        actions.withdraw(staking, alice, pool_id, None)


def test_withdraw__after_cooldown__withdraws_every_matured_request(
    staking, token, pool_id, alice, stake, chain
):
    stake(alice, 3 * PHA)
    actions.undelegate(staking, alice, pool_id, PHA)
    actions.undelegate(staking, alice, pool_id, None)
    chain.pending_timestamp += COOLDOWN
    lines = actions.withdraw(staking, alice, pool_id, None)
    assert len(lines) == 2
    assert token.balanceOf(alice) >= 3 * PHA - 2
    with pytest.raises(actions.StakeError, match="nothing to withdraw"):
        actions.withdraw(staking, alice, pool_id, None)


def test_withdraw__unknown_request__one_line(staking, pool_id, alice):
    with pytest.raises(actions.StakeError, match="no open withdrawal request 4"):
        actions.withdraw(staking, alice, pool_id, 4)


def test_claim_commission__flow_and_errors(staking, token, pool_id, operator, alice, stake, pay_reward):
    with pytest.raises(actions.StakeError, match="no commission to claim"):
        actions.claim_commission(staking, operator, pool_id, None)
    with pytest.raises(actions.StakeError, match="only the operator"):
        actions.claim_commission(staking, alice, pool_id, None)
    stake(alice, PHA)
    pay_reward(10 * PHA)
    assert actions.claim_commission(staking, operator, pool_id, None)[0].startswith("claimed 1 PHA")
    assert token.balanceOf(operator) == PHA


def test_set_commission__increase__says_when(staking, pool_id, operator, alice):
    assert "from" in actions.set_commission(staking, operator, pool_id, 2_000)[0]
    assert actions.set_commission(staking, operator, pool_id, 500)[0].endswith("now")
    with pytest.raises(actions.StakeError, match="only the operator"):
        actions.set_commission(staking, alice, pool_id, 0)


def test_pool_status__shows_position_queue_and_pending_commission(
    staking, pool_id, operator, alice, bob, stake, chain
):
    stake(alice, 2_500 * PHA)
    stake(bob, 7_500 * PHA)
    actions.undelegate(staking, alice, pool_id, 500 * PHA)
    actions.set_commission(staking, operator, pool_id, 2_000)
    status = actions.read_pool_status(staking, pool_id, alice.address)
    lines = status.lines()
    text = "\n".join(lines)
    assert all(len(line) <= WIDTH for line in lines), text
    assert "backing            10,000 PHA" in text
    assert "pending commission 20% from 20" in text and "Z (in " in text
    assert "backs up to 10 worker(s)" in text
    assert "cooldown           7 d" in text
    # alice holds 2,000 of the 9,500 PHA still active: a share of the pool and its value, no share count
    assert "position         21.05 % of the pool (≈ 2,000 PHA)" in text
    assert re.search(r"request 0: 500 PHA, unlocks 20\S+Z \(in (6 d 23 h|7 d)\)", text), text
    assert "shares" not in text.replace("per 1 PHA", "")

    document = json.loads(json.dumps(status.as_json()))
    now = int(chain.pending_timestamp)
    assert document["pool_id"] == pool_id and abs(document["now"]["unix"] - now) <= 2
    assert document["backing"] == {"wei": str(10_000 * PHA), "pha": "10000"}
    assert document["queued"] == {"wei": str(500 * PHA), "pha": "500"}
    assert document["pending_commission"]["bps"] == 2_000
    assert document["pending_commission"]["effective_at"]["unix"] > now
    assert document["cooldown_s"] == COOLDOWN and document["max_workers"] == 10
    position = document["delegator"]
    assert position["address"] == alice.address and position["pool_percent"] == "21.05"
    assert int(position["shares"]) == staking.sharesOf(pool_id, alice)
    assert position["value"]["pha"] == "2000"
    [request] = position["requests"]
    assert request["assets"]["wei"] == str(500 * PHA) and not request["ready"]
    assert request["unlock_at"]["iso"].endswith("Z") and request["unlock_at"]["unix"] > now


def test_cli__undelegate_without_amount_or_all__one_line_nonzero():
    from scripts.stake import cli

    result = CliRunner().invoke(cli, ["undelegate", "1"])
    assert result.exit_code != 0
    assert "give either an AMOUNT or --all" in result.output
    assert "Traceback" not in result.output


def test_cli__flush_rewards_without_pools_or_all__one_line_nonzero():
    from scripts.stake import cli

    for args in (["flush-rewards"], ["flush-rewards", "1", "--all"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        assert "give POOL_IDS or --all" in result.output
        assert "Traceback" not in result.output


def test_cli__bad_amount__one_line_nonzero():
    from scripts.stake import cli

    result = CliRunner().invoke(cli, ["delegate", "1", "lots"])
    assert result.exit_code != 0
    assert "not an amount of PHA" in result.output


def test_deploy_stack__deploys_staking_wired_to_token_and_treasury(tmp_path, gov, carol):
    from pha.deploy import DeployConfig, deploy_stack

    config = DeployConfig(admin=str(gov.address), treasury=str(carol.address))
    manifest, ctx, deployed = deploy_stack(gov, config, tmp_path / "m.json", network_name="test")
    staking = ctx.contracts["Staking"]
    assert "Staking" in deployed
    assert staking.PHA() == ctx.contracts["PHAToken"].address
    assert staking.treasury() == carol.address
    assert staking.hasRole(staking.SLASHER_ROLE(), gov)
    assert manifest.contracts["Staking"].args == [
        str(ctx.contracts["PHAToken"].address),
        gov.address,
        carol.address,
    ]
    _, _, again = deploy_stack(gov, config, tmp_path / "m.json", network_name="test")
    assert again == []
