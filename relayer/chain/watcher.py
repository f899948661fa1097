"""Escrow event watcher: trails the head by N confirmations, resumes from the stored checkpoint,
detects reorgs by comparing stored block hashes with the chain's.

One `step()`:
1. if the checkpoint block's hash is no longer canonical, walk back the stored hashes to the
   newest one that still is and rewind there (the service re-checks the jobs touched above it);
2. otherwise scan (checkpoint, min(head - N, checkpoint + chunk)] for escrow events and return
   them with the new checkpoint; the service applies both in one SQLite transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3 import Web3

from relayer.chain.rpc import Rpc, abi
from relayer.store import Store

log = logging.getLogger(__name__)

EVENTS = (
    "JobPosted",
    "JobClaimed",
    "JobSettled",
    "JobCancelled",
    "JobExpired",
    "SettlementPaid",
    "PoolRewardsFlushed",
)
"""Job events (they carry `jobId`) and the pool-ledger events (`job_id` 0): a settlement's payment
by the watcher's relayer (a single one enters the pool's ledger; other relayers' are not
returned) and a ledger paid (by a batch, a flush or an old ledger's next single settlement)."""


@dataclass(frozen=True)
class Event:
    name: str
    job_id: int
    block: int
    tx_hash: str
    args: dict[str, Any]
    timestamp: int = 0
    """The block's timestamp: set for SettlementPaid (only ours are returned), 0 for the others."""


@dataclass
class Scan:
    """The outcome of one step: events in (start, end] and the new checkpoint, or a rewind."""

    start: int = 0
    end: int = 0
    end_hash: str = ""
    head: int = 0
    events: list[Event] = field(default_factory=list)
    rewound_to: int | None = None


def _hex(value: bytes | str) -> str:
    return HexBytes(value).to_0x_hex()


def _block_time(w3: Web3, entry: Any) -> int:
    """The log's block timestamp: its `blockTimestamp` field where the node gives one (anvil, reth,
    recent geth), else the block header's."""
    ts = entry.get("blockTimestamp")
    if ts is not None:
        return int(ts, 16) if isinstance(ts, str) else int(ts)
    return int(w3.eth.get_block(int(entry["blockNumber"]))["timestamp"])


class Watcher:
    def __init__(
        self,
        rpc: Rpc,
        store: Store,
        escrow: str,
        confirmations: int,
        chunk: int,
        start_block: int,
        relayer: str | None = None,
    ):
        self.rpc = rpc
        self._relayer_topic = None if relayer is None else HexBytes(bytes(12) + HexBytes(relayer))
        self.store = store
        self.escrow = Web3.to_checksum_address(escrow)
        self.confirmations = confirmations
        self.chunk = chunk
        self.start_block = start_block
        self.contract = Web3().eth.contract(address=self.escrow, abi=abi("IJobEscrow"))
        self.by_topic = {_hex(self.contract.events[name].topic): name for name in EVENTS}
        self.head = 0

    async def step(self) -> Scan:
        checkpoint = self.store.checkpoint()
        head = await self.rpc.run(lambda w3: w3.eth.block_number)
        self.head = head
        if checkpoint is not None:
            number, stored = checkpoint
            canonical = await self._hash_at(number)
            if canonical is not None and canonical != stored:
                return Scan(head=head, rewound_to=await self._common_ancestor())
            start = number + 1
        else:
            start = self.start_block
        end = min(head - self.confirmations, start + self.chunk - 1)
        if end < start:
            return Scan(start=start, end=start - 1, head=head)
        return await self.rpc.run(lambda w3: self._scan(w3, start, end, head))

    async def _hash_at(self, number: int) -> str | None:
        def get(w3: Web3) -> str | None:
            try:
                return _hex(w3.eth.get_block(number)["hash"])
            except Exception as error:  # BlockNotFound: the chain is shorter now (deep reorg)
                if type(error).__name__ == "BlockNotFound":
                    return "missing"
                raise

        return await self.rpc.run(get)

    async def _common_ancestor(self) -> int:
        for number, stored in self.store.block_hashes_desc():
            if await self._hash_at(number) == stored:
                log.warning("reorg: rewinding to block %d", number)
                return number
        log.warning("reorg deeper than the stored hashes: rescanning from block %d", self.start_block)
        return self.start_block - 1

    def _scan(self, w3: Web3, start: int, end: int, head: int) -> Scan:
        before = _hex(w3.eth.get_block(end)["hash"])
        logs = w3.eth.get_logs(
            {"fromBlock": start, "toBlock": end, "address": self.escrow, "topics": [list(self.by_topic)]}
        )
        after = _hex(w3.eth.get_block(end)["hash"])
        if before != after:
            return Scan(start=start, end=start - 1, head=head)  # moved under us: try again next step
        events = []
        times: dict[int, int] = {}
        for entry in logs:
            if entry.get("removed"):
                continue
            name = self.by_topic.get(_hex(entry["topics"][0]))
            if name is None:
                continue
            block = int(entry["blockNumber"])
            timestamp = 0
            if name == "SettlementPaid":  # ours only (topic 3: the relayer), with its block's time
                if self._relayer_topic is None or HexBytes(entry["topics"][3]) != self._relayer_topic:
                    continue
                if block not in times:
                    times[block] = _block_time(w3, entry)
                timestamp = times[block]
            decoded = self.contract.events[name]().process_log(entry)
            args = dict(decoded["args"])
            events.append(
                Event(
                    name=name,
                    job_id=int(args.get("jobId", 0)),
                    block=block,
                    tx_hash=_hex(entry["transactionHash"]),
                    args=args,
                    timestamp=timestamp,
                )
            )
        return Scan(start=start, end=end, end_hash=after, head=head, events=events)
