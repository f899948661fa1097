"""A migration lineage driven through the project's own deploy path (`deploy_migrator`), with an
exact reference model of what each account was paid. Shared by the stateful test
(tests/migration/test_lineage_stateful.py) and the attacks (tests/attacks/test_migration_cap.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE, bytecode_hash, code_hash_at
from pha.manifest import DeployedContract, Manifest
from pha.migration.bindings import Binding
from pha.migration.deploy import deploy_migrator, migrator_params
from pha.migration.plan import Batch, plan_batches
from pha.migration.snapshot import Holding, Snapshot, build_snapshot

SCALE = 10**6
WINDOW = 30 * 86400
UNIVERSE = 12  # accounts that ever appear: 8 in the first snapshot, 4 that corrections may add


def pubkey(i: int) -> bytes:
    return b"\x07" + hashlib.sha256(f"lineage account {i}".encode()).digest()[1:]


def recipient(i: int) -> str:
    return to_checksum_address("0x" + hashlib.sha256(f"lineage recipient {i}".encode()).digest()[:20].hex())


KEYS = [pubkey(i) for i in range(UNIVERSE)]
ACCOUNT_OF = {k: i for i, k in enumerate(KEYS)}
BINDINGS = {k: Binding(k, recipient(i), bytes([i]) * 64) for i, k in enumerate(KEYS)}


def first_snapshot(amounts: list[int]) -> Snapshot:
    return build_snapshot([Holding(KEYS[i], a, 0, where=f"a{i}") for i, a in enumerate(amounts)])


def corrected(previous: Snapshot, changes: dict[int, int], added: dict[int, int]) -> Snapshot:
    """`previous` with some amounts changed and some accounts added, indices kept (`previous=`)."""
    amounts = {ACCOUNT_OF[leaf.pubkey]: leaf.amount for leaf in previous.leaves}
    amounts.update(changes)
    amounts.update(added)
    holdings = [Holding(KEYS[i], a, 0, where=f"a{i}") for i, a in sorted(amounts.items())]
    return build_snapshot(holdings, previous=previous)


def send(migrator: Any, batch: Batch, sender: Any) -> Any:
    return migrator.migrate([e.as_tuple() for e in batch.entries], batch.proof, batch.flags, sender=sender)


@dataclass
class Generation:
    """One Migrator of the lineage and the snapshot it holds."""

    migrator: Any
    snapshot: Snapshot


@dataclass
class Lineage:
    """A token, its manifest and the Migrators `deploy_migrator` deployed on it, in order."""

    project: Any
    chain: Any
    gov: Any
    operator: Any
    path: Path
    token: Any = None
    manifest: Manifest | None = None
    generations: list[Generation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.token = self.gov.deploy(self.project.PHAToken, self.gov, L2_STANDARD_BRIDGE, L1_PHA)
        self.manifest = Manifest(
            network="test", chain_id=self.chain.chain_id, deployer=str(self.gov.address), git_commit="test"
        )
        self.manifest.contracts["PHAToken"] = DeployedContract(
            address=str(self.token.address),
            tx_hash="0x" + "00" * 32,
            block=0,
            code_hash=code_hash_at(self.chain.provider, self.token.address),
            bytecode_hash=bytecode_hash(self.project.PHAToken),
            args=[str(self.gov.address), L2_STANDARD_BRIDGE, L1_PHA],
        )

    @property
    def current(self) -> Generation:
        return self.generations[-1]

    def deploy(
        self, snapshot: Snapshot, *, replace: bool = False, previous: Snapshot | None = None, days: float = 30
    ) -> tuple[Any, bool]:
        """`ape run migrate deploy` as the CLI calls it (the same function)."""
        assert self.manifest is not None
        params = migrator_params(
            snapshot, int(self.chain.pending_timestamp + days * 86400), str(self.operator.address)
        )
        migrator, fresh = deploy_migrator(
            self.gov,
            self.manifest,
            self.path,
            params,
            replace=replace,
            snapshot=snapshot,
            previous_snapshot=previous,
        )
        if fresh:
            self.generations.append(Generation(migrator, snapshot))
        return migrator, fresh

    def ready_batch(self, size: int) -> Batch | None:
        """The next batch `push` would send to the current migrator (planned on its claimed bits)."""
        from pha.migration.chain import MigratorClient

        gen = self.current
        claimed = MigratorClient(gen.migrator).claimed(gen.snapshot.count)
        return next(plan_batches(gen.snapshot, BINDINGS, claimed, size), None)

    def balances(self) -> dict[int, int]:
        return {i: int(self.token.balanceOf(recipient(i))) for i in range(UNIVERSE)}
