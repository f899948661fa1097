"""EIP-712 Result / ResultBatch hashing (pha.escrow.typed_data) against eth_account's generic encoder."""

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from pha.escrow.typed_data import (
    Domain,
    ResultEntry,
    batch_digest,
    batch_typed_data,
    recover_batch_signer,
    recover_digest,
    recover_result_signer,
    result_digest,
    result_typed_data,
    results_hash,
    sign_batch,
    sign_result,
)

KEY = keccak(b"test worker key")
WORKER = Account.from_key(KEY).address
DOMAIN = Domain(chain_id=31337, verifying_contract="0x" + "12" * 20)

entries_st = st.lists(
    st.builds(
        ResultEntry,
        job_id=st.integers(0, 2**256 - 1),
        input_hash=st.binary(min_size=32, max_size=32),
        output_hash=st.binary(min_size=32, max_size=32),
    ),
    min_size=1,
    max_size=5,
)


def generic_digest(full_message):
    return bytes(_hash_eip191_message(encode_typed_data(full_message=full_message)))


@settings(max_examples=25, deadline=None)
@given(entries=entries_st, chain_id=st.integers(1, 2**64))
def test_result_digest__equals_eth_account_encoding(entries, chain_id):
    domain = Domain(chain_id, "0x" + "ab" * 20)
    for entry in entries:
        assert result_digest(domain, entry, WORKER) == generic_digest(
            result_typed_data(domain, entry, WORKER)
        )
    assert batch_digest(domain, entries, WORKER) == generic_digest(batch_typed_data(domain, entries, WORKER))


def test_results_hash__is_packed_keccak_of_abi_encoded_entries_in_order():
    a = ResultEntry(1, b"\x01" * 32, b"\x02" * 32)
    b = ResultEntry(2, "0x" + "03" * 32, "0x" + "04" * 32)
    leaf_a = keccak((1).to_bytes(32, "big") + b"\x01" * 32 + b"\x02" * 32)
    leaf_b = keccak((2).to_bytes(32, "big") + b"\x03" * 32 + b"\x04" * 32)
    assert results_hash([a, b]) == keccak(leaf_a + leaf_b)
    assert results_hash([b, a]) != results_hash([a, b])


def test_sign_result__recovers_to_worker_and_not_for_another_domain():
    entry = ResultEntry(7, b"\x01" * 32, b"\x02" * 32)
    signature = sign_result(DOMAIN, entry, KEY)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert recover_result_signer(DOMAIN, entry, WORKER, signature) == WORKER
    other = Domain(DOMAIN.chain_id + 1, DOMAIN.verifying_contract)
    assert recover_result_signer(other, entry, WORKER, signature) != WORKER
    changed = ResultEntry(7, b"\x01" * 32, b"\x03" * 32)
    assert recover_result_signer(DOMAIN, changed, WORKER, signature) != WORKER


def test_sign_batch__recovers_to_worker():
    entries = [ResultEntry(i, bytes([i]) * 32, bytes([i + 1]) * 32) for i in range(3)]
    signature = sign_batch(DOMAIN, entries, KEY)
    assert recover_batch_signer(DOMAIN, entries, WORKER, signature) == WORKER
    assert recover_batch_signer(DOMAIN, entries[::-1], WORKER, signature) != WORKER


def test_recover_digest__malformed_signature__raises_value_error():
    with pytest.raises(ValueError, match="65 bytes"):
        recover_digest(b"\x00" * 32, b"\x01" * 64)
    with pytest.raises(ValueError, match="bad signature"):
        recover_digest(b"\x00" * 32, b"\x00" * 64 + b"\x05")


def test_result_entry__wrong_hash_length__raises():
    with pytest.raises(ValueError, match="input_hash must be 32 bytes"):
        ResultEntry(1, b"\x01" * 31, b"\x02" * 32)
    with pytest.raises(ValueError, match="uint256"):
        ResultEntry(-1, b"\x01" * 32, b"\x02" * 32)
