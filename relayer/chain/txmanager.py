"""Transactions: simulate, sign, persist, send, follow to finality, replace when stuck.

Rules (issue 8/9):
- every transaction is simulated first (eth_estimateGas is an eth_call that also sizes the gas):
  a lost race reverts there and costs nothing;
- the nonce is our own: max(chain pending nonce, last used + 1), under one lock;
- the signed bytes are written to SQLite (intents) BEFORE they are sent: after a crash the very
  same bytes (same hash) are re-sent, so no second transaction for the same work exists;
- "nonce too low" is an answer, not an RPC failure: that nonce is mined; we find out by whom;
- a missing or empty receipt decides nothing: an intent is declared dropped only when its nonce
  was consumed on chain, none of the intents with that nonce has a receipt, several checks in a row;
- a transaction pending longer than `stuck_after_s` is replaced (same nonce, same call) with fees
  raised by `fee_bump_pct`, never above `max_fee_cap_wei`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from relayer.chain.rpc import Rpc, RpcUnavailable, abi
from relayer.decide import bumped_fees, initial_fees, next_nonce
from relayer.settings import RelayerSettings
from relayer.store import OPEN_INTENT, Intent, Store

log = logging.getLogger(__name__)

DROP_CHECKS = 3
"""Consecutive observations of "nonce consumed, no receipt for any of ours" before an intent is dropped."""
DROP_AFTER_S = 30.0
"""... spread over at least this long (a node that answers null receipts for a while decides nothing)."""


def _error_selectors() -> dict[bytes, str]:
    out = {}
    for name in ("IJobEscrow", "IWorkerRegistry"):
        for item in abi(name):
            if item.get("type") == "error":
                sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                out[keccak(text=sig)[:4]] = item["name"]
    return out


_SELECTORS: dict[bytes, str] | None = None


def revert_name(error: BaseException) -> str:
    """The custom error's name in a revert (e.g. "JobEscrowJobNotActive"), else the message."""
    return _revert_name(getattr(error, "data", None)) or str(error)[:160]


def _revert_name(data: object) -> str | None:
    global _SELECTORS
    if _SELECTORS is None:
        _SELECTORS = _error_selectors()
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return _SELECTORS.get(bytes.fromhex(data[2:10]))
    return None


@dataclass(frozen=True)
class Simulation:
    ok: bool
    gas: int = 0
    error: str = ""
    logs: tuple[Any, ...] = ()
    """The call's logs (eth_simulateV1 only): what the transaction would emit if sent now."""
    skipped: tuple[tuple[int, int], ...] = ()
    """(job id, reason) of batch entries the escrow would skip (set by the service's inspection)."""


@dataclass(frozen=True)
class Landed:
    """An intent's receipt was seen (first time): the service updates the jobs in it."""

    intent: Intent
    status: int
    logs: list[Any]
    block: int


class TxManager:
    def __init__(self, rpc: Rpc, store: Store, private_key: str, chain_id: int, settings: RelayerSettings):
        self.rpc = rpc
        self.store = store
        self.account = Account.from_key(private_key)
        self.address = self.account.address
        self.chain_id = chain_id
        self.s = settings
        self.lock = asyncio.Lock()
        self._misses: dict[int, int] = {}
        self._first_miss: dict[int, float] = {}
        self.on_sent: Callable[[Intent], None] = lambda intent: None
        self.on_replaced: Callable[[Intent], None] = lambda intent: None
        self.simulate_v1: bool | None = None
        """Whether the node answers eth_simulateV1 (None: not tried yet)."""

    # ------------------------------------------------------------------ sending

    async def simulate(self, to: str, data: bytes) -> Simulation:
        """The call against the pending block: eth_simulateV1 when the node has it (one execution,
        with the logs: entries a batch would skip are seen before sending), else eth_estimateGas."""
        if self.simulate_v1 is not False:
            sim = await self._simulate_v1(to, data)
            if sim is not None:
                return sim
        tx = {"from": self.address, "to": to, "data": HexBytes(data)}
        try:
            # Against the pending block: a competing transaction already in the node's pool counts.
            gas = await self.rpc.run(lambda w3: w3.eth.estimate_gas(tx, "pending"))  # type: ignore[arg-type]
        except ContractLogicError as error:
            return Simulation(False, error=revert_name(error))
        except Web3RPCError as error:
            return Simulation(False, error=str(error)[:200])
        return Simulation(True, gas=int(gas) * (100 + self.s.gas_margin_pct) // 100)

    async def _simulate_v1(self, to: str, data: bytes) -> Simulation | None:
        call = {"from": self.address, "to": to, "data": "0x" + data.hex()}
        params = [{"blockStateCalls": [{"calls": [call]}]}, "pending"]
        answer = await self.rpc.run(lambda w3: w3.provider.make_request("eth_simulateV1", params))  # type: ignore[arg-type]
        if "error" in answer or not answer.get("result"):
            error = answer.get("error") or {}
            if self.simulate_v1 is None:
                log.info("eth_simulateV1 unavailable (%s): simulating with eth_estimateGas", error)
                self.simulate_v1 = False
                return None
            return Simulation(False, error=str(error.get("message", error))[:200])
        self.simulate_v1 = True
        result = answer["result"][0]["calls"][0]
        if int(result.get("status", "0x0"), 16) != 1:
            data_hex = result.get("returnData") or (result.get("error") or {}).get("data")
            return Simulation(False, error=_revert_name(data_hex) or str(result.get("error"))[:160])
        # gasUsed is after refunds (at most a fifth of the gas spent, EIP-3529): the limit must
        # cover the gas before them, then the usual margin.
        used = int(result["gasUsed"], 16) * 5 // 4
        return Simulation(
            True, gas=used * (100 + self.s.gas_margin_pct) // 100, logs=tuple(result.get("logs") or ())
        )

    def open_count(self) -> int:
        return len(self.store.intents_in(("signed", "sent")))

    async def submit(
        self,
        purpose: str,
        job_ids: list[int],
        to: str,
        data: bytes,
        worker: str | None = None,
        on_persist: Callable[[Any, int], None] | None = None,
        inspect: Callable[[Simulation], Simulation] | None = None,
    ) -> tuple[int | None, Simulation]:
        """Simulate, then sign, persist (calling `on_persist(db, intent_id)` in the same SQLite
        transaction) and send. `job_ids` are the jobs the transaction settles or expires (their
        `intent_id` follows replacements); empty for a transaction about no job (`flush_pools`).
        `inspect` may turn a successful simulation into a refusal (e.g. a batch with entries that
        would be skipped). Returns (intent id or None when the simulation failed or was refused,
        simulation)."""
        async with self.lock:
            # Nonce and fee first, so that only signing and one SQLite commit separate the
            # simulation from the send (the window in which a competitor can overtake us).
            pending, base_fee = await self.rpc.run(
                lambda w3: (
                    w3.eth.get_transaction_count(self.address, "pending"),
                    int(w3.eth.get_block("latest").get("baseFeePerGas", 0)),
                )
            )
            sim = await self.simulate(to, data)
            if sim.ok and inspect is not None:
                sim = inspect(sim)
            if not sim.ok:
                return None, sim
            nonce = next_nonce(pending, self.store.max_nonce())
            max_fee, priority = initial_fees(
                base_fee, self.s.priority_fee_wei, self.s.base_fee_multiplier, self.s.max_fee_cap_wei
            )
            raw, tx_hash = self._sign(nonce, to, data, sim.gas, max_fee, priority)
            with self.store.tx() as db:
                intent_id = self.store.add_intent(
                    db, nonce=nonce, purpose=purpose, job_ids=job_ids, raw_tx=raw, tx_hash=tx_hash,
                    max_fee=max_fee, priority_fee=priority, gas=sim.gas, worker=worker,
                )  # fmt: skip
                if on_persist is not None:
                    on_persist(db, intent_id)
            intent = self.store.intent(intent_id)
            assert intent is not None
            await self.broadcast(intent)
            return intent_id, sim

    def _sign(
        self, nonce: int, to: str, data: bytes, gas: int, max_fee: int, priority: int
    ) -> tuple[bytes, str]:
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": Web3.to_checksum_address(to),
            "data": HexBytes(data),
            "value": 0,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
        }
        signed = self.account.sign_transaction(tx)
        return bytes(signed.raw_transaction), HexBytes(signed.hash).to_0x_hex()

    async def broadcast(self, intent: Intent) -> None:
        """Send the intent's signed bytes; answers that mean "already there" count as sent."""
        try:
            await self.rpc.run(lambda w3: w3.eth.send_raw_transaction(intent.raw_tx))
        except RpcUnavailable as error:
            log.warning("tx %s (nonce %d) not sent yet: %s", intent.tx_hash, intent.nonce, error)
            return
        except (Web3RPCError, ValueError) as error:
            text = str(error).lower()
            if "already known" in text or "already imported" in text or "known transaction" in text:
                pass
            elif "nonce too low" in text or "nonce has already been used" in text:
                log.info("tx %s: nonce %d already used; reconciling", intent.tx_hash, intent.nonce)
            else:
                log.warning("tx %s refused: %s", intent.tx_hash, str(error)[:200])
                return
        if intent.status == "signed":
            self.store.update_intent(intent_id=intent.id, status="sent", sent_at=time.time())
            self.on_sent(intent)

    # ------------------------------------------------------------------ following

    async def reconcile(self) -> list[Landed]:
        """Follow every open intent one step; returns intents whose receipt was seen first now."""
        landed: list[Landed] = []
        open_intents = self.store.intents_in(OPEN_INTENT)
        if not open_intents:
            return landed
        head, latest_nonce = await self.rpc.run(
            lambda w3: (w3.eth.block_number, w3.eth.get_transaction_count(self.address, "latest"))
        )
        for intent in open_intents:
            current = self.store.intent(intent.id)
            if current is None or current.status not in OPEN_INTENT:
                continue  # settled by a sibling earlier in this loop
            receipt = await self._receipt(current.tx_hash)
            if receipt is not None:
                first = await self._on_receipt(current, receipt, head)
                if first is not None:
                    landed.append(first)
                continue
            if current.status == "mined":
                # Its block was reorged away: back to the pool (same bytes; dedup by hash).
                log.warning("tx %s left the chain (reorg): re-sending", current.tx_hash)
                self.store.update_intent(
                    intent_id=current.id, status="sent", mined_block=None, mined_hash=None
                )
                await self.broadcast(current)
                continue
            if current.status == "signed":
                await self.broadcast(current)
                again = self.store.intent(current.id)
                if (
                    again is not None
                    and again.status == "signed"
                    and again.replaced_by is None
                    and time.time() - again.created_at > self.s.stuck_after_s
                ):
                    await self._replace(again)  # refused by the node (e.g. fee below the base fee)
                continue
            if latest_nonce > current.nonce:
                await self._nonce_consumed(current)
                continue
            self._misses.pop(current.id, None)
            self._first_miss.pop(current.id, None)
            if current.replaced_by is None and time.time() - (current.sent_at or 0) > self.s.stuck_after_s:
                await self._replace(current)
        return landed

    async def _receipt(self, tx_hash: str) -> Any:
        def get(w3: Web3) -> Any:
            try:
                receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None
            if not receipt or receipt.get("blockNumber") is None or receipt.get("blockHash") is None:
                return None  # an empty receipt is no answer
            return receipt

        try:
            return await self.rpc.run(get)
        except RpcUnavailable:
            return None

    async def _on_receipt(self, intent: Intent, receipt: Any, head: int) -> Landed | None:
        block = int(receipt["blockNumber"])
        block_hash = HexBytes(receipt["blockHash"]).to_0x_hex()
        status = int(receipt["status"])
        first = intent.status != "mined" or intent.mined_hash != block_hash
        self._misses.pop(intent.id, None)
        self._first_miss.pop(intent.id, None)
        if first:
            with self.store.tx() as db:
                self.store.update_intent(
                    db, intent.id, status="mined", mined_block=block, mined_hash=block_hash,
                    gas_used=int(receipt["gasUsed"]),
                )  # fmt: skip
                for sibling in self.store.intents_with_nonce(intent.nonce):
                    if sibling.id != intent.id and sibling.status in OPEN_INTENT:
                        self.store.update_intent(db, sibling.id, status="replaced")
        if head - block >= self.s.confirmations:
            canonical = await self.rpc.run(lambda w3: HexBytes(w3.eth.get_block(block)["hash"]).to_0x_hex())
            if canonical == block_hash:
                self.store.update_intent(intent_id=intent.id, status="final" if status == 1 else "failed")
        if not first:
            return None
        return Landed(intent=intent, status=status, logs=list(receipt["logs"]), block=block)

    async def _nonce_consumed(self, intent: Intent) -> None:
        """Our nonce is mined but this tx has no receipt: a sibling (replacement) landed, or another
        sender used our key. Decide only after DROP_CHECKS observations, never on one empty answer."""
        for sibling in self.store.intents_with_nonce(intent.nonce):
            if sibling.id != intent.id and await self._receipt(sibling.tx_hash) is not None:
                return  # the sibling's own reconcile marks this one replaced
            if await self._in_a_block(sibling.tx_hash):
                self._misses.pop(intent.id, None)
                return  # ours is mined, only its receipt is missing (a lagging or lying node): wait
        misses = self._misses.get(intent.id, 0) + 1
        self._misses[intent.id] = misses
        first = self._first_miss.setdefault(intent.id, time.monotonic())
        if misses >= DROP_CHECKS and time.monotonic() - first >= DROP_AFTER_S:
            log.warning(
                "tx %s dropped: nonce %d was used by another transaction", intent.tx_hash, intent.nonce
            )
            for sibling in self.store.intents_with_nonce(intent.nonce):
                if sibling.status in OPEN_INTENT:
                    self.store.update_intent(intent_id=sibling.id, status="dropped")
            self._misses.pop(intent.id, None)
            self._first_miss.pop(intent.id, None)
            self.on_replaced(intent)

    async def _in_a_block(self, tx_hash: str) -> bool:
        def get(w3: Web3) -> bool:
            try:
                tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return False
            return bool(tx) and tx.get("blockNumber") is not None

        try:
            return await self.rpc.run(get)
        except RpcUnavailable:
            return True  # no answer decides nothing

    async def _replace(self, intent: Intent) -> None:
        base_fee = await self.rpc.run(lambda w3: int(w3.eth.get_block("latest").get("baseFeePerGas", 0)))
        fees = bumped_fees(
            intent.max_fee, intent.priority_fee, base_fee, self.s.fee_bump_pct, self.s.max_fee_cap_wei
        )
        if fees is None:
            log.warning("tx %s stuck but the fee cap allows no replacement", intent.tx_hash)
            self.store.update_intent(intent_id=intent.id, sent_at=time.time())
            return
        max_fee, priority = fees
        tx = TypedTransaction.from_bytes(HexBytes(intent.raw_tx)).as_dict()
        to = Web3.to_checksum_address(tx["to"])
        raw, tx_hash = self._sign(intent.nonce, to, bytes(tx["data"]), intent.gas, max_fee, priority)
        with self.store.tx() as db:
            new_id = self.store.add_intent(
                db, nonce=intent.nonce, purpose=intent.purpose, job_ids=intent.job_ids, raw_tx=raw,
                tx_hash=tx_hash, max_fee=max_fee, priority_fee=priority, gas=intent.gas, worker=intent.worker,
            )  # fmt: skip
            self.store.update_intent(db, intent.id, replaced_by=new_id)
            for job_id in intent.job_ids:
                self.store.update_job(db, job_id, intent_id=new_id)
        log.info(
            "tx %s stuck: replaced by %s (max fee %d -> %d)", intent.tx_hash, tx_hash, intent.max_fee, max_fee
        )
        new = self.store.intent(new_id)
        assert new is not None
        await self.broadcast(new)
