"""Which accounts to push next, in which batches: pure functions over the snapshot and the bitmap."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from eth_abi import encode as abi_encode

from pha.migration.bindings import Binding
from pha.migration.merkle import keccak256
from pha.migration.snapshot import Leaf, Snapshot

MIGRATION_TUPLE = "(uint256,bytes32,uint256,address,bytes32)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One `IMigrator.Migration`."""

    index: int
    account: bytes
    amount: int
    recipient: str
    binding_hash: bytes

    def as_tuple(self) -> tuple[int, bytes, int, str, bytes]:
        return (self.index, self.account, self.amount, self.recipient, self.binding_hash)


@dataclass(frozen=True, slots=True)
class Batch:
    entries: list[Entry]
    proof: list[bytes]
    flags: list[bool]

    @property
    def amount(self) -> int:
        return sum(e.amount for e in self.entries)

    @property
    def records_hash(self) -> bytes:
        """keccak256(abi.encode(batch)), as the contract's `BatchMigrated` event carries it."""
        return records_hash([e.as_tuple() for e in self.entries])


def records_hash(tuples: Sequence[tuple]) -> bytes:
    return keccak256(abi_encode([f"{MIGRATION_TUPLE}[]"], [list(tuples)]))


class Bitmap:
    """The contract's migrated bitmap: bit i % 256 of word i // 256 is leaf i."""

    def __init__(self, words: Sequence[int]) -> None:
        self.words = list(words)

    def __contains__(self, index: int) -> bool:
        word = index >> 8
        return word < len(self.words) and bool((self.words[word] >> (index & 0xFF)) & 1)

    def count(self) -> int:
        return sum(bin(w).count("1") for w in self.words)


def word_count(leaf_count: int) -> int:
    return (leaf_count + 255) // 256


def ready_leaves(snapshot: Snapshot, bindings: dict[bytes, Binding], migrated: Bitmap) -> list[Leaf]:
    """Leaves not migrated yet whose holder has a verified binding, in index order."""
    return [leaf for leaf in snapshot.leaves if leaf.index not in migrated and leaf.pubkey in bindings]


def plan_batches(
    snapshot: Snapshot, bindings: dict[bytes, Binding], migrated: Bitmap, batch_size: int
) -> Iterator[Batch]:
    """Batches of up to `batch_size` ready leaves (consecutive in index order), proofs made lazily."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    ready = ready_leaves(snapshot, bindings, migrated)
    tree = snapshot.tree
    for start in range(0, len(ready), batch_size):
        chunk = ready[start : start + batch_size]
        proof = tree.multiproof([leaf.index for leaf in chunk])
        entries = [
            Entry(
                leaf.index,
                leaf.pubkey,
                leaf.amount,
                bindings[leaf.pubkey].recipient,
                bindings[leaf.pubkey].binding_hash,
            )
            for leaf in chunk
        ]
        yield Batch(entries, proof.proof, proof.flags)
