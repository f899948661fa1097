"""Attacks on property 5 (issue 17): migration never mints more than the snapshot, and each
parachain account is paid once.

Each test is an attacker's (or a careless operator's) best attempt through the project's own
deploy path (`deploy_migrator`, what `ape run migrate deploy` runs) or straight at the contracts.
It passes when refused; the damage each attempt reached (wei minted above the first snapshot's
total, accounts paid twice) is recorded and printed in the session summary.
"""

from __future__ import annotations

import ape
import pytest

from pha.migration.deploy import MigratorDeployError
from pha.migration.plan import Batch, Entry
from tests.attacks.figures import record
from tests.migration.lineage import ACCOUNT_OF, BINDINGS, SCALE, Lineage, corrected, first_snapshot, send

AMOUNTS = [(5 * i + 2) * 10**5 for i in range(8)]


@pytest.fixture
def gov(accounts):
    return accounts[0]


@pytest.fixture
def operator(accounts):
    return accounts[4]


@pytest.fixture
def lineage(project, chain, gov, operator, tmp_path):
    lin = Lineage(project, chain, gov, operator, tmp_path / "manifest.json")
    _, fresh = lin.deploy(first_snapshot(AMOUNTS))
    assert fresh
    return lin


def push_all(lineage: Lineage, operator) -> int:
    """Push every batch the current migrator still owes; returns how many accounts it paid."""
    paid = 0
    while (batch := lineage.ready_batch(3)) is not None:
        send(lineage.current.migrator, batch, operator)
        paid += len(batch.entries)
    return paid


def one_leaf_batch(snapshot, index: int) -> Batch:
    leaf = snapshot.leaves[index]
    proof = snapshot.tree.multiproof([index])
    b = BINDINGS[leaf.pubkey]
    return Batch(
        [Entry(index, leaf.pubkey, leaf.amount, b.recipient, b.binding_hash)], proof.proof, proof.flags
    )


def paid_twice(lineage: Lineage) -> int:
    """Accounts whose balance is more than their largest amount in any snapshot of the lineage."""
    most: dict[int, int] = {}
    for gen in lineage.generations:
        for leaf in gen.snapshot.leaves:
            i = ACCOUNT_OF[leaf.pubkey]
            most[i] = max(most.get(i, 0), leaf.amount * SCALE)
    return sum(1 for i, bal in lineage.balances().items() if bal > most.get(i, 0))


def test_attack__replaced_migrator_pushes_again__refused(lineage, operator):
    first = lineage.current
    send(first.migrator, lineage.ready_batch(2), operator)
    replacement, fresh = lineage.deploy(
        corrected(first.snapshot, {7: 9 * 10**6}, {}), replace=True, previous=first.snapshot
    )
    assert fresh and replacement.address != first.migrator.address
    # The old migrator still has a valid proof for an unpaid leaf: its mint right is gone.
    with ape.reverts(first.migrator.AccessControlUnauthorizedAccount):
        send(first.migrator, one_leaf_batch(first.snapshot, 5), operator)
    assert not lineage.token.hasRole(lineage.token.MINTER_ROLE(), first.migrator)
    record("migration.replaced_migrator", "old migrator minted 0 wei after its replacement")


def test_attack__replacement_pays_a_leaf_the_predecessor_paid__refused(lineage, operator, project):
    first = lineage.current
    send(first.migrator, lineage.ready_batch(3), operator)  # leaves 0, 1, 2
    second, _ = lineage.deploy(corrected(first.snapshot, {6: 1}, {}), replace=True, previous=first.snapshot)
    for index in (0, 1, 2):
        with ape.reverts(project.Migrator.MigratorAlreadyMigrated):
            send(second, one_leaf_batch(lineage.current.snapshot, index), operator)
    # Two replacements deep, the first generation's bits still count.
    third, _ = lineage.deploy(
        corrected(lineage.current.snapshot, {6: 2}, {}), replace=True, previous=lineage.current.snapshot
    )
    with ape.reverts(project.Migrator.MigratorAlreadyMigrated):
        send(third, one_leaf_batch(lineage.current.snapshot, 1), operator)
    push_all(lineage, operator)
    assert paid_twice(lineage) == 0
    record("migration.repay_through_replacement", "0 accounts paid twice across 3 generations")


def test_attack__corrected_snapshot_with_a_higher_total__capped_at_the_first_total(lineage, operator):
    """The replacement adds accounts worth more than the whole first snapshot: the token's cap (set
    once, from the first snapshot) stops minting at the first total."""
    first = lineage.current
    cap = int(lineage.token.migrationCap())
    assert cap == first.snapshot.total * SCALE
    push_all(lineage, operator)
    added = {8: sum(AMOUNTS), 9: 10**6}
    lineage.deploy(corrected(first.snapshot, {}, added), replace=True, previous=first.snapshot)
    batch = lineage.ready_batch(2)  # the two added accounts, valid proof
    assert batch is not None and len(batch.entries) == 2
    with ape.reverts(lineage.token.PHATokenMigrationCapExceeded):
        send(lineage.current.migrator, batch, operator)
    minted = int(lineage.token.migrationMinted())
    assert minted == cap
    assert int(lineage.token.totalSupply()) == cap
    record("migration.higher_total", f"minted above the first snapshot: {minted - cap} wei")


def test_attack__governance_raises_or_clears_the_cap__refused(lineage, gov):
    token = lineage.token
    cap = int(token.migrationCap())
    for bad in (cap + 1, 2 * cap, 0):
        with ape.reverts(token.PHATokenBadMigrationCap):
            token.setMigrationCap(bad, sender=gov)
    token.setMigrationCap(cap - 1, sender=gov)  # lowering stays possible
    with ape.reverts(token.PHATokenBadMigrationCap):
        token.setMigrationCap(cap, sender=gov)
    assert int(token.migrationCap()) == cap - 1


def test_attack__governance_regrants_a_replaced_migrator__refused(lineage, gov, operator):
    first = lineage.current
    lineage.deploy(corrected(first.snapshot, {0: 3}, {}), replace=True, previous=first.snapshot)
    token = lineage.token
    with ape.reverts(token.PHATokenMinterRetired):
        token.grantRole(token.MINTER_ROLE(), first.migrator, sender=gov)
    assert not token.hasRole(token.MINTER_ROLE(), first.migrator)


def test_attack__hand_deployed_second_migrator__first_loses_the_right_and_the_cap_holds(
    lineage, gov, operator, project, chain
):
    """Governance bypasses the deploy path: a second Migrator on the same snapshot with no
    predecessor, granted MINTER_ROLE by hand. The token keeps one minter (the first loses its
    right) and the cap bounds the pair together at the first snapshot's total."""
    first = lineage.current
    token = lineage.token
    assert push_all(lineage, operator) == first.snapshot.count  # everyone paid once by the first
    rogue = gov.deploy(
        project.Migrator,
        token,
        first.snapshot.root,
        first.snapshot.total,
        first.snapshot.count,
        chain.pending_timestamp + 86400,
        gov,
        operator,
        "0x" + "00" * 20,
    )
    token.grantRole(token.MINTER_ROLE(), rogue, sender=gov)
    assert not token.hasRole(token.MINTER_ROLE(), first.migrator)
    with ape.reverts(token.PHATokenMigrationCapExceeded):
        send(rogue, one_leaf_batch(first.snapshot, 0), operator)
    minted = int(token.migrationMinted())
    assert minted == first.snapshot.total * SCALE
    record(
        "migration.hand_deployed_second",
        f"minted above the snapshot: {minted - first.snapshot.total * SCALE} wei",
    )


def test_attack__migrator_on_a_token_without_cap__mints_nothing(project, gov, operator, chain):
    """A Migrator granted MINTER_ROLE by hand on a token whose cap was never set mints nothing
    (the cap is what bounds every migrator together)."""
    from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE

    token = gov.deploy(project.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    snap = first_snapshot(AMOUNTS)
    migrator = gov.deploy(
        project.Migrator,
        token,
        snap.root,
        snap.total,
        snap.count,
        chain.pending_timestamp + 86400,
        gov,
        operator,
        "0x" + "00" * 20,
    )
    token.grantRole(token.MINTER_ROLE(), migrator, sender=gov)
    with ape.reverts(project.Migrator.MigratorNoMigrationCap):
        send(migrator, one_leaf_batch(snap, 0), operator)
    assert int(token.totalSupply()) == 0


def test_attack__governance_mints_through_minter_role__bounded_by_what_migration_left(lineage, gov, operator):
    token = lineage.token
    send(lineage.current.migrator, lineage.ready_batch(4), operator)
    left = int(token.migrationCap()) - int(token.migrationMinted())
    token.grantRole(token.MINTER_ROLE(), gov, sender=gov)
    with ape.reverts(token.PHATokenMigrationCapExceeded):
        token.minterMint(gov, left + 1, sender=gov)
    token.minterMint(gov, left, sender=gov)
    assert int(token.migrationMinted()) == int(token.migrationCap())
    record("migration.governance_mint", "governance minted 0 wei beyond the snapshot total")


def test_attack__closed_lineage__deploy_path_refuses_a_replacement(lineage, gov, chain):
    first = lineage.current
    chain.pending_timestamp = int(first.migrator.CLOSES_AT()) + 1
    first.migrator.close(sender=gov)
    with pytest.raises(MigratorDeployError, match="closed"):
        lineage.deploy(corrected(first.snapshot, {1: 5}, {}), replace=True, previous=first.snapshot)
