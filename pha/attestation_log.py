"""Rebuild the AttestationLog hash chain from its events and check it against the on-chain head.

The chain rule (contracts/AttestationLog.sol): after entry i,
    head_i = keccak256(abi.encode(head_{i-1}, i, kind, subject, worker, measurement, dataHash, time))
with head_{-1} = 0. Each `Appended` event carries the head after it, so the first event whose
recomputed head differs from the one it carries (or from the stored head) is the first mismatch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

log = logging.getLogger(__name__)

ZERO32 = b"\x00" * 32
APPENDED_TOPIC = keccak(text="Appended(uint256,uint8,bytes32,address,bytes32,bytes32,uint64,bytes32)")


@dataclass(frozen=True)
class LogEntry:
    """One `Appended` event, decoded."""

    index: int
    kind: int
    subject: bytes
    worker: str
    measurement: bytes
    data_hash: bytes
    time: int
    head: bytes
    block_number: int = 0
    tx_hash: str = ""


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a rebuild: entries seen, the rebuilt head, and the first problem if any."""

    entries: int
    rebuilt_head: bytes
    onchain_head: bytes
    onchain_count: int
    first_mismatch: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def next_head(previous: bytes, entry: LogEntry) -> bytes:
    """The chain head after `entry`, exactly as the contract computes it."""
    return keccak(
        encode(
            ["bytes32", "uint256", "uint8", "bytes32", "address", "bytes32", "bytes32", "uint64"],
            [previous, entry.index, entry.kind, entry.subject, entry.worker, entry.measurement,
             entry.data_hash, entry.time],
        )
    )  # fmt: skip


def verify_chain(entries: Iterable[LogEntry], onchain_head: bytes, onchain_count: int) -> ChainReport:
    """Recompute the chain over `entries` (in log order) and compare with the contract's state."""
    head, seen = ZERO32, 0
    for entry in entries:
        if entry.index != seen:
            return ChainReport(seen, head, onchain_head, onchain_count, seen,
                               f"entry {seen} missing: next event has index {entry.index}")  # fmt: skip
        head = next_head(head, entry)
        if head != entry.head:
            return ChainReport(seen, head, onchain_head, onchain_count, entry.index,
                               f"entry {entry.index} (block {entry.block_number}, tx {entry.tx_hash}) "
                               "does not hash to the head its event carries")  # fmt: skip
        seen += 1
    if seen != onchain_count:
        return ChainReport(seen, head, onchain_head, onchain_count, seen,
                           f"{seen} entries in events, the contract counts {onchain_count}")  # fmt: skip
    if head != onchain_head:
        return ChainReport(seen, head, onchain_head, onchain_count, max(seen - 1, 0),
                           "rebuilt head differs from the on-chain head")  # fmt: skip
    return ChainReport(seen, head, onchain_head, onchain_count, None, None)


def decode_log(raw: dict) -> LogEntry:
    """Decode one raw `eth_getLogs` item of the Appended event."""
    from eth_abi import decode

    topics = [bytes(t) for t in raw["topics"]]
    worker, measurement, data_hash, time, head = decode(
        ["address", "bytes32", "bytes32", "uint64", "bytes32"], bytes(raw["data"])
    )
    tx_hash = raw.get("transactionHash", b"")
    return LogEntry(
        index=int.from_bytes(topics[1], "big"),
        kind=int.from_bytes(topics[2], "big"),
        subject=topics[3],
        worker=to_checksum_address(worker),
        measurement=measurement,
        data_hash=data_hash,
        time=time,
        head=head,
        block_number=int(raw.get("blockNumber", 0)),
        tx_hash=tx_hash.hex() if isinstance(tx_hash, bytes) else str(tx_hash),
    )


def fetch_entries(
    web3: object, address: str, from_block: int, to_block: int, page: int = 5_000
) -> Iterator[LogEntry]:
    """Yield the log's entries from `from_block` to `to_block`, `page` blocks per eth_getLogs call."""
    start = from_block
    while start <= to_block:
        end = min(start + page - 1, to_block)
        logs = web3.eth.get_logs(  # type: ignore[attr-defined]
            {"address": to_checksum_address(address), "topics": [APPENDED_TOPIC],
             "fromBlock": start, "toBlock": end}
        )  # fmt: skip
        log.debug("blocks %d-%d: %d entries", start, end, len(logs))
        for raw in sorted(logs, key=lambda r: (r["blockNumber"], r["logIndex"])):
            yield decode_log(raw)
        start = end + 1
