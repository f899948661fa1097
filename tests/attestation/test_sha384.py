"""The on-chain SHA-384 (contracts/libraries/Sha384.sol) against hashlib.

Lengths: every length around the padding boundaries (one block holds at most 111 bytes of
message; 112..128 need a second block), multi-block inputs, and Hypothesis-chosen byte strings.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOUNDARY_LENGTHS = [
    0,
    1,
    3,
    47,
    48,
    55,
    56,
    63,
    64,
    95,
    96,
    110,
    111,
    112,
    113,
    127,
    128,
    129,
    239,
    240,
    255,
    256,
    257,
    1000,
]


@pytest.fixture(scope="module")
def sha(project, gov):
    return gov.deploy(project.TestSha384)


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
def test_sha384__boundary_lengths__equal_hashlib(sha, length):
    data = bytes((7 * i + length) % 256 for i in range(length))
    assert bytes(sha.hash(data)) == hashlib.sha384(data).digest()


def test_sha384__known_answer__fips_180_abc(sha):
    assert bytes(sha.hash(b"abc")).hex() == (
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
    )


def test_sha384__all_ones_words__no_carry_leaks(sha):
    # 0xff bytes make every 64-bit sum wrap: a missing reduction mod 2^64 would show here.
    for length in (111, 128, 300):
        data = b"\xff" * length
        assert bytes(sha.hash(data)) == hashlib.sha384(data).digest()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=0, max_size=400))
def test_sha384__random_inputs__equal_hashlib(sha, data):
    assert bytes(sha.hash(data)) == hashlib.sha384(data).digest()


def test_sha384__gas__one_block_under_36k(sha):
    digest, used = sha.hashGas(bytes(96))
    assert bytes(digest) == hashlib.sha384(bytes(96)).digest()
    assert used < 36_000  # a regression guard: about 33k today (41k before the two-lane schedule)
