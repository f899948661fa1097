"""The chain edge: the deployed Migrator through Ape (state, bitmap, batches, events)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from pha.migration.plan import Batch, Bitmap, word_count

log = logging.getLogger(__name__)

MIGRATED_TOPIC = "0x" + keccak(text="Migrated(bytes32,address,uint256,uint256,bytes32)").hex()
BATCH_TOPIC = "0x" + keccak(text="BatchMigrated(bytes32,uint256,uint256,uint256)").hex()
WORDS_PER_CALL = 2048
LOG_BLOCK_SPAN = 10_000


@dataclass(frozen=True)
class OnChainState:
    address: str
    token: str
    root: bytes
    total: int
    count: int
    total_migrated: int
    accounts_migrated: int
    closed: bool
    paused: bool
    closes_at: int


@dataclass(frozen=True)
class MigratedEvent:
    block: int
    tx_hash: str
    log_index: int
    account: bytes
    recipient: str
    index: int
    amount: int
    binding_hash: bytes


@dataclass(frozen=True)
class BatchEvent:
    block: int
    tx_hash: str
    records_hash: bytes
    count: int
    amount: int


class MigratorClient:
    """A deployed Migrator (an Ape contract instance)."""

    def __init__(self, contract: Any) -> None:
        self.contract = contract

    @classmethod
    def at(cls, address: str) -> MigratorClient:
        from ape import project

        return cls(project.Migrator.at(address))

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def state(self) -> OnChainState:
        c = self.contract
        return OnChainState(
            address=self.address,
            token=str(c.TOKEN()),
            root=bytes(c.MERKLE_ROOT()),
            total=int(c.SNAPSHOT_TOTAL()),
            count=int(c.ACCOUNT_COUNT()),
            total_migrated=int(c.totalMigrated()),
            accounts_migrated=int(c.accountsMigrated()),
            closed=bool(c.closed()),
            paused=bool(c.paused()),
            closes_at=int(c.CLOSES_AT()),
        )

    def bitmap(self, leaf_count: int) -> Bitmap:
        words: list[int] = []
        total = word_count(leaf_count)
        for first in range(0, total, WORDS_PER_CALL):
            words.extend(
                int(w) for w in self.contract.migratedWords(first, min(WORDS_PER_CALL, total - first))
            )
        return Bitmap(words)

    def wait_idle(self, sender: Any, timeout: float = 120.0) -> None:
        """Wait until none of `sender`'s transactions is in flight, so the bitmap read is final."""
        from ape import chain

        web3 = chain.provider.web3
        address = to_checksum_address(str(sender.address))
        deadline = time.monotonic() + timeout
        while web3.eth.get_transaction_count(address, "pending") > web3.eth.get_transaction_count(
            address, "latest"
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} still has transactions in flight after {timeout:.0f} s")
            time.sleep(1.0)

    def send(self, batch: Batch, sender: Any) -> Any:
        """Push one batch; returns Ape's receipt (raises on revert)."""
        return self.contract.migrate(
            [e.as_tuple() for e in batch.entries], batch.proof, batch.flags, sender=sender
        )

    def simulate(self, batch: Batch, sender: Any) -> int:
        """eth_estimateGas of a batch (reverts surface as errors): the dry run's check."""
        from ape import chain

        tx = self.contract.migrate.as_transaction(
            [e.as_tuple() for e in batch.entries], batch.proof, batch.flags, sender=sender
        )
        return int(chain.provider.estimate_gas_cost(tx))

    def migrated_events(self, from_block: int) -> Iterator[MigratedEvent]:
        for entry in self._logs(MIGRATED_TOPIC, from_block):
            index, amount, binding_hash = abi_decode(["uint256", "uint256", "bytes32"], bytes(entry["data"]))
            yield MigratedEvent(
                block=int(entry["blockNumber"]),
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                log_index=int(entry["logIndex"]),
                account=bytes(entry["topics"][1]),
                recipient=to_checksum_address(bytes(entry["topics"][2])[12:]),
                index=int(index),
                amount=int(amount),
                binding_hash=bytes(binding_hash),
            )

    def batch_events(self, from_block: int) -> Iterator[BatchEvent]:
        for entry in self._logs(BATCH_TOPIC, from_block):
            count, amount, _ = abi_decode(["uint256", "uint256", "uint256"], bytes(entry["data"]))
            yield BatchEvent(
                block=int(entry["blockNumber"]),
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                records_hash=bytes(entry["topics"][1]),
                count=int(count),
                amount=int(amount),
            )

    def _logs(self, topic: str, from_block: int) -> Iterator[dict]:
        from ape import chain

        web3 = chain.provider.web3
        head = web3.eth.block_number
        for start in range(from_block, head + 1, LOG_BLOCK_SPAN):
            end = min(head, start + LOG_BLOCK_SPAN - 1)
            yield from web3.eth.get_logs(
                {
                    "address": to_checksum_address(self.address),
                    "fromBlock": start,
                    "toBlock": end,
                    "topics": [topic],
                }
            )
