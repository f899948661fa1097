"""The snapshot's Merkle tree, exactly as OpenZeppelin builds and proves it.

- Leaf: OpenZeppelin's standard double hash, `keccak256(keccak256(abi.encode(index, account, amount)))`
  with types (uint256, bytes32, uint256) (`StandardMerkleTree` leaf encoding).
- Layout: `@openzeppelin/merkle-tree`'s `makeMerkleTree` with leaves in index order
  (`StandardMerkleTree.of(values, types, {sortLeaves: false})`): a complete binary tree in an
  array of 2n-1 nodes, leaf i at position 2n-2-i, node k = hashPair(node 2k+1, node 2k+2),
  pairs hashed sorted (`Hashes.commutativeKeccak256`). Keeping index order means a batch of
  consecutive leaves shares most of its proof and one bitmap word per 256 leaves.
- Multiproofs: `getMultiProof` / `processMultiProof` of the same library, which the contract's
  `MerkleProof.multiProofVerifyCalldata` checks.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def leaf_hash(index: int, account: bytes, amount: int) -> bytes:
    """The double-hashed leaf of (index, account, amount)."""
    return keccak256(keccak256(index.to_bytes(32, "big") + account + amount.to_bytes(32, "big")))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b if a < b else b + a)


class MerkleError(ValueError):
    """A tree or proof request that cannot be satisfied."""


@dataclass(frozen=True)
class MultiProof:
    """What `migrate(batch, proof, proofFlags)` needs; `leaves` in the order the contract hashes them."""

    leaves: list[bytes]
    proof: list[bytes]
    flags: list[bool]


class MerkleTree:
    """A tree over leaf hashes in index order (leaf i = `leaves[i]`)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        n = len(leaves)
        if n == 0:
            raise MerkleError("a Merkle tree needs at least one leaf")
        tree: list[bytes] = [b""] * (2 * n - 1)
        last = 2 * n - 2
        for i, leaf in enumerate(leaves):
            tree[last - i] = leaf
        for k in range(n - 2, -1, -1):
            tree[k] = hash_pair(tree[2 * k + 1], tree[2 * k + 2])
        self.nodes = tree
        self.count = n

    @classmethod
    def from_values(cls, values: Iterable[tuple[int, bytes, int]]) -> MerkleTree:
        return cls([leaf_hash(i, a, amt) for i, a, amt in values])

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def tree_index(self, leaf_index: int) -> int:
        if not 0 <= leaf_index < self.count:
            raise MerkleError(f"leaf {leaf_index} is not in a tree of {self.count}")
        return 2 * self.count - 2 - leaf_index

    def leaf(self, leaf_index: int) -> bytes:
        return self.nodes[self.tree_index(leaf_index)]

    def proof(self, leaf_index: int) -> list[bytes]:
        """A single-leaf proof (OpenZeppelin `getProof`)."""
        k = self.tree_index(leaf_index)
        out = []
        while k > 0:
            sibling = k - 1 if k % 2 == 0 else k + 1
            out.append(self.nodes[sibling])
            k = (k - 1) // 2
        return out

    def multiproof(self, leaf_indices: Sequence[int]) -> MultiProof:
        """OpenZeppelin `getMultiProof`; leaves come back in descending tree position = ascending index."""
        positions = sorted((self.tree_index(i) for i in leaf_indices), reverse=True)
        if any(a == b for a, b in itertools.pairwise(positions)):
            raise MerkleError("cannot prove a duplicated index")
        queue = deque(positions)
        proof: list[bytes] = []
        flags: list[bool] = []
        while queue and queue[0] > 0:
            j = queue.popleft()
            s = j - 1 if j % 2 == 0 else j + 1
            p = (j - 1) // 2
            if queue and queue[0] == s:
                flags.append(True)
                queue.popleft()
            else:
                flags.append(False)
                proof.append(self.nodes[s])
            queue.append(p)
        if not positions:
            proof.append(self.nodes[0])
        return MultiProof(leaves=[self.nodes[k] for k in positions], proof=proof, flags=flags)


def process_multiproof(leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool]) -> bytes:
    """OpenZeppelin `processMultiProof`: the root the leaves and proof rebuild."""
    if len(leaves) + len(proof) != len(flags) + 1:
        raise MerkleError("invalid multiproof (lengths)")
    hashes: list[bytes] = []
    leaf_pos = hash_pos = proof_pos = 0
    for flag in flags:
        if leaf_pos < len(leaves):
            a = leaves[leaf_pos]
            leaf_pos += 1
        else:
            a = hashes[hash_pos]
            hash_pos += 1
        if flag:
            if leaf_pos < len(leaves):
                b = leaves[leaf_pos]
                leaf_pos += 1
            else:
                b = hashes[hash_pos]
                hash_pos += 1
        else:
            b = proof[proof_pos]
            proof_pos += 1
        hashes.append(hash_pair(a, b))
    if flags:
        if proof_pos != len(proof):
            raise MerkleError("invalid multiproof (unused proof)")
        return hashes[-1]
    return leaves[0] if leaves else proof[0]


def verify_multiproof(
    root: bytes, leaves: Sequence[bytes], proof: Sequence[bytes], flags: Sequence[bool]
) -> bool:
    try:
        return process_multiproof(leaves, proof, flags) == root
    except (MerkleError, IndexError):
        return False
