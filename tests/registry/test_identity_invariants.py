"""Property test (hypothesis stateful) for worker identity (issue 17, items 3 and 4): random
sequences of register (either pool, committee or dev verifier, evidence times around the key's
floor), renew (same key or rotation onto another key), invalidate (committee or dev, good or bad
verdicts, times around the worker's evidence), deregister, revoke / re-allow the measurement and
time passing, against the real WorkerRegistry on anvil, checked after every step against an exact
reference model:

  floor(key)    = the newest verdict time accepted for the key (admission, renewal or
                  invalidation), kept across deregistration and rotation;
  admission     succeeds iff the key is free (register) / registered (renew), the verdict is
                  strictly newer than floor(key) (and than floor(new key) on rotation) and the
                  measurement is allowed; each refusal is expected by its custom error's name;
  invalidation  succeeds iff the worker is registered, not invalidated, the verifier is the one
                  that admitted it, the verdict is strictly newer than its evidence and below policy;
  eligible(key) = registered, not invalidated, measurement allowed, now < attestedUntil.

and the property itself: whenever a key is eligible, its evidence is strictly newer than every
invalidation the key ever had.

Each sequence starts from chain.snapshot() and ends with chain.restore(). Every transaction is
mined at a time the model chooses (one second after the last, or later), so the dev verifier's
`verifiedAt = now` is known exactly.
"""

from __future__ import annotations

import logging
import os

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from pha.quote.tcb import TcbStatus
from tests.stateful import run_on_chain
from tests.world import Code, Enclave, committee_evidence

log = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("REGISTRY_IDENTITY_EXAMPLES", "40"))
STEPS = 14
DAY = 86_400
KEYS = 3
# Verdict times relative to (floor, now): around the floor to hit equality, and recent ones.
TIME_CHOICES = ("floor-1", "floor", "floor+1", "now-600", "now", "now+100")
ADMIT_STATUSES = (TcbStatus.UpToDate, TcbStatus.ConfigurationAndSWHardeningNeeded)
INVALIDATE_STATUSES = (TcbStatus.UpToDate, TcbStatus.OutOfDate, TcbStatus.Revoked)


def error_name(call) -> str | None:
    try:
        call()
    except Exception as error:  # Ape raises the contract's custom error as its own class
        return type(error).__name__
    return None


def test_identity_invariants__random_sequences_hold(
    chain,
    registry,
    committee,
    dev_verifier,
    attester_keys,
    open_pool,
    operator,
    gov,
    default_policy,
    record_property,
):
    code = Code.named("identity-invariants")
    measurement = code.measurement_id
    registry.allowMeasurement(measurement, default_policy, ("inv", bytes(20), bytes(32)), sender=gov)
    pools = [open_pool(operator), open_pool(operator)]
    keys = [Enclave(code) for _ in range(KEYS)]
    verifiers = {"committee": committee, "dev": dev_verifier}
    stats = {"examples": 0, "steps": 0, "ok": 0, "refused": 0}

    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            stats["examples"] += 1
            self.now = chain.blocks.head.timestamp
            self.kept = [0] * KEYS  # floors kept after the record is gone
            self.rec: list[dict | None] = [None] * KEYS
            self.invalidations: list[list[int]] = [[] for _ in range(KEYS)]
            self.allowed = True

        def teardown(self):
            chain.restore(self.snapshot)

        # ------------------------------------------------------------ model helpers

        def pick(self, target: int, registered: bool) -> int:
            """Mostly a key in the wanted state (so most calls can succeed), sometimes any key."""
            wanted = [k for k in range(KEYS) if (self.rec[k] is not None) == registered]
            return wanted[target % len(wanted)] if wanted and target < 8 else target % KEYS

        def floor(self, k: int) -> int:
            r = self.rec[k]
            return max(self.kept[k], r["verified_at"]) if r else self.kept[k]

        def verdict_time(self, choice: str, floor: int) -> int:
            t = {
                "floor-1": floor - 1,
                "floor": floor,
                "floor+1": floor + 1,
                "now-600": self.now - 600,
                "now": self.now,
                "now+100": self.now + 100,
            }[choice]
            # keep every verdict fresh enough for the registry (maxVerdictAge = 1 day) and the
            # committee (unexpired, at most 5 minutes ahead); the floor choices are the point
            return min(max(t, self.now - DAY + 60), self.now + 200)

        def tick(self) -> int:
            self.now += 1
            chain.pending_timestamp = self.now
            return self.now

        def evidence(self, key: Enclave, pool: int, name: str, t: int, status: TcbStatus):
            quote = key.quote(chain.chain_id, registry.address, pool)
            if name == "dev":
                return quote, b"", self.now, self.now + DAY
            ev = committee_evidence(
                quote,
                attester_keys[:2],
                chain.chain_id,
                committee.address,
                t,
                tcb_status=status,
                lifetime=DAY,
            )
            return quote, ev, t, t + DAY

        def outcome(self, expected: str | None, got: str | None) -> None:
            assert got == expected, f"expected {expected}, got {got}"
            stats["ok" if got is None else "refused"] += 1
            stats[got or "admitted/invalidated/deregistered"] = (
                stats.get(got or "admitted/invalidated/deregistered", 0) + 1
            )

        # ------------------------------------------------------------ rules

        @rule(
            k=st.integers(0, 9),
            p=st.integers(0, 1),
            name=st.sampled_from(["committee", "dev"]),
            choice=st.sampled_from(TIME_CHOICES),
            status=st.sampled_from(ADMIT_STATUSES),
        )
        def register(self, k, p, name, choice, status):
            k = self.pick(k, registered=False)
            self.tick()
            key, pool = keys[k], pools[p]
            quote, ev, t, expires = self.evidence(
                key, pool, name, self.verdict_time(choice, self.floor(k)), status
            )
            if self.rec[k] is not None:
                expected = "RegistryWorkerExists"
            elif t <= self.floor(k):
                expected = "RegistryEvidenceNotNewer"
            elif not self.allowed:
                expected = "RegistryMeasurementNotAllowed"
            else:
                expected = None
            got = error_name(
                lambda: registry.registerWorker(
                    pool, key.address, key.encryption_key, verifiers[name], quote, ev, sender=operator
                )
            )
            self.outcome(expected, got)
            if got is None:
                self.rec[k] = {
                    "pool": p,
                    "verified_at": t,
                    "until": expires,
                    "verifier": name,
                    "invalidated": False,
                }

        @precondition(lambda self: any(r is not None for r in self.rec))
        @rule(
            k=st.integers(0, 9),
            n=st.integers(0, 9),
            name=st.sampled_from(["committee", "dev"]),
            choice=st.sampled_from(TIME_CHOICES),
            status=st.sampled_from(ADMIT_STATUSES),
        )
        def renew(self, k, n, name, choice, status):
            k = self.pick(k, registered=True)
            n = k if n < 5 else self.pick(n - 5, registered=False)  # same key, or a rotation
            self.tick()
            old = self.rec[k]
            floor = self.floor(k) if n == k else max(self.floor(k), self.floor(n))
            pool = pools[old["pool"]] if old else pools[0]
            key = keys[n]
            quote, ev, t, expires = self.evidence(key, pool, name, self.verdict_time(choice, floor), status)
            if old is None:
                expected = "RegistryUnknownWorker"
            elif n != k and self.rec[n] is not None:
                expected = "RegistryWorkerExists"
            elif t <= floor:
                expected = "RegistryEvidenceNotNewer"
            elif not self.allowed:
                expected = "RegistryMeasurementNotAllowed"
            else:
                expected = None
            got = error_name(
                lambda: registry.renewWorker(
                    keys[k].address,
                    key.address,
                    key.encryption_key,
                    verifiers[name],
                    quote,
                    ev,
                    sender=operator,
                )
            )
            self.outcome(expected, got)
            if got is None:
                if n != k:
                    self.kept[k] = max(self.kept[k], old["verified_at"])
                    self.rec[k] = None
                self.rec[n] = {
                    "pool": old["pool"],
                    "verified_at": t,
                    "until": expires,
                    "verifier": name,
                    "invalidated": False,
                }

        @precondition(lambda self: any(r is not None for r in self.rec))
        @rule(
            k=st.integers(0, 9),
            name=st.sampled_from(["committee", "dev"]),
            choice=st.sampled_from(TIME_CHOICES),
            status=st.sampled_from(INVALIDATE_STATUSES),
        )
        def invalidate(self, k, name, choice, status):
            k = self.pick(k, registered=True)
            self.tick()
            r = self.rec[k]
            pool = pools[r["pool"]] if r else pools[0]
            quote, ev, t, _ = self.evidence(
                keys[k], pool, name, self.verdict_time(choice, self.floor(k)), status
            )
            if r is None or r["invalidated"]:
                expected = "RegistryUnknownWorker"
            elif name != r["verifier"]:
                expected = "RegistryInvalidatorNotAccepted"
            elif t <= r["verified_at"]:
                expected = "RegistryEvidenceNotNewer"
            elif name == "dev" or status == TcbStatus.UpToDate:
                expected = "RegistryWorkerStillValid"  # the dev verifier only ever says UpToDate
            else:
                expected = None
            got = error_name(
                lambda: registry.invalidateWorker(
                    keys[k].address, keys[k].encryption_key, verifiers[name], quote, ev, sender=operator
                )
            )
            self.outcome(expected, got)
            if got is None:
                r["invalidated"] = True
                r["verified_at"] = t
                self.invalidations[k].append(t)

        @precondition(lambda self: any(r is not None for r in self.rec))
        @rule(k=st.integers(0, 9))
        def deregister(self, k):
            k = self.pick(k, registered=True)
            self.tick()
            r = self.rec[k]
            expected = "RegistryUnknownWorker" if r is None else None
            got = error_name(lambda: registry.deregisterWorker(keys[k].address, sender=operator))
            self.outcome(expected, got)
            if got is None:
                self.kept[k] = max(self.kept[k], r["verified_at"])
                self.rec[k] = None

        @rule()
        def revoke_or_reallow(self):
            self.tick()
            if self.allowed:
                registry.revokeMeasurement(measurement, sender=gov)
            else:
                registry.allowMeasurement(
                    measurement, default_policy, ("inv", bytes(20), bytes(32)), sender=gov
                )
            self.allowed = not self.allowed

        @rule(seconds=st.sampled_from([1, 300, 3_600, DAY + 1]))
        def time_passes(self, seconds):
            self.now += seconds
            chain.mine(timestamp=self.now)

        # ------------------------------------------------------------ checks

        @invariant()
        def matches_model(self):
            stats["steps"] += 1
            assert chain.blocks.head.timestamp == self.now
            for k, key in enumerate(keys):
                r = self.rec[k]
                info = registry.workerInfo(key.address)
                assert registry.evidenceFloor(key.address) == self.floor(k)
                assert info.registered == (r is not None)
                eligible = bool(r) and not r["invalidated"] and self.allowed and self.now < r["until"]
                assert registry.isEligible(key.address, measurement) == eligible, (k, r, self.now)
                if r is not None:
                    assert info.verifiedAt == r["verified_at"] and info.invalidated == r["invalidated"]
                    assert info.poolId == pools[r["pool"]]
                    assert registry.workerVerifier(key.address) == verifiers[r["verifier"]].address
                # the property: an eligible key's evidence is newer than each of its invalidations
                if eligible:
                    assert all(info.verifiedAt > t for t in self.invalidations[k])

    run_on_chain(Machine, EXAMPLES, STEPS)
    record_property("sequences", stats["examples"])
    log.warning("registry identity invariants: %s", stats)
    assert stats["examples"] >= EXAMPLES and stats["ok"] > 0 and stats["refused"] > 0
