"""Substrate account keys: SS58 addresses, storage hashers, keyless (pallet) accounts."""

from __future__ import annotations

import hashlib

import xxhash
from scalecodec.utils.ss58 import ss58_decode, ss58_encode

from pha.migration import PHALA_SS58_FORMAT

# Accounts derived from an id, with no private key: pallet accounts (`PalletId::into_account`,
# e.g. the treasury "modlpy/trsry"), and parachain sovereign accounts on the relay ("para") and
# on sibling chains ("sibl"). They can never sign a binding.
KEYLESS_PREFIXES: dict[bytes, str] = {
    b"modl": "pallet account",
    b"para": "parachain sovereign account",
    b"sibl": "sibling parachain sovereign account",
}


class AddressError(ValueError):
    """An address or public key that cannot be read."""


def twox128(data: bytes) -> bytes:
    """Substrate's Twox128 hasher: xxh64 with seeds 0 and 1, each little-endian."""
    return xxhash.xxh64(data, seed=0).intdigest().to_bytes(8, "little") + xxhash.xxh64(
        data, seed=1
    ).intdigest().to_bytes(8, "little")


def blake2_128(data: bytes) -> bytes:
    """Substrate's Blake2_128 hasher."""
    return hashlib.blake2b(data, digest_size=16).digest()


def storage_prefix(pallet: str, item: str) -> bytes:
    """twox128(pallet) ‖ twox128(item): the key prefix of a storage map."""
    return twox128(pallet.encode()) + twox128(item.encode())


SYSTEM_ACCOUNT_PREFIX = storage_prefix("System", "Account")


def system_account_key(pubkey: bytes) -> bytes:
    """The storage key of `System.Account(pubkey)` (Blake2_128Concat hasher)."""
    return SYSTEM_ACCOUNT_PREFIX + blake2_128(pubkey) + pubkey


def to_ss58(pubkey: bytes, ss58_format: int = PHALA_SS58_FORMAT) -> str:
    """The SS58 address of a 32-byte public key (Phala's prefix 30 by default)."""
    if len(pubkey) != 32:
        raise AddressError(f"a public key has 32 bytes, not {len(pubkey)}")
    return str(ss58_encode(pubkey.hex(), ss58_format))


def from_ss58(address: str, ss58_format: int | None = PHALA_SS58_FORMAT) -> bytes:
    """The public key of an SS58 address; checks the checksum and (unless None) the prefix."""
    try:
        return bytes.fromhex(ss58_decode(address, valid_ss58_format=ss58_format))
    except (ValueError, IndexError, TypeError) as error:
        raise AddressError(f"bad SS58 address {address!r}: {error}") from None


def parse_account(text: str, ss58_format: int | None = PHALA_SS58_FORMAT) -> bytes:
    """A 32-byte public key from `0x`-hex (64 digits) or an SS58 address."""
    if not isinstance(text, str) or not text:
        raise AddressError(f"an account is a string (SS58 or 0x public key), not {text!r}")
    if text.startswith("0x"):
        try:
            pubkey = bytes.fromhex(text[2:])
        except ValueError:
            raise AddressError(f"bad hex public key {text!r}") from None
        if len(pubkey) != 32:
            raise AddressError(f"a public key has 32 bytes, {text!r} has {len(pubkey)}")
        return pubkey
    return from_ss58(text, ss58_format)


def keyless_kind(pubkey: bytes) -> str | None:
    """Why an account has no private key ("pallet account", ...), or None for ordinary accounts."""
    return KEYLESS_PREFIXES.get(pubkey[:4])


def pallet_account(pallet_id: bytes, sub: bytes = b"") -> bytes:
    """`PalletId(pallet_id).into_account_truncating()` (with an optional sub-account id)."""
    if len(pallet_id) != 8:
        raise AddressError("a PalletId has 8 bytes")
    return (b"modl" + pallet_id + sub + bytes(32))[:32]
