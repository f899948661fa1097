"""A deterministic synthetic snapshot (and the holders' bindings) for tests and the 100k bench.

Account i's sr25519 mini-secret is blake2b("pha-migration-synthetic:<seed>:<i>"), its recipient
the last 20 bytes of keccak("recipient:<seed>:<i>"), its balances drawn from random.Random(seed).
Nothing is stored: the same (accounts, seed) always yields the same files.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import sr25519
from eth_utils import to_checksum_address

from pha.migration import PHALA_SS58_FORMAT
from pha.migration.bindings import binding_message
from pha.migration.keys import pallet_account, to_ss58
from pha.migration.merkle import keccak256

TREASURY = pallet_account(b"py/trsry")


def account_seed(seed: int, i: int) -> bytes:
    return hashlib.blake2b(f"pha-migration-synthetic:{seed}:{i}".encode(), digest_size=32).digest()


def recipient(seed: int, i: int) -> str:
    return to_checksum_address(keccak256(f"recipient:{seed}:{i}".encode())[12:])


def keypair(seed: int, i: int) -> tuple[bytes, bytes]:
    return sr25519.pair_from_seed(account_seed(seed, i))


def records(accounts: int, seed: int = 1, treasury: bool = True) -> Iterator[dict]:
    """Export records: `accounts` holders (plus the treasury pallet account, excluded on build)."""
    rng = random.Random(seed)
    for i in range(accounts):
        public, _ = keypair(seed, i)
        yield {
            "account": to_ss58(public, PHALA_SS58_FORMAT),
            "free": str(rng.randrange(1, 10**16)),  # 100k holders stay under the 1e9 PHA cap
            "reserved": str(rng.randrange(0, 10**13) if rng.random() < 0.1 else 0),
        }
    if treasury:
        yield {"account": to_ss58(TREASURY, PHALA_SS58_FORMAT), "free": str(10**20), "reserved": "0"}


def write_export(path: Path, accounts: int, seed: int = 1) -> Path:
    """Stream the export to `.jsonl` (constant memory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for record in records(accounts, seed):
            handle.write(json.dumps(record) + "\n")
    return path


def write_bindings(
    path: Path, accounts: int, chain_id: int, migrator: str, seed: int = 1, bound_fraction: float = 1.0
) -> Path:
    """Stream signed bindings for the first `bound_fraction` of the accounts (the rest stay unbound)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for i in range(int(accounts * bound_fraction)):
            public, secret = keypair(seed, i)
            to = recipient(seed, i)
            signature = sr25519.sign((public, secret), binding_message(public, to, chain_id, migrator))
            record = {
                "account": to_ss58(public, PHALA_SS58_FORMAT),
                "recipient": to,
                "signature": "0x" + signature.hex(),
            }
            handle.write(json.dumps(record) + "\n")
    return path
