"""Stateful property test: random sequences of post / claim / settle / batch / cancel / expire /
time travel against a model.

After every step: the escrow's PHA equals the sum of the active jobs' payments to the wei; each
job ended at most once (a second ending attempt fails on-chain); and what clients paid in equals
refunds + treasury + relayers + pools (staking's balance + what it slashed out) + escrow.
At the end of each sequence the AttestationLog rebuilt from events equals the on-chain head.

Speed: transactions go through raw web3 with a fixed gas limit (no estimation), the model says
whether each must succeed and the receipt status must agree; the chain is reverted to a
snapshot after every example. PHA_ESCROW_EXAMPLES (default 200, ~1.5 min; 1000 before a
release) sets the number of sequences, each at most 6 steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from web3.logs import DISCARD

from pha.attestation_log import fetch_entries, verify_chain
from pha.escrow.spec import JobSpec, input_hash
from pha.escrow.typed_data import ResultEntry, output_hash, sign_batch, sign_result

PHA = 10**18
EXAMPLES = int(os.environ.get("PHA_ESCROW_EXAMPLES", "200"))
ZERO = "0x" + "00" * 20
GAS = 3_000_000


@dataclass
class ModelJob:
    id: int
    spec: JobSpec
    payment: int
    claimer: str | None = None
    ended: bool = False


def _raw(w3, contract):
    abi = [a.model_dump(mode="json", by_alias=True) for a in contract.contract_type.abi]
    return w3.eth.contract(address=str(contract.address), abi=abi)


@pytest.fixture(scope="module")
def world(
    chain,
    escrow,
    token,
    staking,
    registry,
    attestation_log,
    client,
    relayer,
    treasury,
    worker,
    register_worker,
    pool,
    code,
    domain,
):
    other = register_worker(pool)
    w3 = chain.provider.web3
    return {
        "w3": w3,
        "escrow": _raw(w3, escrow),
        "token": _raw(w3, token),
        "log": _raw(w3, attestation_log),
        "log_address": str(attestation_log.address),
        "client": str(client.address),
        "relayer": str(relayer.address),
        "treasury": str(treasury.address),
        "staking": str(staking.address),
        "staking_treasury": str(staking.treasury()),
        "workers": [worker, other],
        "pool": pool,
        "measurement": code.measurement_id,
        "domain": domain,
        "fee_bps": int(escrow.protocolFeeBps()),
        "slash_bps": int(escrow.slashBps()),
        "start_block": attestation_log.creation_metadata.receipt.block_number,
    }


class EscrowMachine(RuleBasedStateMachine):
    world: ClassVar[dict] = {}

    @initialize()
    def start(self) -> None:
        w = self.world
        self.w3, self.escrow, self.token = w["w3"], w["escrow"], w["token"]
        self.jobs: list[ModelJob] = []
        self.ends = 0
        bal = self.token.functions.balanceOf
        self.paid_in = 0
        self.refunds = 0
        self.slashed = 0
        self.fees_owed = self.escrow.functions.feesOwed().call()
        self.relay_owed = self.escrow.functions.relayerOwed(w["relayer"]).call()
        self.base = {
            k: bal(w[k]).call() for k in ("client", "relayer", "treasury", "staking", "staking_treasury")
        }
        self.base["escrow"] = bal(self.escrow.address).call()
        self.base["fees_owed"], self.base["relay_owed"] = self.fees_owed, self.relay_owed
        self.client_spent_base = self.base["client"]

    # ------------------------------------------------------------------ helpers

    def _send(self, fn, sender: str, expect_ok: bool):
        tx = fn.transact({"from": sender, "gas": GAS})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == (1 if expect_ok else 0), f"expected {'success' if expect_ok else 'revert'}"
        return receipt

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _worker(self, i: int):
        return self.world["workers"][i % 2]

    def _accrue(self, job: ModelJob) -> None:
        fee = (job.payment - job.spec.relay_fee) * self.world["fee_bps"] // 10_000
        self.fees_owed += fee
        self.relay_owed += job.spec.relay_fee

    def _active(self) -> list[ModelJob]:
        return [j for j in self.jobs if not j.ended]

    def _settleable(self, job: ModelJob, worker: str, at: int) -> bool:
        return not job.ended and (job.claimer in (None, worker)) and at <= job.spec.deadline

    # ------------------------------------------------------------------ rules

    @rule(
        payment=st.integers(1, 50 * PHA),
        relay_pct=st.integers(0, 100),
        duration=st.integers(30, 3_000),
        chosen=st.sampled_from([None, 0, 1]),
    )
    def post(self, payment: int, relay_pct: int, duration: int, chosen: int | None) -> None:
        n = len(self.jobs)
        data = b"input %d %d" % (n, payment)
        worker = ZERO if chosen is None else self._worker(chosen).address
        spec = JobSpec(
            self.world["measurement"],
            input_hash(data),
            payment * relay_pct // 100,
            self._now() + 1 + duration,
            worker,
        )
        job_id = self.escrow.functions.nextJobId().call()
        self._send(self.escrow.functions.post(spec.as_tuple(), payment, data), self.world["client"], True)
        self.jobs.append(ModelJob(job_id, spec, payment))
        self.paid_in += payment

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 1))
    def claim(self, pick: int, who: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        worker = self._worker(who).address
        at = self._now() + 1
        ok = (
            not job.ended
            and job.claimer is None
            and job.spec.worker in (ZERO, worker)
            and at <= job.spec.deadline
        )
        self._send(
            self.escrow.functions.claim(job.id, job.spec.as_tuple(), worker), self.world["relayer"], ok
        )
        if ok:
            job.claimer = worker

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 1))
    def settle(self, pick: int, who: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        enclave = self._worker(who)
        out = b"out %d" % job.id
        sig = sign_result(
            self.world["domain"],
            ResultEntry(job.id, job.spec.input_hash, output_hash(out)),
            enclave.signer.key,
        )
        at = self._now() + 1
        ok = self._settleable(job, enclave.address, at) and job.spec.worker in (ZERO, enclave.address)
        fn = self.escrow.functions.settle(job.id, job.spec.as_tuple(), enclave.address, out, sig)
        self._send(fn, self.world["relayer"], ok)
        if ok:
            job.ended = True
            self.ends += 1
            self._accrue(job)

    @precondition(lambda self: self.jobs)
    @rule(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=4), who=st.integers(0, 1))
    def settle_batch(self, picks: list[int], who: int) -> None:
        enclave = self._worker(who)
        chosen = [self.jobs[p % len(self.jobs)] for p in picks]
        entries = [ResultEntry(j.id, j.spec.input_hash, output_hash(b"b%d" % j.id)) for j in chosen]
        sig = sign_batch(self.world["domain"], entries, enclave.signer.key)
        at = self._now() + 1
        paid: list[ModelJob] = []
        for j in chosen:
            if (
                j not in paid
                and self._settleable(j, enclave.address, at)
                and j.spec.worker in (ZERO, enclave.address)
            ):
                paid.append(j)
        args = [(j.id, j.spec.as_tuple(), b"b%d" % j.id) for j in chosen]
        fn = self.escrow.functions.settleBatch(enclave.address, self.world["measurement"], args, sig)
        receipt = self._send(fn, self.world["relayer"], bool(paid))
        if paid:
            settled = self.escrow.events.JobSettled().process_receipt(receipt, errors=DISCARD)
            assert [e.args.jobId for e in settled] == [j.id for j in paid]
            for j in paid:
                j.ended = True
                self.ends += 1
                self._accrue(j)

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        ok = not job.ended and job.claimer is None
        self._send(self.escrow.functions.cancel(job.id, job.spec.as_tuple()), self.world["client"], ok)
        if ok:
            job.ended = True
            self.ends += 1
            self.refunds += job.payment

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6))
    def expire(self, pick: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        ok = not job.ended and self._now() + 1 > job.spec.deadline
        claimer = job.claimer or ZERO
        pool = self.world["pool"] if job.claimer else 0
        receipt = self._send(
            self.escrow.functions.expire(job.id, job.spec.as_tuple(), claimer, pool),
            self.world["treasury"],
            ok,
        )
        if ok:
            [event] = self.escrow.events.JobExpired().process_receipt(receipt, errors=DISCARD)
            assert (event.args.slashed > 0) == (job.claimer is not None)
            self.slashed += event.args.slashed
            job.ended = True
            self.ends += 1
            self.refunds += job.payment

    @rule()
    def sweep(self) -> None:
        self._send(self.escrow.functions.sweepProtocolFees(), self.world["client"], self.fees_owed > 0)
        self.fees_owed = 0

    @rule()
    def withdraw(self) -> None:
        w = self.world
        fn = self.escrow.functions.withdrawRelayerFees(w["relayer"])
        self._send(fn, w["relayer"], self.relay_owed > 0)
        self.relay_owed = 0

    @rule(seconds=st.sampled_from([1, 60, 600, 3_600]))
    def time_travel(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    # ------------------------------------------------------------------ invariants

    @invariant()
    def escrow_holds_exactly_open_payments(self) -> None:
        if not hasattr(self, "jobs"):
            return
        held = self.token.functions.balanceOf(self.escrow.address).call() - self.base["escrow"]
        assert self.escrow.functions.feesOwed().call() == self.fees_owed
        assert self.escrow.functions.relayerOwed(self.world["relayer"]).call() == self.relay_owed
        base_owed = self.base["fees_owed"] + self.base["relay_owed"]
        assert held == sum(j.payment for j in self._active()) + self.fees_owed + self.relay_owed - base_owed
        for j in self.jobs:
            stored = self.escrow.functions.jobOf(j.id).call()
            assert (stored[0] == ZERO) == j.ended  # ended jobs' slots are cleared, active ones are not

    @invariant()
    def everything_posted_is_accounted_for(self) -> None:
        if not hasattr(self, "jobs"):
            return
        bal = self.token.functions.balanceOf
        w = self.world
        delta = {
            k: bal(w[k]).call() - self.base[k]
            for k in ("client", "relayer", "treasury", "staking", "staking_treasury")
        }
        held = bal(self.escrow.address).call() - self.base["escrow"]
        assert -delta["client"] == self.paid_in - self.refunds
        # Slashes move the pool's own stake from staking to its treasury (here the escrow's
        # treasury too): they are not posted PHA, so take them out of both sides.
        assert w["staking_treasury"] == w["treasury"]
        fees = delta["treasury"] - self.slashed
        pools = delta["staking"] + self.slashed
        assert self.paid_in == self.refunds + fees + delta["relayer"] + pools + held

    def teardown(self) -> None:
        if not hasattr(self, "jobs"):
            return
        w = self.world
        log = w["log"]
        head = bytes(log.functions.head().call())
        count = log.functions.count().call()
        last = self.w3.eth.block_number
        report = verify_chain(fetch_entries(self.w3, w["log_address"], w["start_block"], last), head, count)
        assert report.ok, report.problem


def test_escrow_state_machine(world, chain):
    EscrowMachine.world = world

    class Machine(EscrowMachine):
        def __init__(self) -> None:
            self._snapshot = chain.provider.web3.provider.make_request("evm_snapshot", [])["result"]
            super().__init__()

        def teardown(self) -> None:
            try:
                super().teardown()
            finally:
                chain.provider.web3.provider.make_request("evm_revert", [self._snapshot])

    Machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=6,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
        database=None,
    )
    Machine.TestCase().runTest()
