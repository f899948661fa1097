"""Stateful property test: random sequences of post / claim / settle / batch / cancel / expire /
payouts (sweep, withdraw, pool flush) / time travel against a model.

After every step: the escrow's PHA equals the sum of the active jobs' payments plus the accrued
unpaid amounts (protocol fees owed + the relayer's fees owed + the pool ledger's reward and fee),
to the wei, and every accrual equals the model's; ended jobs' slots are cleared and active ones
are not (a second ending attempt fails on-chain); Staking received exactly the pool shares the
model paid (batches and flushes); and what clients paid in equals refunds + treasury + relayers +
pools (staking's balance) + escrow. At the end of each sequence the
AttestationLog rebuilt from events equals the on-chain head.

Speed: transactions go straight to anvil's JSON-RPC (eth_sendTransactionSync from its unlocked
accounts, pre-encoded calldata, fixed gas) over one keep-alive connection, and each invariant
check is one batched JSON-RPC request; the model says whether each transaction must succeed and
the receipt status must agree. Every sequence starts from an evm_snapshot and ends with
evm_revert. PHA_ESCROW_EXAMPLES (default 1,000) sets the number of sequences, each at most
STEPS steps.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from eth_abi import decode, encode
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pha.attestation_log import fetch_entries, verify_chain
from pha.escrow.spec import JobSpec, input_hash
from pha.escrow.typed_data import ResultEntry, output_hash, sign_batch, sign_result

PHA = 10**18
EXAMPLES = int(os.environ.get("PHA_ESCROW_EXAMPLES", "1000"))
STEPS = 6
ZERO = "0x" + "00" * 20
GAS = hex(3_000_000)
SPEC = "(bytes32,bytes32,address,uint96,uint40,uint8)"
SIGS = {
    "post": f"post({SPEC},uint96,bytes)",
    "claim": f"claim(uint256,{SPEC},address)",
    "settle": f"settle(uint256,{SPEC},address,bytes,bytes)",
    "settleBatch": f"settleBatch(address,bytes32,(uint256,{SPEC},bytes)[],bytes)",
    "cancel": f"cancel(uint256,{SPEC})",
    "expire": f"expire(uint256,{SPEC},address,uint256)",
    "sweepProtocolFees": "sweepProtocolFees()",
    "withdrawRelayerFees": "withdrawRelayerFees(address)",
    "flushPoolRewards": "flushPoolRewards(uint256[])",
    "poolRewardsOwed": "poolRewardsOwed(uint256)",
    "poolFeesOwed": "poolFeesOwed(uint256)",
    "poolLedgerOpenedAt": "poolLedgerOpenedAt(uint256)",
    "feesOwed": "feesOwed()",
    "relayerOwed": "relayerOwed(address)",
    "jobOf": "jobOf(uint256)",
    "nextJobId": "nextJobId()",
    "balanceOf": "balanceOf(address)",
    "slashedOwed": "slashedOwed()",
}
JOB_EXPIRED = "0x" + keccak(text="JobExpired(uint256,address,uint256,uint256,uint256)").hex()
JOB_SETTLED = "0x" + keccak(text="JobSettled(uint256,address,bytes)").hex()


def calldata(name: str, *args: Any) -> str:
    sig = SIGS[name]
    types = sig[sig.index("(") + 1 : -1]
    # split the top-level argument list
    parts, depth, cur = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    return "0x" + (keccak(text=sig)[:4] + encode(parts, list(args))).hex()


class Rpc:
    """Minimal JSON-RPC over one keep-alive HTTP connection (web3's per-call overhead dominated)."""

    def __init__(self, uri: str) -> None:
        url = urlsplit(uri)
        self.host, self.port = url.hostname, url.port
        self._connect()

    def _connect(self) -> None:
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _post(self, body: Any) -> Any:
        try:
            self.conn.request("POST", "/", json.dumps(body), {"Content-Type": "application/json"})
            return json.loads(self.conn.getresponse().read())
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self._connect()
            raise

    def request(self, method: str, params: list) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return reply["result"]

    def send(self, sender: str, to: str, data: str, expect_ok: bool) -> dict:
        tx = {"from": sender, "to": to, "data": data, "gas": GAS}
        receipt = self.request("eth_sendTransactionSync", [tx])
        ok = int(receipt["status"], 16) == 1
        assert ok == expect_ok, f"expected {'success' if expect_ok else 'revert'}"
        return receipt

    def calls(self, items: list[tuple[str, str]]) -> list[bytes]:
        """eth_call of every (to, data) in one batched request."""
        body = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": to, "data": data}, "latest"]}
            for i, (to, data) in enumerate(items)
        ]
        replies = sorted(self._post(body), key=lambda r: r["id"])
        for r in replies:
            if "error" in r:
                raise AssertionError(f"eth_call: {r['error']}")
        return [bytes.fromhex(r["result"][2:]) for r in replies]


def _uint(raw: bytes) -> int:
    return int.from_bytes(raw[:32], "big")


@dataclass
class ModelJob:
    id: int
    spec: JobSpec
    payment: int
    claimer: str | None = None
    ended: bool = False


@pytest.fixture(scope="module")
def world(
    chain,
    escrow,
    token,
    staking,
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
    return {
        "rpc": Rpc(chain.provider.uri),
        "w3": chain.provider.web3,
        "escrow": str(escrow.address),
        "token": str(token.address),
        "log": attestation_log,
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
        "epoch": int(escrow.REWARD_EPOCH()),
        "start_block": attestation_log.creation_metadata.receipt.block_number,
    }


class EscrowMachine(RuleBasedStateMachine):
    world: ClassVar[dict] = {}

    @initialize()
    def start(self) -> None:
        w = self.world
        self.rpc: Rpc = w["rpc"]
        self.escrow, self.token = w["escrow"], w["token"]
        self.jobs: list[ModelJob] = []
        self.ends = 0
        self.paid_in = 0
        self.refunds = 0
        self.slashed = 0
        self.balance_keys = ("client", "relayer", "treasury", "staking", "staking_treasury")
        balances, owed = self._read_totals()
        self.fees_owed, self.relay_owed, self.ledger_reward, self.ledger_fee = owed
        self.pool_paid = 0
        opened = self.rpc.calls([(self.escrow, calldata("poolLedgerOpenedAt", self.world["pool"]))])[0]
        self.ledger_opened = _uint(opened)
        self.base = dict(zip((*self.balance_keys, "escrow"), balances, strict=True))
        self.base["owed"] = sum(owed)
        self.next_id = _uint(self.rpc.calls([(self.escrow, calldata("nextJobId"))])[0])
        self.base_slashed_owed = self._slashed_owed()
        self.now = int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    # ------------------------------------------------------------------ helpers

    def _slashed_owed(self) -> int:
        return _uint(self.rpc.calls([(self.world["staking"], calldata("slashedOwed"))])[0])

    def _read_totals(self) -> tuple[list[int], list[int]]:
        """Balances of the parties and the escrow; feesOwed, relayerOwed, the pool ledger's
        reward and fee: one batched request."""
        w = self.world
        items = [(self.token, calldata("balanceOf", w[k])) for k in self.balance_keys]
        items.append((self.token, calldata("balanceOf", self.escrow)))
        items.append((self.escrow, calldata("feesOwed")))
        items.append((self.escrow, calldata("relayerOwed", w["relayer"])))
        items.append((self.escrow, calldata("poolRewardsOwed", w["pool"])))
        items.append((self.escrow, calldata("poolFeesOwed", w["pool"])))
        raw = [_uint(r) for r in self.rpc.calls(items)]
        return raw[:-4], raw[-4:]

    def _send(self, sender: str, data: str, expect_ok: bool) -> dict:
        receipt = self.rpc.send(sender, self.escrow, data, expect_ok)
        self.now = int(
            self.rpc.request("eth_getBlockByNumber", [receipt["blockNumber"], False])["timestamp"], 16
        )
        return receipt

    def _next_ts(self) -> int:
        # anvil's automine stamps the next block at least one second after the latest one
        return self.now + 1

    def _worker(self, i: int):
        return self.world["workers"][i % 2]

    def _active(self) -> list[ModelJob]:
        return [j for j in self.jobs if not j.ended]

    def _settleable(self, job: ModelJob, worker: str, at: int) -> bool:
        return not job.ended and (job.claimer in (None, worker)) and at <= job.spec.deadline

    def _split(self, job: ModelJob) -> tuple[int, int]:
        """(pool share, protocol fee) of a settled job; the relay fee is the spec's."""
        fee = (job.payment - job.spec.relay_fee) * self.world["fee_bps"] // 10_000
        return job.payment - job.spec.relay_fee - fee, fee

    def _pay_ledger(self) -> None:
        """A batch or a flush empties the pool's ledger: its reward to Staking, its fee owed."""
        self.pool_paid += self.ledger_reward
        self.fees_owed += self.ledger_fee
        self.ledger_reward = self.ledger_fee = 0

    def _logs(self, receipt: dict, topic: str) -> list[dict]:
        return [
            log
            for log in receipt["logs"]
            if log["address"].lower() == self.escrow.lower() and log["topics"][0] == topic
        ]

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
            self.now + 1 + duration,
            worker,
        )
        self._send(self.world["client"], calldata("post", spec.as_tuple(), payment, data), True)
        self.jobs.append(ModelJob(self.next_id, spec, payment))
        self.next_id += 1
        self.paid_in += payment

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6), who=st.integers(0, 1))
    def claim(self, pick: int, who: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        worker = self._worker(who).address
        ok = (
            not job.ended
            and job.claimer is None
            and job.spec.worker in (ZERO, worker)
            and self._next_ts() <= job.spec.deadline
        )
        self._send(self.world["relayer"], calldata("claim", job.id, job.spec.as_tuple(), worker), ok)
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
        ok = self._settleable(job, enclave.address, self._next_ts()) and job.spec.worker in (
            ZERO,
            enclave.address,
        )
        data = calldata("settle", job.id, job.spec.as_tuple(), enclave.address, out, sig)
        self._send(self.world["relayer"], data, ok)
        if ok:
            job.ended = True
            self.ends += 1
            share, fee = self._split(job)
            self.relay_owed += job.spec.relay_fee
            at = self.now  # the settlement's block time
            empty = self.ledger_reward + self.ledger_fee == 0
            if empty:
                self.ledger_opened = at
            self.ledger_reward += share
            self.ledger_fee += fee
            epoch = self.world["epoch"]
            if not empty and at // epoch != self.ledger_opened // epoch:
                self._pay_ledger()  # a ledger of an earlier epoch is paid by the next single settlement

    @precondition(lambda self: self.jobs)
    @rule(picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=4), who=st.integers(0, 1))
    def settle_batch(self, picks: list[int], who: int) -> None:
        enclave = self._worker(who)
        chosen = [self.jobs[p % len(self.jobs)] for p in picks]
        entries = [ResultEntry(j.id, j.spec.input_hash, output_hash(b"b%d" % j.id)) for j in chosen]
        sig = sign_batch(self.world["domain"], entries, enclave.signer.key)
        at = self._next_ts()
        paid: list[ModelJob] = []
        for j in chosen:
            if (
                j not in paid
                and self._settleable(j, enclave.address, at)
                and j.spec.worker in (ZERO, enclave.address)
            ):
                paid.append(j)
        args = [(j.id, j.spec.as_tuple(), b"b%d" % j.id) for j in chosen]
        data = calldata("settleBatch", enclave.address, self.world["measurement"], args, sig)
        receipt = self._send(self.world["relayer"], data, bool(paid))
        if paid:
            settled = [int(log["topics"][1], 16) for log in self._logs(receipt, JOB_SETTLED)]
            assert settled == [j.id for j in paid]
            for j in paid:
                j.ended = True
                self.ends += 1
                share, fee = self._split(j)
                self.pool_paid += share
                self.fees_owed += fee
                self.relay_owed += j.spec.relay_fee
            self._pay_ledger()

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        ok = not job.ended and job.claimer is None
        self._send(self.world["client"], calldata("cancel", job.id, job.spec.as_tuple()), ok)
        if ok:
            job.ended = True
            self.ends += 1
            self.refunds += job.payment

    @precondition(lambda self: self.jobs)
    @rule(pick=st.integers(0, 10**6))
    def expire(self, pick: int) -> None:
        job = self.jobs[pick % len(self.jobs)]
        ok = not job.ended and self._next_ts() > job.spec.deadline
        claimer = job.claimer or ZERO
        pool = self.world["pool"] if job.claimer else 0
        data = calldata("expire", job.id, job.spec.as_tuple(), claimer, pool)
        receipt = self._send(self.world["treasury"], data, ok)
        if ok:
            [event] = self._logs(receipt, JOB_EXPIRED)
            _refund, slashed = decode(["uint256", "uint256"], bytes.fromhex(event["data"][2:]))
            assert (slashed > 0) == (job.claimer is not None)
            self.slashed += slashed
            job.ended = True
            self.ends += 1
            self.refunds += job.payment

    @rule()
    def sweep(self) -> None:
        # A sweep leaves one wei owed (the balance anchor); with only that left it reverts.
        self._send(self.world["client"], calldata("sweepProtocolFees"), self.fees_owed > 1)
        self.fees_owed = min(self.fees_owed, 1)

    @rule()
    def withdraw(self) -> None:
        w = self.world
        self._send(w["relayer"], calldata("withdrawRelayerFees", w["relayer"]), self.relay_owed > 0)
        self.relay_owed = 0

    @rule(twice=st.booleans())
    def flush(self, twice: bool) -> None:
        # Naming the pool twice pays its ledger once.
        pools = [self.world["pool"]] * (2 if twice else 1)
        ok = self.ledger_reward + self.ledger_fee > 0
        self._send(self.world["client"], calldata("flushPoolRewards", pools), ok)
        self._pay_ledger()

    @rule(seconds=st.sampled_from([1, 60, 600, 3_600]))
    def time_travel(self, seconds: int) -> None:
        self.rpc.request("evm_increaseTime", [seconds])
        self.rpc.request("evm_mine", [])
        self.now = int(self.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def escrow_holds_open_payments_plus_unpaid_fees_and_everything_is_accounted_for(self) -> None:
        if not hasattr(self, "jobs"):
            return
        balances, owed = self._read_totals()
        model = [self.fees_owed, self.relay_owed, self.ledger_reward, self.ledger_fee]
        assert owed == model
        now = dict(zip((*self.balance_keys, "escrow"), balances, strict=True))
        delta = {k: now[k] - self.base[k] for k in now}
        held = delta["escrow"]
        assert held == sum(j.payment for j in self._active()) + sum(model) - self.base["owed"]
        # ended jobs' slots are cleared, active ones are not
        if self.jobs:
            stored = self.rpc.calls([(self.escrow, calldata("jobOf", j.id)) for j in self.jobs])
            for j, raw in zip(self.jobs, stored, strict=True):
                assert (_uint(raw) == 0) == j.ended
        assert -delta["client"] == self.paid_in - self.refunds
        # A slash moves no tokens (the slashed stake stays in Staking, owed to its treasury until
        # swept), so the treasury's and staking's deltas are exactly fees and pool rewards.
        assert self.world["staking_treasury"] == self.world["treasury"]
        assert self._slashed_owed() == self.base_slashed_owed + self.slashed
        fees = delta["treasury"]
        pools = delta["staking"]
        assert pools == self.pool_paid
        assert self.paid_in == self.refunds + fees + delta["relayer"] + pools + held

    def teardown(self) -> None:
        if not hasattr(self, "jobs") or not self.jobs:
            return
        w = self.world
        log = w["log"]
        head = bytes(log.head())
        count = int(log.count())
        w3 = w["w3"]
        last = w3.eth.block_number
        report = verify_chain(fetch_entries(w3, w["log_address"], w["start_block"], last), head, count)
        assert report.ok, report.problem


def test_escrow_state_machine(world):
    EscrowMachine.world = world
    rpc: Rpc = world["rpc"]

    class Machine(EscrowMachine):
        def __init__(self) -> None:
            self._snapshot = rpc.request("evm_snapshot", [])
            super().__init__()

        def teardown(self) -> None:
            try:
                super().teardown()
            finally:
                rpc.request("evm_revert", [self._snapshot])

    Machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
        database=None,
    )
    Machine.TestCase().runTest()
