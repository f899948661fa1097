"""The Python tree matches the contract's leaf hash and OpenZeppelin's multiproof verification."""

import random

import pytest

from pha.migration.merkle import MerkleError, MerkleTree, leaf_hash, process_multiproof, verify_multiproof


def tree_of(n):
    return MerkleTree([leaf_hash(i, i.to_bytes(32, "big"), 1000 + i) for i in range(n)])


def test_leaf_hash__matches_the_contract(world):
    leaf = world.snapshot.leaves[3]
    assert bytes(world.migrator.leafHash(leaf.index, leaf.pubkey, leaf.amount)) == leaf.hash


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 100])
def test_multiproof__every_subset_kind__rebuilds_the_root(n):
    tree = tree_of(n)
    rng = random.Random(n)
    subsets = [[0], [n - 1], list(range(n)), sorted(rng.sample(range(n), max(1, n // 3)))]
    for subset in subsets:
        proof = tree.multiproof(subset)
        assert process_multiproof(proof.leaves, proof.proof, proof.flags) == tree.root
        assert proof.leaves == [tree.leaf(i) for i in sorted(subset)]


def test_single_proof__matches_multiproof_of_one():
    tree = tree_of(9)
    proof = tree.multiproof([4])
    assert proof.proof == tree.proof(4)


def test_multiproof__tampered_leaf__does_not_verify():
    tree = tree_of(20)
    proof = tree.multiproof([3, 4, 5])
    forged = [proof.leaves[0], leaf_hash(4, (4).to_bytes(32, "big"), 10**9), proof.leaves[2]]
    assert not verify_multiproof(tree.root, forged, proof.proof, proof.flags)


def test_multiproof__duplicated_index__refused():
    with pytest.raises(MerkleError, match="duplicated"):
        tree_of(4).multiproof([1, 1])


def test_multiproof__contiguous_batch__needs_few_proof_nodes():
    tree = tree_of(100_00)
    proof = tree.multiproof(list(range(2000, 2200)))
    assert len(proof.proof) <= 2 * 14
