"""Property test (hypothesis stateful): random sequences of delegate / undelegate / withdraw /
reward / slash / claim / commission change / time travel against the real contract on anvil.

After every step:
  1. PHA held by the contract == sum over pools of active + queued + unclaimed commission
     + slashed PHA not yet swept to the treasury, to the wei;
  2. each pool's active price (A + 1) / (S + 1e3) and queue rate QA / QS never fall except by a slash;
  3. a slash takes at most maxSlashBps of the backing, pro rata;
  4. no delegator has withdrawn more than they delegated plus their share of rewards (the net
     reward times their fraction of the active shares at the time of each reward);
and at the end of each sequence the delegators' shares and open requests add up to the pools'.

Transactions go straight to anvil's JSON-RPC (eth_sendTransaction from its unlocked accounts,
fixed gas) rather than through Ape, so that 1,000 sequences fit in about two minutes; each
sequence starts from a chain.snapshot() and ends with chain.restore() (Ape's own snapshot
stack, so the suite's per-test isolation stays intact).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
from fractions import Fraction
from urllib.parse import urlsplit

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.conftest import PHA
from tests.staking.conftest import MIN_DELEGATION, VIRTUAL_SHARES
from tests.stateful import run_on_chain

log = logging.getLogger(__name__)
# STAKING_EXAMPLES overrides the count for quick local runs; the suite runs 1,000.
EXAMPLES = int(os.environ.get("STAKING_EXAMPLES", "1000"))
STEPS = 10
POOL_INFO = "(address,uint16,uint16,uint64,uint256,uint256,uint256,uint256,uint256)"


class Abi:
    """Selectors and types of one contract, computed once (web3's per-call ABI lookup hashes
    every entry on every call, which dominated the run time)."""

    def __init__(self, contract_type):
        self.functions = {}
        for method in [*contract_type.mutable_methods, *contract_type.view_methods]:
            selector = keccak(text=method.selector)[:4]
            inputs = [i.canonical_type for i in method.inputs]
            outputs = [o.canonical_type for o in method.outputs]
            self.functions[method.name] = (selector, inputs, outputs)
        self.events = {}
        for event in contract_type.events:
            data = [(i.name, i.canonical_type) for i in event.inputs if not i.indexed]
            self.events[event.name] = ("0x" + keccak(text=event.selector).hex(), data)

    def encode(self, fn, args):
        selector, inputs, _ = self.functions[fn]
        return "0x" + (selector + encode(inputs, list(args))).hex()


class Rpc:
    """Minimal JSON-RPC access to the contracts over one keep-alive HTTP connection: encoded
    calls, eth_sendTransactionSync (the receipt in one round trip)."""

    def __init__(self, provider, staking, token):
        url = urlsplit(provider.uri)
        self.host, self.port = url.hostname, url.port
        self._connect()
        self.staking_addr = str(staking.address)
        self.token_addr = str(token.address)
        self.abi = {self.staking_addr: Abi(staking.contract_type), self.token_addr: Abi(token.contract_type)}

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method, params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        try:
            self.conn.request("POST", "/", body, {"Content-Type": "application/json"})
            reply = json.loads(self.conn.getresponse().read())
        except (http.client.HTTPException, OSError):
            # never leave the connection half-used: the next request would fail with
            # CannotSendRequest and hide the real error
            self.conn.close()
            self._connect()
            raise
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return reply["result"]

    def send(self, sender, fn, *args, to=None):
        to = to or self.staking_addr
        data = self.abi[to].encode(fn, args)
        tx = {"from": str(sender), "to": to, "data": data, "gas": hex(600_000), "gasPrice": hex(10**10)}
        receipt = self.request("eth_sendTransactionSync", [tx])
        assert int(receipt["status"], 16) == 1, f"{fn}{args} reverted"
        return receipt

    def events(self, receipt, name):
        """Non-indexed args of the staking contract's `name` events in a receipt."""
        topic, data = self.abi[self.staking_addr].events[name]
        found = []
        for log in receipt["logs"]:
            if log["address"].lower() == self.staking_addr.lower() and log["topics"][0] == topic:
                values = decode([t for _, t in data], bytes.fromhex(log["data"][2:]))
                found.append(dict(zip([n for n, _ in data], values, strict=True)))
        return found

    def call(self, fn, *args, to=None):
        to = to or self.staking_addr
        abi = self.abi[to]
        raw = self.request("eth_call", [{"to": to, "data": abi.encode(fn, args)}, "latest"])
        return decode(abi.functions[fn][2], bytes.fromhex(raw[2:]))

    def pool(self, pool_id):
        (info,) = self.call("poolInfo", pool_id)
        fields = dict(
            zip(("operator", "bps", "pending", "at", "A", "S", "QA", "QS", "owed"), info, strict=True)
        )
        fields["operator"] = to_checksum_address(fields["operator"])
        return fields

    def shares(self, pool_id, who):
        return self.call("sharesOf", pool_id, str(who))[0]

    def balance(self, who):
        return self.call("balanceOf", str(who), to=self.token_addr)[0]

    def now(self):
        return int(self.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def to_assets(shares, assets, total):
    return shares * (assets + 1) // (total + VIRTUAL_SHARES)


def build_world(chain, project, token, gov, fund, accounts):
    """Two pools and funded delegators. Built inside the test body (not a fixture) so that Ape's
    per-test snapshot reverts it: changes made by function-scoped fixtures can outlive the test."""
    treasury = accounts[7]
    staking = gov.deploy(project.Staking, token, gov, treasury)
    operators = [accounts[4], accounts[5]]
    staking.openPool(1_000, sender=operators[0])
    staking.openPool(0, sender=operators[1])
    delegators = [accounts[1], accounts[2], accounts[3], accounts[9]]
    payer = accounts[6]
    for who in [*delegators, payer]:
        fund(who, 10**6 * PHA)
        token.approve(staking, 2**256 - 1, sender=who)
    return {
        "rpc": Rpc(chain.provider, staking, token),
        "gov": str(gov.address),
        "operators": [str(o.address) for o in operators],
        "delegators": [str(d.address) for d in delegators],
        "payer": str(payer.address),
        "treasury": str(treasury.address),
        "staking": staking,
    }


def test_invariants__random_sequences_hold(chain, project, token, gov, fund, accounts, record_property):
    world = build_world(chain, project, token, gov, fund, accounts)
    rpc = world["rpc"]
    stats = {"examples": 0, "steps": 0}

    class StakingMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            stats["examples"] += 1
            self.deposited = {d: 0 for d in world["delegators"]}
            self.withdrawn = {d: 0 for d in world["delegators"]}
            self.entitled = {d: Fraction(0) for d in world["delegators"]}
            self.requests = []  # (pool, delegator, id, unlockAt)
            self.next_id = {}
            self.claimed = 0
            self.prices = {p: self._prices(rpc.pool(p)) for p in (1, 2)}
            self.slashed_since = {1: False, 2: False}

        @staticmethod
        def _prices(info):
            active = Fraction(info["A"] + 1, info["S"] + VIRTUAL_SHARES)
            queue = Fraction(info["QA"], info["QS"]) if info["QS"] else None
            return active, queue

        def teardown(self):
            try:
                for p in (1, 2):
                    info = rpc.pool(p)
                    assert sum(rpc.shares(p, d) for d in world["delegators"]) == info["S"]
                    open_q = 0
                    for pool_id, who, rid, _ in self.requests:
                        if pool_id == p:
                            (req, _assets) = rpc.call("withdrawalRequest", p, who, rid)
                            open_q += req[0]
                    assert open_q == info["QS"]
            finally:
                chain.restore(self.snapshot)

        @rule(
            d=st.integers(0, 3), pool=st.sampled_from([1, 2]), amount=st.integers(MIN_DELEGATION, 5_000 * PHA)
        )
        def delegate(self, d, pool, amount):
            who = world["delegators"][d]
            rpc.send(who, "delegate", pool, amount)
            self.deposited[who] += amount

        @rule(d=st.integers(0, 3), pool=st.sampled_from([1, 2]), part=st.integers(1, 100))
        def undelegate(self, d, pool, part):
            who = world["delegators"][d]
            held = rpc.shares(pool, who)
            if held == 0:
                return
            info = rpc.pool(pool)
            shares = held * part // 100
            assets = to_assets(shares, info["A"], info["S"])
            left = to_assets(held - shares, info["A"] - assets, info["S"] - shares)
            if shares == 0 or (held != shares and left < MIN_DELEGATION) or assets == 0:
                shares = held
                if to_assets(shares, info["A"], info["S"]) == 0:
                    return
            receipt = rpc.send(who, "undelegate", pool, shares)
            rid = self.next_id.get((pool, who), 0)
            self.next_id[(pool, who)] = rid + 1
            (event,) = rpc.events(receipt, "Undelegated")
            assert event["requestId"] == rid
            self.requests.append((pool, who, rid, event["unlockAt"]))

        @rule(pick=st.integers(0, 50))
        def withdraw(self, pick):
            now = rpc.now()
            ready = [r for r in self.requests if r[3] <= now + 1]
            if not ready:
                return
            pool, who, rid, unlock = ready[pick % len(ready)]
            before = rpc.balance(who)
            rpc.send(who, "withdraw", pool, rid)
            self.withdrawn[who] += rpc.balance(who) - before
            self.requests.remove((pool, who, rid, unlock))
            assert self.withdrawn[who] <= self.deposited[who] + self.entitled[who]

        @rule(pool=st.sampled_from([1, 2]), amount=st.integers(1, 2_000 * PHA))
        def reward(self, pool, amount):
            info = rpc.pool(pool)
            holders = {d: rpc.shares(pool, d) for d in world["delegators"]}
            receipt = rpc.send(world["payer"], "reward", pool, amount)
            (event,) = rpc.events(receipt, "Rewarded")
            commission = event["commission"]
            if info["S"] == 0:
                assert commission == amount  # zero-share rule: all to the operator
            else:
                assert commission == amount * info["bps"] // 10_000
                for d, s in holders.items():
                    self.entitled[d] += Fraction((amount - commission) * s, info["S"])

        @rule(pool=st.sampled_from([1, 2]), amount=st.integers(0, 3_000 * PHA))
        def slash(self, pool, amount):
            info = rpc.pool(pool)
            backing = info["A"] + info["QA"]
            receipt = rpc.send(world["gov"], "slash", pool, amount, b"\x01" * 32)
            (event,) = rpc.events(receipt, "Slashed")
            taken = event["fromActive"] + event["fromQueued"]
            assert taken <= min(amount, backing * 1_000 // 10_000)
            if backing:
                assert event["fromActive"] == min(amount, backing // 10) * info["A"] // backing
            self.slashed_since[pool] = True

        @rule()
        def sweep_slashed(self):
            owed = rpc.call("slashedOwed")[0]
            if owed == 0:
                return
            before = rpc.balance(world["treasury"])
            rpc.send(world["gov"], "sweepSlashed")
            assert rpc.balance(world["treasury"]) - before == owed
            assert rpc.call("slashedOwed")[0] == 0

        @rule(pool=st.sampled_from([1, 2]))
        def claim(self, pool):
            info = rpc.pool(pool)
            if info["owed"] == 0:
                return
            rpc.send(info["operator"], "claimCommission", pool, info["operator"])
            self.claimed += info["owed"]

        @rule(pool=st.sampled_from([1, 2]), bps=st.integers(0, 5_000))
        def set_commission(self, pool, bps):
            rpc.send(world["operators"][pool - 1], "setCommission", pool, bps)

        @rule(seconds=st.integers(0, 10 * 86_400))
        def travel(self, seconds):
            rpc.request("evm_increaseTime", [seconds])
            rpc.request("evm_mine", [])

        @invariant()
        def accounts_balance_and_prices_only_fall_by_slash(self):
            stats["steps"] += 1
            held = 0
            for p in (1, 2):
                info = rpc.pool(p)
                held += info["A"] + info["QA"] + info["owed"]
                active, queue = self._prices(info)
                old_active, old_queue = self.prices[p]
                if not self.slashed_since[p]:
                    assert active >= old_active, "active share price fell without a slash"
                    if queue is not None and old_queue is not None:
                        assert queue >= old_queue, "queue rate fell without a slash"
                if info["QS"]:
                    assert info["QA"] > 0
                self.prices[p] = (active, queue)
                self.slashed_since[p] = False
            held += rpc.call("slashedOwed")[0]
            assert rpc.balance(rpc.staking_addr) == held

    run_on_chain(StakingMachine, EXAMPLES, STEPS)
    record_property("sequences", stats["examples"])
    record_property("checked_states", stats["steps"])
    log.warning("staking invariants: %d sequences, %d checked states", stats["examples"], stats["steps"])
    assert stats["examples"] >= EXAMPLES
