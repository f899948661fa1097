"""Fixtures for the migration: small deterministic snapshots, their bindings, a deployed Migrator."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
import sr25519

from pha.escrow.spec import ZERO_ADDRESS
from pha.migration.bindings import Binding, BindingSet, binding_message
from pha.migration.chain import MigratorClient
from pha.migration.snapshot import Holding, Snapshot, build_snapshot
from pha.migration.synthetic import account_seed

WINDOW = 30 * 86400


@dataclass
class World:
    snapshot: Snapshot
    migrator: Any
    client: MigratorClient
    seeds: dict[bytes, bytes]
    recipients: dict[bytes, str]
    operator: Any

    def bind(self, pubkeys: Any = None) -> BindingSet:
        """Valid sr25519 bindings for `pubkeys` (default: every leaf) to their recipients."""
        chain_id = _chain_id()
        valid = {}
        for pk in pubkeys if pubkeys is not None else [leaf.pubkey for leaf in self.snapshot.leaves]:
            public, secret = sr25519.pair_from_seed(self.seeds[pk])
            msg = binding_message(pk, self.recipients[pk], chain_id, str(self.migrator.address))
            valid[pk] = Binding(pk, self.recipients[pk], sr25519.sign((public, secret), msg))
        return BindingSet(valid, [])


def _chain_id() -> int:
    from ape import chain

    return chain.provider.chain_id


def holdings(
    n: int, seed: int = 7, amounts: list[int] | None = None
) -> tuple[list[Holding], dict[bytes, bytes]]:
    rng = random.Random(seed)
    out, seeds = [], {}
    for i in range(n):
        s = account_seed(seed, i)
        public, _ = sr25519.pair_from_seed(s)
        seeds[public] = s
        amount = amounts[i] if amounts else rng.randrange(1, 10**16)
        out.append(Holding(public, amount, 0, where=f"test {i}"))
    return out, seeds


@pytest.fixture(scope="session")
def operator(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def recipients_pool(accounts):
    return [str(a.address) for a in accounts.test_accounts] if hasattr(accounts, "test_accounts") else []


@pytest.fixture(scope="session")
def deploy_migrator(project, token, gov, operator, chain):
    """deploy_migrator(snapshot, total=None, root=None) -> Migrator with MINTER_ROLE on the token."""

    def _deploy(snapshot: Snapshot, total: int | None = None, root: bytes | None = None) -> Any:
        migrator = gov.deploy(
            project.Migrator,
            token,
            root or snapshot.root,
            snapshot.total if total is None else total,
            snapshot.count,
            chain.pending_timestamp + WINDOW,
            gov,
            operator,
            ZERO_ADDRESS,
        )
        # The token refuses MINTER_ROLE mints above its migration cap and the Migrator mints
        # nothing without one: these tests exercise the Migrator's own bounds under a loose cap
        # (tests/attacks/test_migration_cap.py tests the cap itself).
        if token.migrationCap() == 0:
            token.setMigrationCap(token.MAX_SUPPLY(), sender=gov)
        token.grantRole(token.MINTER_ROLE(), migrator, sender=gov)
        return migrator

    return _deploy


@pytest.fixture(scope="session")
def make_world(deploy_migrator, operator):
    """make_world(n, seed) -> World with a fresh Migrator over n random accounts."""

    def _make(n: int = 8, seed: int = 7, amounts: list[int] | None = None, total: int | None = None) -> World:
        hs, seeds = holdings(n, seed, amounts)
        snapshot = build_snapshot(hs)
        migrator = deploy_migrator(snapshot, total=total)
        recipients = {
            leaf.pubkey: "0x" + bytes([0xA0 + (leaf.index % 16)]).hex() + leaf.pubkey[:19].hex()
            for leaf in snapshot.leaves
        }
        from eth_utils import to_checksum_address

        recipients = {k: to_checksum_address(v) for k, v in recipients.items()}
        return World(snapshot, migrator, MigratorClient(migrator), seeds, recipients, operator)

    return _make


@pytest.fixture
def world(make_world):
    return make_world(8)
