"""The relayer's fast signature checks and call encoding agree with the project's reference
implementations (pha.escrow.typed_data, web3's ABI encoder) and are as strict as the escrow."""

import os

from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from pha.escrow.typed_data import (
    Domain,
    ResultEntry,
    batch_digest,
    result_digest,
    sign_batch,
    sign_result,
)
from relayer.chain.rpc import abi, encode_call
from relayer.verify import SECP256K1_N, SignatureChecker, address_bytes

DOMAIN = Domain(8453, "0x" + "ab" * 20)
CHECKER = SignatureChecker(DOMAIN)
KEYS = [Account.create() for _ in range(3)]

entries_st = st.lists(
    st.builds(ResultEntry, st.integers(0, 2**256 - 1), st.binary(min_size=32, max_size=32),
              st.binary(min_size=32, max_size=32)),
    min_size=1, max_size=5,
)  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(entries=entries_st, signer=st.sampled_from(KEYS), other=st.sampled_from(KEYS))
def test_checker__same_digests_and_verdicts_as_typed_data(entries, signer, other):
    who = address_bytes(signer.address)
    assert CHECKER.result_digest(entries[0], who) == result_digest(DOMAIN, entries[0], signer.address)
    assert CHECKER.batch_digest(entries, who) == batch_digest(DOMAIN, entries, signer.address)
    single = sign_result(DOMAIN, entries[0], signer.key)
    batch = sign_batch(DOMAIN, entries, signer.key)
    assert CHECKER.result_ok(entries[0], who, single)
    assert CHECKER.batch_ok(entries, who, batch)
    claimed = address_bytes(other.address)
    assert CHECKER.result_ok(entries[0], claimed, single) == (other.address == signer.address)
    assert not CHECKER.batch_ok([*entries[::-1], entries[0]], who, batch)


def test_checker__non_canonical_or_malformed_signatures__refused():
    entry = ResultEntry(7, os.urandom(32), os.urandom(32))
    key = KEYS[0]
    who = address_bytes(key.address)
    sig = sign_result(DOMAIN, entry, key.key)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # same signer, malleated
    assert CHECKER.recover(CHECKER.result_digest(entry, who), high_s) is None
    assert not CHECKER.result_ok(entry, who, sig[:64] + bytes([v - 27]))  # v 0/1: OpenZeppelin refuses
    assert not CHECKER.result_ok(entry, who, sig[:64])
    assert not CHECKER.result_ok(entry, who, bytes(65))
    flipped = bytearray(sig)
    flipped[5] ^= 1
    assert not CHECKER.result_ok(entry, who, bytes(flipped))


def test_encode_call__equals_web3_encode_abi():
    escrow = Web3().eth.contract(address=Web3.to_checksum_address("0x" + "22" * 20), abi=abi("IJobEscrow"))
    spec = (os.urandom(32), os.urandom(32), "0x" + "00" * 20, 10**17, 2**39, 6)
    entries = [(i, spec, os.urandom(i * 7)) for i in range(5)]
    args = [KEYS[0].address, os.urandom(32), entries, os.urandom(65)]
    expected = escrow.encode_abi("settleBatch", args)
    assert "0x" + encode_call("IJobEscrow", "settleBatch", args).hex() == expected
    settle = [3, spec, KEYS[1].address, b"out", os.urandom(65)]
    assert "0x" + encode_call("IJobEscrow", "settle", settle).hex() == escrow.encode_abi("settle", settle)
    assert "0x" + encode_call("IJobEscrow", "jobOf", [9]).hex() == escrow.encode_abi("jobOf", [9])
