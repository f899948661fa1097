"""Real formats: SS58, storage hashers and sr25519 against published development-account values."""

import pytest
import sr25519

from pha.migration.keys import (
    AddressError,
    blake2_128,
    from_ss58,
    keyless_kind,
    pallet_account,
    parse_account,
    system_account_key,
    to_ss58,
    twox128,
)

ALICE = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
ALICE_42 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = bytes.fromhex("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48")
BOB_42 = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
# `subkey inspect //Alice`: the mini-secret of the well-known development account.
ALICE_SEED = bytes.fromhex("e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a")


def test_ss58__alice_and_bob_generic_prefix__match_published_addresses():
    assert to_ss58(ALICE, 42) == ALICE_42
    assert to_ss58(BOB, 42) == BOB_42
    assert from_ss58(ALICE_42, 42) == ALICE


def test_ss58__phala_prefix__round_trips_and_starts_with_4():
    address = to_ss58(ALICE, 30)
    assert address.startswith("4")
    assert from_ss58(address, 30) == ALICE
    assert parse_account(address) == ALICE


def test_ss58__bad_checksum__refused():
    tampered = ALICE_42[:-1] + ("R" if ALICE_42[-1] != "R" else "S")
    with pytest.raises(AddressError, match="bad SS58"):
        from_ss58(tampered, 42)


def test_ss58__other_network_prefix__refused_when_phala_expected():
    with pytest.raises(AddressError):
        from_ss58(ALICE_42, 30)


def test_parse_account__hex_of_wrong_length__refused():
    with pytest.raises(AddressError, match="32 bytes"):
        parse_account("0x" + "ab" * 20)


def test_storage_key__alice_system_account__matches_the_well_known_key():
    assert twox128(b"System").hex() == "26aa394eea5630e07c48ae0c9558cef7"
    assert twox128(b"Account").hex() == "b99d880ec681799c0cf30e8886371da9"
    assert blake2_128(ALICE).hex() == "de1e86a9a8c739864cf3cc5ec2bea59f"
    assert system_account_key(ALICE).hex() == (
        "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
        "de1e86a9a8c739864cf3cc5ec2bea59f" + ALICE.hex()
    )


def test_sr25519__alice_seed__derives_alice_and_signs_verifiably():
    public, secret = sr25519.pair_from_seed(ALICE_SEED)
    assert public == ALICE
    signature = sr25519.sign((public, secret), b"hello")
    assert sr25519.verify(signature, b"hello", ALICE)
    assert not sr25519.verify(signature, b"hellp", ALICE)
    assert not sr25519.verify(signature, b"hello", BOB)


def test_pallet_account__treasury__is_modl_and_keyless():
    treasury = pallet_account(b"py/trsry")
    assert treasury[:12] == b"modlpy/trsry" and treasury[12:] == bytes(20)
    assert keyless_kind(treasury) == "pallet account"
    assert keyless_kind(ALICE) is None
    # Polkadot's treasury, as every explorer shows it (prefix 0).
    assert to_ss58(treasury, 0) == "13UVJyLnbVp9RBZYFwFGyDvVd1y27Tt8tkntv6Q7JVPhFsTB"
