"""Property test (hypothesis stateful, issue 17 item 5): whatever sequence of pushes, replacements
through the project's deploy path (`deploy_migrator`, what `ape run migrate deploy` runs), re-runs,
governance grants/revokes, cap changes and closes, the token never mints more through migration
than the first snapshot's total, each parachain account is paid at most once, and every balance
equals an exact reference model.

Each sequence starts from a chain.snapshot() and ends with chain.restore(). Examples and steps:
PHA_LINEAGE_EXAMPLES / PHA_LINEAGE_STEPS (defaults 12 and 14).
"""

from __future__ import annotations

import logging
import os

import ape
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from pha.migration.deploy import MigratorDeployError
from pha.migration.plan import Batch, Entry
from tests.migration.lineage import (
    ACCOUNT_OF,
    BINDINGS,
    SCALE,
    UNIVERSE,
    Lineage,
    corrected,
    first_snapshot,
    send,
)
from tests.stateful import run_on_chain

log = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("PHA_LINEAGE_EXAMPLES", "12"))
STEPS = int(os.environ.get("PHA_LINEAGE_STEPS", "14"))
amounts = st.integers(1, 10**6)


def test_lineage__random_sequences__never_above_snapshot_each_account_once(
    chain, project, accounts, tmp_path, record_property
):
    gov, operator = accounts[0], accounts[4]
    stats = {"examples": 0, "steps": 0, "pushed": 0, "replaced": 0, "refused": 0}

    class LineageMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snap = chain.snapshot()
            stats["examples"] += 1
            self.lineage = Lineage(project, chain, gov, operator, tmp_path / f"m{stats['examples']}.json")
            s0 = first_snapshot([(7 * i + 3) * 10**5 + i for i in range(8)])
            _, fresh = self.lineage.deploy(s0)
            assert fresh
            self.cap0 = s0.total * SCALE
            self.cap = self.cap0
            self.minted = 0
            self.paid = dict.fromkeys(range(UNIVERSE), 0)
            self.live = True  # the current migrator holds MINTER_ROLE
            self.closed = False
            self.gov_minter = False  # governance took MINTER_ROLE itself (it can, once)
            self.token = self.lineage.token

        def teardown(self):
            chain.restore(self.snap)

        # Every sequence pushes once and replaces the migrator once (in either order, with random
        # sizes and corrections) before the random rules, so each example exercises a lineage of
        # at least two generations instead of hoping the random rules reach one.

        @initialize(size=st.integers(1, 6))
        def a_first_push(self, size):
            self.push(size)

        @initialize(
            changes=st.dictionaries(st.integers(0, 7), amounts, max_size=3),
            added=st.dictionaries(st.integers(8, UNIVERSE - 1), amounts, max_size=2),
        )
        def a_first_replacement(self, changes, added):
            self.replace(changes, added, with_flag=True)

        # ------------------------------------------------------------ pushes

        @rule(size=st.integers(1, 6))
        def push(self, size):
            batch = self.lineage.ready_batch(size)
            if batch is None:
                return
            owed = [ACCOUNT_OF[e.account] for e in batch.entries]
            assert all(self.paid[i] == 0 for i in owed), "push planned an account already paid"
            wei = batch.amount * SCALE
            migrator = self.lineage.current.migrator
            if self.closed:
                with ape.reverts(project.Migrator.MigratorIsClosed):
                    send(migrator, batch, operator)
            elif not self.live:
                # the token's refusal bubbles up through the migrator, whose ABI decodes it
                with ape.reverts(migrator.AccessControlUnauthorizedAccount):
                    send(migrator, batch, operator)
            elif self.minted + wei > self.cap:
                with ape.reverts(self.token.PHATokenMigrationCapExceeded):
                    send(migrator, batch, operator)
                stats["refused"] += 1
            else:
                send(migrator, batch, operator)
                for e in batch.entries:
                    self.paid[ACCOUNT_OF[e.account]] = e.amount * SCALE
                self.minted += wei
                stats["pushed"] += 1

        @rule(pick=st.integers(0, UNIVERSE - 1))
        def repay_a_paid_account(self, pick):
            """The operator pushes, with a valid proof, a leaf whose account was paid before (by
            this migrator or a predecessor): refused."""
            gen = self.lineage.current
            paid_here = [leaf for leaf in gen.snapshot.leaves if self.paid[ACCOUNT_OF[leaf.pubkey]]]
            if not paid_here:
                return
            leaf = paid_here[pick % len(paid_here)]
            proof = gen.snapshot.tree.multiproof([leaf.index])
            b = BINDINGS[leaf.pubkey]
            batch = Batch(
                [Entry(leaf.index, leaf.pubkey, leaf.amount, b.recipient, b.binding_hash)],
                proof.proof,
                proof.flags,
            )
            error = (
                project.Migrator.MigratorIsClosed if self.closed else project.Migrator.MigratorAlreadyMigrated
            )
            with ape.reverts(error):
                send(gen.migrator, batch, operator)
            stats["refused"] += 1

        # ------------------------------------------------------------ deploy path

        @rule(
            changes=st.dictionaries(st.integers(0, 7), amounts, max_size=3),
            added=st.dictionaries(st.integers(8, UNIVERSE - 1), amounts, max_size=2),
            with_flag=st.booleans(),
        )
        def replace(self, changes, added, with_flag):
            current = self.lineage.current
            present = {ACCOUNT_OF[leaf.pubkey] for leaf in current.snapshot.leaves}
            new = corrected(current.snapshot, changes, {k: v for k, v in added.items() if k not in present})
            same = new.root == current.snapshot.root
            if not with_flag:
                if same:  # a re-run for the same snapshot attaches
                    migrator, fresh = self.lineage.deploy(new)
                    assert not fresh and migrator.address == current.migrator.address
                else:
                    with pytest.raises(MigratorDeployError, match="--replace"):
                        self.lineage.deploy(new)
                return
            if self.closed:
                with pytest.raises(MigratorDeployError, match="closed"):
                    self.lineage.deploy(new, replace=True, previous=current.snapshot)
                return
            migrator, fresh = self.lineage.deploy(new, replace=True, previous=current.snapshot)
            assert fresh and str(migrator.PREDECESSOR()) == str(current.migrator.address)
            self.live = True
            self.gov_minter = False
            stats["replaced"] += 1

        @rule(days=st.floats(1, 400))
        def rerun_with_another_closing_time(self, days):
            current = self.lineage.current
            migrator, fresh = self.lineage.deploy(current.snapshot, days=days)
            assert not fresh and migrator.address == current.migrator.address

        # ------------------------------------------------------------ governance

        @rule(which=st.integers(0, 10))
        def governance_regrants_an_earlier_holder(self, which):
            gens = self.lineage.generations
            target = gens[which % len(gens)].migrator
            role = self.token.MINTER_ROLE()
            if self.token.hasRole(role, target):
                self.token.grantRole(role, target, sender=gov)  # no-op
                return
            with ape.reverts(self.token.PHATokenMinterRetired):
                self.token.grantRole(role, target, sender=gov)
            stats["refused"] += 1

        @rule()
        def governance_revokes_the_migrator(self):
            role = self.token.MINTER_ROLE()
            target = self.lineage.current.migrator
            if self.token.hasRole(role, target):
                self.token.revokeRole(role, target, sender=gov)
            self.live = False

        @rule(amount=st.integers(1, 3 * 10**12))
        def governance_mints_through_minter_role(self, amount):
            """Governance grants itself MINTER_ROLE (the migrator loses it) and mints: within the cap."""
            role = self.token.MINTER_ROLE()
            if not self.gov_minter:
                if self.token.pastMinter(gov):
                    with ape.reverts(self.token.PHATokenMinterRetired):
                        self.token.grantRole(role, gov, sender=gov)
                    return
                self.token.grantRole(role, gov, sender=gov)
                self.gov_minter, self.live = True, False
            if self.minted + amount > self.cap:
                with ape.reverts(self.token.PHATokenMigrationCapExceeded):
                    self.token.minterMint(gov, amount, sender=gov)
                stats["refused"] += 1
            else:
                self.token.minterMint(gov, amount, sender=gov)
                self.minted += amount

        @rule(down=st.integers(0, 10**12), up=st.booleans())
        def governance_moves_the_cap(self, down, up):
            if up:
                with ape.reverts(self.token.PHATokenBadMigrationCap):
                    self.token.setMigrationCap(self.cap + 1, sender=gov)
                return
            new = max(1, self.cap - down)
            self.token.setMigrationCap(new, sender=gov)
            self.cap = new

        @precondition(lambda self: not self.closed)
        @rule()
        def close(self):
            chain.pending_timestamp = max(
                chain.pending_timestamp, int(self.lineage.current.migrator.CLOSES_AT()) + 1
            )
            self.lineage.current.migrator.close(sender=gov)
            self.closed, self.live = True, False

        # ------------------------------------------------------------ invariants

        @invariant()
        def supply_and_balances_match_the_model(self):
            stats["steps"] += 1
            minted = int(self.token.migrationMinted())
            # The cap may be lowered below what was minted (then nothing more is minted).
            assert minted == self.minted <= self.cap0 and self.cap <= self.cap0
            assert int(self.token.migrationCap()) == self.cap
            assert sum(self.paid.values()) <= self.cap0
            balances = self.lineage.balances()
            assert balances == self.paid  # exact, and each account at most once (one leaf, one recipient)
            assert int(self.token.totalSupply()) == sum(balances.values()) + int(self.token.balanceOf(gov))

        @invariant()
        def one_minter_at_most(self):
            role = self.token.MINTER_ROLE()
            holders = [g.migrator for g in self.lineage.generations if self.token.hasRole(role, g.migrator)]
            holders += [gov] if self.token.hasRole(role, gov) else []
            assert len(holders) <= 1
            if self.live:
                assert holders == [self.lineage.current.migrator]

    run_on_chain(LineageMachine, EXAMPLES, STEPS)
    record_property("sequences", stats["examples"])
    log.warning("migration lineage: %s", stats)
    assert stats["examples"] >= EXAMPLES and stats["pushed"] and stats["replaced"]
