"""Property: interrupted anywhere and resumed, the push ends balanced, each account minted once, 1:1."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pha.migration.chain import MigratorClient
from pha.migration.push import PushError, push
from pha.migration.reconcile import reconcile

SCALE = 10**6
EXAMPLES = 12


class KilledError(Exception):
    pass


class KillingClient(MigratorClient):
    """Dies at its `kill_at`-th submission, before or after broadcasting it (earlier ones in flight)."""

    def __init__(self, contract, kill_at, after):
        super().__init__(contract)
        self.kill_at, self.after, self.sent = kill_at, after, 0

    def submit(self, batch, sender, nonce, fees=None):
        self.sent += 1
        if self.sent == self.kill_at and not self.after:
            raise KilledError
        tx_hash = super().submit(batch, sender, nonce, fees)
        if self.sent == self.kill_at:
            raise KilledError
        return tx_hash


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    amounts=st.lists(st.integers(1, 2**64), min_size=1, max_size=12),
    bound=st.floats(0.3, 1.0),
    batch_size=st.integers(1, 5),
    kill_at=st.integers(1, 4),
    after=st.booleans(),
)
def test_resume__random_snapshot_and_kill_point__balanced_and_minted_once(
    make_world, token, chain, amounts, bound, batch_size, kill_at, after
):
    snap = chain.snapshot()
    try:
        world = make_world(len(amounts), seed=len(amounts), amounts=amounts)
        leaves = world.snapshot.leaves
        bound_keys = [leaf.pubkey for leaf in leaves[: max(1, int(len(leaves) * bound))]]
        bindings = world.bind(bound_keys)
        killer = KillingClient(world.migrator, kill_at, after)
        with contextlib.suppress(KilledError, PushError):
            push(world.snapshot, bindings.valid, killer, world.operator, batch_size, show_progress=False)
        # The re-run: a fresh process would rebuild everything from the files and the chain.
        push(
            world.snapshot,
            bindings.valid,
            MigratorClient(world.migrator),
            world.operator,
            batch_size,
            show_progress=False,
        )

        state = world.client.state()
        bitmap = world.client.bitmap(world.snapshot.count)
        report = reconcile(world.snapshot, bindings, bitmap, state)
        assert report["balanced"]
        assert (
            int(report["migrated"]["amount"]["planck"]) + int(report["pending"]["amount"]["planck"])
            == world.snapshot.total
        )
        index = {leaf.pubkey: leaf.index for leaf in leaves}
        minted = [index[m.account] for m in world.client.migrated_events(0)]
        assert len(minted) == len(set(minted)) == len(bound_keys)
        assert {i for i in range(world.snapshot.count) if i in bitmap} == {
            leaf.index for leaf in leaves if leaf.pubkey in bindings.valid
        }
        for leaf in leaves:
            expected = leaf.amount * SCALE if leaf.pubkey in bindings.valid else 0
            assert token.balanceOf(world.recipients[leaf.pubkey]) == expected
    finally:
        chain.restore(snap)
