"""Escrow gas: post, claim, settle one, batch settle (per job at 1/10/50/100), expire with a slash,
and the jobs per second the batch figure allows in a 30M-gas, 2-second L2 block.

The world: token, staking (one pool, 10,000 PHA), attestation log, registry with the dev
verifier, one simulated TDX worker, the escrow wired as deploy does. Every measured operation
runs after a warm-up of the same kind, so balances (treasury, relayer, staking), the log head
and the pool are already non-zero: the steady state of a busy deployment.

Protocol and relay fees accrue in the escrow (pull payments). So that every row runs from the
same state as when fees were transferred at once (treasury and relayer hold PHA, the escrow
holds only the jobs being measured), the accrued fees are paid out (`sweepProtocolFees`,
`withdrawRelayerFees`) before each measured operation. The `.busy` rows measure post and expire
with the escrow holding other PHA (an open job), the common case of a live deployment.
"""

from __future__ import annotations

import os
from typing import Any

from eth_account import Account
from eth_utils import keccak

from bench.common import BenchEnv, Row, gas
from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE
from pha.escrow.spec import ZERO_ADDRESS, JobSpec, input_hash
from pha.escrow.typed_data import Domain, ResultEntry, output_hash, sign_batch, sign_result
from pha.quote.binding import report_data
from pha.quote.dev import DEV_ADDRESS, simulated_tdx_quote
from pha.quote.measurement import tdx_measurement_id

PHA = 10**18
DAY = 86_400
BLOCK_GAS, BLOCK_SECONDS = 30_000_000, 2
FLUSH_EVERY = 10  # single settlements per pool flush in the amortised row
GOALS = {"post": 120_000, "claim": 60_000, "settle_one": 90_000, "batch": 25_000, "expire": 90_000}
OUTPUT = b'{"ok":true,"answer":"' + b"x" * 32 + b'"}'  # a 45-byte output, emitted in JobSettled


class World:
    """The deployed stack and one registered worker."""

    def __init__(self, env: BenchEnv) -> None:
        p, acc = env.project, env.accounts
        self.env = env
        self.gov, self.client, self.operator, self.relayer, self.treasury = (
            acc[0],
            acc[1],
            acc[4],
            acc[5],
            acc[8],
        )
        gov = self.gov
        self.token = gov.deploy(p.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
        self.token.grantRole(self.token.MINTER_ROLE(), gov, sender=gov)
        self.staking = gov.deploy(p.Staking, self.token, gov, self.treasury)
        self.log = gov.deploy(p.AttestationLog, gov)
        self.registry = gov.deploy(p.WorkerRegistry, gov, self.staking, self.log, 7 * DAY, DAY)
        self.staking.setRegistry(self.registry, sender=gov)
        verifier = gov.deploy(p.DevQuoteVerifier, gov, DEV_ADDRESS, DAY)
        self.registry.setVerifier(verifier, True, sender=gov)
        self.escrow = gov.deploy(
            p.JobEscrow, gov, self.token, self.staking, self.registry, self.log, self.treasury, 100, 1_000
        )
        self.staking.grantRole(self.staking.SLASHER_ROLE(), self.escrow, sender=gov)
        self.log.setWriters(self.registry, self.escrow, ZERO_ADDRESS, sender=gov)
        self.staking.setRewardLedgers(self.escrow, ZERO_ADDRESS, sender=gov)

        regs = [(keccak(f"bench/{i}".encode()) * 2)[:48] for i in range(4)]
        self.measurement = tdx_measurement_id(*regs)
        policy = (2, 0, 3, 0, bytes([1]) + bytes(15), bytes(16))
        self.registry.allowMeasurement(self.measurement, policy, ("bench", bytes(20), bytes(32)), sender=gov)
        self.token.minterMint(self.operator, 10_000 * PHA, sender=gov)
        self.staking.openPool(1_000, sender=self.operator)
        self.pool = int(self.staking.poolCount())
        self.token.approve(self.staking, 10_000 * PHA, sender=self.operator)
        self.staking.invoke_transaction("delegate", self.pool, 10_000 * PHA, sender=self.operator)
        self.registry.setRelayer(self.pool, self.relayer, True, sender=self.operator)
        self.worker = Account.create()
        enc_key = os.urandom(32)
        data = report_data(
            env.chain.chain_id, str(self.registry.address), self.worker.address, enc_key, self.pool
        )
        quote = simulated_tdx_quote(
            mr_td=regs[0], rt_mr0=regs[1], rt_mr1=regs[2], rt_mr2=regs[3], report_data=data
        )
        self.registry.registerWorker(
            self.pool, self.worker.address, enc_key, verifier, quote, b"", sender=self.operator
        )
        self.token.minterMint(self.client, 1_000_000 * PHA, sender=gov)
        self.token.approve(self.escrow, 2**256 - 1, sender=self.client)
        self.domain = Domain(env.chain.chain_id, str(self.escrow.address))
        self.count = 0

    def post(self, duration: int = 3_600) -> tuple[int, JobSpec, Any]:
        self.count += 1
        data = b'{"handler":"echo","data":"job %d"}' % self.count
        spec = JobSpec(
            measurement_id=self.measurement,
            input_hash=input_hash(data),
            relay_fee=PHA // 10,
            deadline=self.env.chain.pending_timestamp + duration,
        )
        tx = self.escrow.post(spec.as_tuple(), 10 * PHA, data, sender=self.client)
        return int(tx.decode_logs(self.escrow.JobPosted)[0].jobId), spec, tx

    def payout(self) -> Any:
        """Pays accrued fees and pool credits out: the escrow then holds only open jobs'
        payments (and the 1-wei fee anchor); the treasury, the relayer and Staking hold PHA.
        Returns the pool flush's receipt, if there was one."""
        flush = None
        if int(self.escrow.poolRewardsOwed(self.pool)):
            flush = self.escrow.flushPoolRewards([self.pool], sender=self.relayer)
        if int(self.escrow.feesOwed()) > 1:  # a sweep leaves 1 wei owed (the balance anchor)
            self.escrow.sweepProtocolFees(sender=self.gov)
        if int(self.escrow.relayerOwed(self.relayer)):
            self.escrow.withdrawRelayerFees(self.relayer, sender=self.relayer)
        return flush

    def settle(self, job_id: int, spec: JobSpec) -> Any:
        entry = ResultEntry(job_id, spec.input_hash, output_hash(OUTPUT))
        sig = sign_result(self.domain, entry, self.worker.key)
        return self.escrow.settle(
            job_id, spec.as_tuple(), self.worker.address, OUTPUT, sig, sender=self.relayer
        )

    def settle_batch(self, jobs: list[tuple[int, JobSpec]]) -> Any:
        entries = [ResultEntry(j, s.input_hash, output_hash(OUTPUT)) for j, s in jobs]
        sig = sign_batch(self.domain, entries, self.worker.key)
        args = [(j, s.as_tuple(), OUTPUT) for j, s in jobs]
        return self.escrow.settleBatch(self.worker.address, self.measurement, args, sig, sender=self.relayer)


def _post_many(world: World, n: int) -> list[tuple[int, JobSpec]]:
    return [world.post()[:2] for _ in range(n)]


def _staking_with_ledgers(w: World) -> list[Row]:
    """Staking's delegate / undelegate in a pool with a registered worker: Staking asks the
    escrow for the pool's ledger first (one call per ledger holder; the former holder unset)."""
    w.payout()
    newcomer = w.env.accounts[6]
    w.token.minterMint(newcomer, 2_000 * PHA, sender=w.gov)
    w.token.approve(w.staking, 500 * PHA, sender=newcomer)  # exact, as staking.delegate's
    delegate = gas(w.staking.invoke_transaction("delegate", w.pool, 500 * PHA, sender=newcomer))
    held = int(w.staking.sharesOf(w.pool, newcomer))
    undelegate = gas(w.staking.undelegate(w.pool, held // 2, sender=newcomer))
    for _ in range(FLUSH_EVERY):
        w.settle(*w.post()[:2])
    w.token.approve(w.staking, 500 * PHA, sender=newcomer)
    taking = gas(w.staking.invoke_transaction("delegate", w.pool, 500 * PHA, sender=newcomer))
    note = "pool with a registered worker, escrow set as the reward-ledger holder"
    return [
        Row(
            "staking.delegate.with_workers",
            delegate,
            "gas",
            110_000,
            note=f"as staking.delegate (new delegator, approval spent to 0), {note}; its ledger empty",
        ),
        Row(
            "staking.undelegate.with_workers",
            undelegate,
            "gas",
            110_000,
            note=f"as staking.undelegate (first request, queue non-empty), {note}; its ledger empty",
        ),
        Row(
            "staking.delegate.takes_ledger",
            taking,
            "gas",
            None,
            note=f"existing delegator adds to its position, {note}; {FLUSH_EVERY} single settlements "
            "waiting: Staking takes the ledger (reward booked, PHA pulled from the escrow) first",
        ),
    ]


def measure(env: BenchEnv) -> list[Row]:
    w = World(env)
    w.settle(*w.post()[:2])  # warm-up: treasury, relayer, staking, log head all non-zero
    w.payout()
    _, _, post_tx = w.post()
    post = gas(post_tx)
    job, spec, _ = w.post()
    claim = gas(w.escrow.claim(job, spec.as_tuple(), w.worker.address, sender=w.relayer))
    w.payout()
    settle_claimed = gas(w.settle(job, spec))
    job, spec, _ = w.post()
    w.payout()
    settle_one = gas(w.settle(job, spec))
    # The pool's share of single settlements reaches Staking by a flush (or the pool's next
    # batch): one Staking.reward for every settlement since the last one.
    for _ in range(FLUSH_EVERY - 1):
        w.settle(*w.post()[:2])
    flush = gas(w.payout())

    batch: dict[int, float] = {}
    for size in (1, 10, 50, 100):
        jobs = _post_many(w, size)
        w.payout()
        batch[size] = gas(w.settle_batch(jobs)) / size

    def claimed_past_deadline() -> tuple[int, JobSpec]:
        job, spec, _ = w.post(duration=60)
        w.escrow.claim(job, spec.as_tuple(), w.worker.address, sender=w.relayer)
        env.chain.mine(timestamp=env.chain.pending_timestamp + 120)
        return job, spec

    # warm-up: a first slash ever writes Staking's slashed-PHA slot from zero
    job, spec = claimed_past_deadline()
    w.escrow.expire(job, spec.as_tuple(), w.worker.address, w.pool, sender=w.gov)
    job, spec = claimed_past_deadline()
    w.payout()
    expire = gas(w.escrow.expire(job, spec.as_tuple(), w.worker.address, w.pool, sender=w.gov))
    job, spec, _ = w.post(duration=60)
    env.chain.mine(timestamp=env.chain.pending_timestamp + 120)
    expire_open = gas(w.escrow.expire(job, spec.as_tuple(), "0x" + "00" * 20, 0, sender=w.gov))

    # Busy: another job stays open, so the escrow's balance never reaches zero.
    w.post(duration=7_200)
    post_busy = gas(w.post()[2])
    job, spec = claimed_past_deadline()
    expire_busy = gas(w.escrow.expire(job, spec.as_tuple(), w.worker.address, w.pool, sender=w.gov))

    per_job = batch[50]
    jobs_per_s = BLOCK_GAS / per_job / BLOCK_SECONDS
    ledger_rows = _staking_with_ledgers(w)
    return [
        *ledger_rows,
        Row(
            "escrow.post",
            post,
            "gas",
            GOALS["post"],
            note="approve-based, ~35-byte input in the event, 2 new job slots, client already holds PHA; "
            "no other job open, fees swept (the escrow holds only the 1-wei fee anchor)",
        ),
        Row(
            "escrow.post.busy",
            post_busy,
            "gas",
            GOALS["post"],
            note="as escrow.post, with the escrow already holding PHA (another job open)",
        ),
        Row(
            "escrow.claim",
            claim,
            "gas",
            GOALS["claim"],
            note="open job claimed by an authorised relayer (registry check, commitment rewritten)",
        ),
        Row(
            "escrow.settle_one",
            settle_one,
            "gas",
            GOALS["settle_one"],
            note="unclaimed job, 45-byte output; relay fee accrued to the relayer, the pool's share "
            "and the 1% fee entered in the pool's ledger in the escrow (paid by the pool's next "
            "batch or flush: see escrow.flush_pool); one AttestationLog entry; job slots cleared",
        ),
        Row(
            "escrow.flush_pool",
            flush,
            "gas",
            None,
            note=f"flushPoolRewards([pool]) after {FLUSH_EVERY} single settlements: one Staking.reward "
            "(token transfer under the standing allowance) pays the ledger's share, its fee moves "
            "to feesOwed",
        ),
        Row(
            f"escrow.settle_one.with_flush_share.f{FLUSH_EVERY}",
            round(settle_one + flush / FLUSH_EVERY),
            "gas",
            None,
            note=f"settle_one plus a 1/{FLUSH_EVERY} share of a pool flush (a relayer flushing every "
            f"{FLUSH_EVERY} single settlements)",
        ),
        Row(
            "escrow.settle_one.claimed",
            settle_claimed,
            "gas",
            GOALS["settle_one"],
            note="as settle_one, for a job claimed first",
        ),
        *[
            Row(
                f"escrow.settle_batch.b{n}",
                round(batch[n]),
                "gas",
                GOALS["batch"] if n == 50 else None,
                note=f"gas per job: one settleBatch of {n} unclaimed jobs, one signature, "
                "fees accrued once, one Staking.reward (the batch's share, nothing credited before), "
                "one appendBatch",
            )
            for n in (1, 10, 50, 100)
        ],
        Row(
            "escrow.expire",
            expire,
            "gas",
            GOALS["expire"],
            note="claimed job after its deadline: refund to the client + Staking.slash of 10% of the "
            "payment; the escrow held only this job (its balance goes to zero). Missed since the slash "
            "first asks the registry whether governance stopped the worker (stoppedByGovernance, "
            "≈9.2k: a cold account and two cold slots): an honest pool is not slashed for a revocation",
        ),
        Row(
            "escrow.expire.busy",
            expire_busy,
            "gas",
            GOALS["expire"],
            note="as escrow.expire, with another job open (the escrow's balance stays non-zero)",
        ),
        Row(
            "escrow.expire.unclaimed",
            expire_open,
            "gas",
            None,
            note="unclaimed job after its deadline: refund only",
        ),
        Row(
            "escrow.jobs_per_s_in_30m_gas_2s_block",
            round(jobs_per_s, 1),
            "jobs/s",
            None,
            better="higher",
            note=f"30,000,000 gas / {per_job:,.0f} gas per job (batch of 50) / 2 s",
        ),
    ]
