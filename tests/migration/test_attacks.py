"""Attacks on the Migrator: forged leaves and proofs, double mints, over-mint, pause, roles."""

import dataclasses

import ape
import pytest

from pha.escrow.spec import ZERO_ADDRESS as ZERO
from pha.migration.plan import Batch, Bitmap, plan_batches


def batches(world, bindings, size, migrated=()):
    words = [0] * ((world.snapshot.count + 255) // 256)
    for i in migrated:
        words[i >> 8] |= 1 << (i & 255)
    return list(plan_batches(world.snapshot, bindings.valid, Bitmap(words), size))


def send(world, batch, sender=None):
    return world.migrator.migrate(
        [e.as_tuple() for e in batch.entries], batch.proof, batch.flags, sender=sender or world.operator
    )


def with_entry(batch, i, **changes):
    entries = list(batch.entries)
    entries[i] = dataclasses.replace(entries[i], **changes)
    return Batch(entries, batch.proof, batch.flags)


def test_attack__amount_raised_in_a_leaf__invalid_proof(world, token):
    [batch] = batches(world, world.bind(), 8)
    forged = with_entry(batch, 2, amount=batch.entries[2].amount + 1)
    with ape.reverts(world.migrator.MigratorInvalidProof):
        send(world, forged)
    assert token.totalSupply() == 0


def test_attack__proof_of_one_account_used_for_another__invalid_proof(world):
    bindings = world.bind()
    a, b = batches(world, bindings, 1)[:2]
    stolen = Batch(b.entries, a.proof, a.flags)
    with ape.reverts(world.migrator.MigratorInvalidProof):
        send(world, stolen)
    other_account = with_entry(a, 0, account=b.entries[0].account)
    with ape.reverts(world.migrator.MigratorInvalidProof):
        send(world, other_account)


def test_attack__same_account_twice_in_one_batch__reverts(world):
    [first, *_] = batches(world, world.bind(), 2)
    twice = Batch([first.entries[0], first.entries[0]], first.proof, first.flags)
    with ape.reverts(world.migrator.MigratorAlreadyMigrated):
        send(world, twice)


def test_attack__same_account_again_in_a_later_batch__reverts(world, token):
    bindings = world.bind()
    [first, second, *_] = batches(world, bindings, 2)
    send(world, first)
    supply = token.totalSupply()
    with ape.reverts(world.migrator.MigratorAlreadyMigrated):
        send(world, first)
    # A batch overlapping a migrated leaf fails whole; the rest of it is still pending.
    overlap = batches(world, bindings, 3, migrated=())[0]
    with ape.reverts(world.migrator.MigratorAlreadyMigrated):
        send(world, overlap)
    assert token.totalSupply() == supply
    send(world, second)
    assert token.totalSupply() > supply


def test_attack__index_beyond_the_snapshot__reverts(world):
    [batch] = batches(world, world.bind(), 8)
    with ape.reverts(world.migrator.MigratorIndexOutOfRange):
        send(world, with_entry(batch, 7, index=world.snapshot.count))


def test_attack__recipient_zero__reverts(world):
    [batch] = batches(world, world.bind(), 8)
    with ape.reverts(world.migrator.MigratorZeroRecipient):
        send(world, with_entry(batch, 0, recipient="0x" + "00" * 20))


def test_attack__tree_summing_above_the_declared_total__never_overmints(make_world, token):
    world = make_world(4, amounts=[10, 20, 30, 40], total=60)
    bindings = world.bind()
    [b1, b2] = batches(world, bindings, 2)
    first, second = sorted([b1, b2], key=lambda b: b.amount)
    assert first.amount <= 60 < first.amount + second.amount
    send(world, first)
    with ape.reverts(world.migrator.MigratorExceedsSnapshot):
        send(world, second)
    assert world.migrator.totalMigrated() == first.amount and token.totalSupply() == first.amount * 10**6


def test_attack__push_while_paused__reverts(world, gov):
    [batch] = batches(world, world.bind(), 8)
    world.migrator.pause(sender=gov)
    with ape.reverts(world.migrator.EnforcedPause):
        send(world, batch)


def test_attack__non_operator_push__reverts(world, attacker, gov):
    [batch] = batches(world, world.bind(), 8)
    for intruder in (attacker, gov):
        with ape.reverts(world.migrator.AccessControlUnauthorizedAccount):
            send(world, batch, sender=intruder)


def test_attack__non_admin_pause_or_close__reverts(world, attacker):
    with ape.reverts(world.migrator.AccessControlUnauthorizedAccount):
        world.migrator.pause(sender=attacker)
    with ape.reverts(world.migrator.AccessControlUnauthorizedAccount):
        world.migrator.close(sender=attacker)


def test_attack__empty_batch__reverts(world):
    with ape.reverts(world.migrator.MigratorEmptyBatch):
        world.migrator.migrate([], [world.snapshot.root], [], sender=world.operator)


def test_attack__migrator_without_minter_role__cannot_mint(world, gov, token):
    token.revokeRole(token.MINTER_ROLE(), world.migrator, sender=gov)
    [batch] = batches(world, world.bind(), 8)
    with ape.reverts():
        send(world, batch)


def test_attack__batch_above_max_batch__reverts_before_minting(world, token):
    [batch] = batches(world, world.bind(), 1)[:1]
    huge = Batch(batch.entries * (world.migrator.MAX_BATCH() + 1), batch.proof, batch.flags)
    with ape.reverts(world.migrator.MigratorBatchTooLarge, count=1001, max=1000):
        send(world, huge)
    assert token.totalSupply() == 0


def test_attack__snapshot_total_above_uint128__refused_at_deployment(project, gov, token, chain):
    with ape.reverts(project.Migrator.MigratorSnapshotTooLarge):
        gov.deploy(
            project.Migrator, token, b"\x01" * 32, 2**128, 1, chain.pending_timestamp + 100, gov, gov, ZERO
        )


def test_attack__recipient_with_dirty_upper_bits__reverts(world, chain):
    # recordsHash is taken over the calldata as sent: it equals abi.encode(batch) only because a
    # non-canonical field (an address with bits above 160) makes the call revert when it is read.
    [batch] = batches(world, world.bind(), 8)
    data = bytearray(world.client.calldata(batch))
    recipient_word = 4 + 3 * 32 + 32 + 3 * 32  # selector, heads, batch length, entry 0's 4th field
    assert data[recipient_word + 12 : recipient_word + 32] == bytes.fromhex(batch.entries[0].recipient[2:])
    data[recipient_word] = 0x01
    web3 = chain.provider.web3
    call = {"from": world.operator.address, "to": world.migrator.address, "data": "0x" + data.hex()}
    with pytest.raises(Exception):  # noqa: B017 (any revert: the ABI decoder's, no custom error)
        web3.eth.call(call)
    call["data"] = "0x" + world.client.calldata(batch).hex()
    web3.eth.call(call)  # the canonical calldata goes through
