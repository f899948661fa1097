"""The Migrator through the push engine: 1:1 mints, events, resume, reconciliation, pause, close."""

import ape
import pytest

from pha.escrow.spec import ZERO_ADDRESS as ZERO
from pha.migration import chain as migration_chain
from pha.migration.audit import audit, audit_events
from pha.migration.bindings import BindingSet
from pha.migration.plan import Bitmap, plan_batches
from pha.migration.push import PushError, push
from pha.migration.reconcile import reconcile

SCALE = 10**6


def run(world, bindings, batch_size=3, **kwargs):
    return push(
        world.snapshot,
        bindings.valid,
        world.client,
        world.operator,
        batch_size,
        show_progress=False,
        **kwargs,
    )


def test_push__all_bound__each_recipient_gets_amount_times_1e6(world, token):
    bindings = world.bind()
    summary = run(world, bindings)
    assert summary.accounts == world.snapshot.count and summary.batches == 3
    for leaf in world.snapshot.leaves:
        assert token.balanceOf(world.recipients[leaf.pubkey]) == leaf.amount * SCALE
        assert world.migrator.isMigrated(leaf.index)
    assert world.migrator.totalMigrated() == world.snapshot.total
    assert token.totalSupply() == world.snapshot.total * SCALE


def test_push__events__carry_account_recipient_amount_and_binding_hash(world):
    bindings = world.bind()
    run(world, bindings, batch_size=8)
    mints = list(world.client.migrated_events(0))
    assert len(mints) == 8
    by_pubkey = world.snapshot.by_pubkey()
    for m in mints:
        leaf = by_pubkey[m.account]
        assert (m.account, m.amount) == (leaf.pubkey, leaf.amount)
        assert m.recipient == world.recipients[leaf.pubkey]
        assert m.binding_hash == bindings.valid[leaf.pubkey].binding_hash
    [batch] = list(world.client.batch_events(0))
    assert batch.count == 8 and batch.amount == world.snapshot.total


def test_push__half_bound_then_rest__pending_then_balanced(world):
    leaves = world.snapshot.leaves
    first = world.bind([leaf.pubkey for leaf in leaves[:4]])
    run(world, first)
    report = reconcile(world.snapshot, first, world.client.bitmap(8), world.client.state())
    assert report["balanced"] and report["pending"]["accounts"] == 4
    assert {p["status"] for p in report["pending"]["list"]} == {"unbound"}
    assert (
        int(report["migrated"]["amount"]["planck"]) + int(report["pending"]["amount"]["planck"])
        == world.snapshot.total
    )
    everyone = world.bind()
    summary = run(world, everyone)
    assert summary.accounts == 4
    report = reconcile(world.snapshot, everyone, world.client.bitmap(8), world.client.state())
    assert report["balanced"] and report["pending"]["accounts"] == 0


def test_push__rerun_after_completion__sends_nothing(world):
    bindings = world.bind()
    run(world, bindings)
    again = run(world, bindings)
    assert again.accounts == 0 and again.batches == 0


def test_push__dry_run__simulates_and_mints_nothing(world):
    summary = run(world, world.bind(), dry_run=True)
    assert summary.accounts == 8 and summary.gas_per_batch[0] > 0
    assert world.migrator.totalMigrated() == 0


def test_push__snapshot_of_another_migrator__refused(world, make_world):
    other = make_world(5, seed=99)
    with pytest.raises(PushError, match="root"):
        push(other.snapshot, {}, world.client, world.operator, show_progress=False)


def test_audit__honest_migration__no_problems(world):
    bindings = world.bind()
    run(world, bindings)
    report = audit(
        world.snapshot,
        bindings,
        world.client.state(),
        list(world.client.migrated_events(0)),
        list(world.client.batch_events(0)),
    )
    assert report.ok and report.mints_checked == 8 and report.batches_checked == 3


def test_push__recipient_who_delegated__delegate_gains_the_votes(world, token, accounts):
    leaf = world.snapshot.leaves[0]
    holder = accounts[5]
    world.recipients[leaf.pubkey] = str(holder.address)
    token.invoke_transaction("delegate", holder, sender=holder)  # self-delegation before the swap
    run(world, world.bind(), batch_size=8)
    assert token.getVotes(holder) == token.balanceOf(holder) == leaf.amount * SCALE


def test_push__one_token_call_per_batch__supply_checkpoint_once(world, token):
    receipt = world.client.send(
        next(plan_batches(world.snapshot, world.bind().valid, Bitmap([]), 8)), world.operator
    )
    transfers = [log for log in receipt["logs"] if log["address"] == token.address]
    assert len(transfers) == 8  # one Transfer per recipient, no other token event (none delegated)
    assert token.getPastTotalSupply(receipt["blockNumber"] - 1) == 0
    assert token.totalSupply() == world.snapshot.total * SCALE


def test_audit__streamed_in_small_pages__same_report(world, monkeypatch):
    bindings = world.bind()
    run(world, bindings, batch_size=1)  # 8 transactions, 8 blocks
    monkeypatch.setattr(migration_chain, "LOG_FIRST_SPAN", 1)
    monkeypatch.setattr(migration_chain, "LOG_PAGE_TARGET", 1)
    events = list(world.client.migration_events(0))
    assert [type(e).__name__ for e in events] == ["MigratedEvent", "BatchEvent"] * 8
    assert [(e.block, e.log_index) for e in events] == sorted((e.block, e.log_index) for e in events)
    report = audit_events(world.snapshot, bindings, world.client.state(), iter(events))
    assert report.ok and report.mints_checked == 8 and report.batches_checked == 8


def test_audit__mint_event_without_its_batch_event__reported(world):
    bindings = world.bind()
    run(world, bindings, batch_size=8)
    mints = list(world.client.migrated_events(0))
    report = audit(world.snapshot, bindings, world.client.state(), mints, [])
    assert not report.ok and any("without their BatchMigrated" in p for p in report.problems)


def test_audit__mint_to_a_recipient_the_holder_never_signed__reported(world, operator):
    bindings = world.bind()
    leaf = world.snapshot.leaves[0]
    forged = BindingSet(
        {leaf.pubkey: type(bindings.valid[leaf.pubkey])(leaf.pubkey, str(operator.address), bytes(64))}, []
    )
    [batch] = list(plan_batches(world.snapshot, forged.valid, Bitmap([]), 1))
    world.client.send(batch, operator)
    report = audit(
        world.snapshot,
        bindings,
        world.client.state(),
        list(world.client.migrated_events(0)),
        list(world.client.batch_events(0)),
    )
    assert not report.ok
    assert any("binding names" in p for p in report.problems)
    assert any("binding hash differs" in p for p in report.problems)


def test_pause__blocks_push_until_unpaused(world, gov):
    world.migrator.pause(sender=gov)
    with pytest.raises(PushError, match="paused"):
        run(world, world.bind())
    world.migrator.unpause(sender=gov)
    assert run(world, world.bind()).accounts == 8


def test_close__before_window__reverts(world, gov):
    with ape.reverts(world.migrator.MigratorWindowOpen):
        world.migrator.close(sender=gov)


def test_close__after_window__stops_minting_and_renounces_minter(world, gov, token, chain):
    bindings = world.bind()
    run(world, world.bind([world.snapshot.leaves[0].pubkey]))
    chain.pending_timestamp += 31 * 86400
    tx = world.migrator.close(sender=gov)
    [event] = tx.decode_logs(world.migrator.MigrationClosed)
    assert event.unclaimed == world.snapshot.total - world.snapshot.leaves[0].amount
    assert not token.hasRole(token.MINTER_ROLE(), world.migrator)
    with pytest.raises(PushError, match="closed"):
        run(world, bindings)


def test_constructor__empty_or_past_window__reverts(project, gov, token, chain):
    with ape.reverts(project.Migrator.MigratorEmptySnapshot):
        gov.deploy(project.Migrator, token, b"\x00" * 32, 1, 1, chain.pending_timestamp + 100, gov, gov, ZERO)
    with ape.reverts(project.Migrator.MigratorBadWindow):
        gov.deploy(project.Migrator, token, b"\x01" * 32, 1, 1, 1, gov, gov, ZERO)


def test_push__batches_carry_an_access_list_of_the_token_slots_only(world, token, chain):
    bindings = world.bind()
    receipt = world.client.send(
        next(plan_batches(world.snapshot, bindings.valid, Bitmap([]), 8)), world.operator
    )
    sent = chain.provider.web3.eth.get_transaction(receipt["transactionHash"])
    declared = {entry["address"]: entry["storageKeys"] for entry in sent["accessList"]}
    # The token (balances and delegates of 8 new recipients, supply, role...), never the warm
    # sender or Migrator.
    assert set(declared) == {token.address}
    assert len(declared[token.address]) >= 16


class _NoAccessListNode:
    """A web3 stand-in whose node has no eth_createAccessList (or refuses the call)."""

    def __init__(self, reply):
        self.reply = reply
        self.provider = self

    def make_request(self, method, params):
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.mark.parametrize(
    "reply",
    [
        ValueError("the method eth_createAccessList does not exist"),
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "method not found"}},
        {"jsonrpc": "2.0", "id": 1, "result": {"accessList": [], "error": "execution reverted"}},
    ],
)
def test_access_list__node_without_it_or_reverting__sends_without(world, monkeypatch, reply):
    monkeypatch.setattr(type(world.client), "web3", property(lambda self: _NoAccessListNode(reply)))
    assert world.client.access_list(world.operator, b"\x00") == []
