"""Who signs the relayer's transactions: the `Signer` interface and the local key it ships with.

The relayer needs two things from a signer: its address, and the raw bytes of a signed
transaction (the hash is keccak256 of those bytes, for every transaction type). Anything that
provides them can sign: a key in memory (`LocalSigner`, from the environment variable or an
encrypted keystore), a cloud KMS, or a remote signer such as web3signer (its eth1 JSON-RPC
`eth_signTransaction` returns those bytes) — docs/relayer.md "Signers".

Keys never come from a command line or a config file: `PHA_RELAYER_PRIVATE_KEY` (development),
or a keystore file (Web3 Secret Storage JSON, as `ape accounts generate/import` writes them, or
`ape:<alias>` for Ape's own accounts folder) unlocked by a passphrase from a file or from
`PHA_RELAYER_KEYSTORE_PASSPHRASE`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_account import Account


class SignerError(ValueError):
    """The signer cannot be set up (one line for the operator, never the secret)."""


@runtime_checkable
class Signer(Protocol):
    """The relayer's signing key, wherever it lives."""

    @property
    def address(self) -> str:
        """The checksummed address the transactions come from."""
        ...

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """The raw signed transaction (EIP-2718 bytes) of `tx`: web3 field names (`type`,
        `chainId`, `nonce`, `to`, `data`, `value`, `gas`, `maxFeePerGas`, ...)."""
        ...


class LocalSigner:
    """A private key held in this process's memory."""

    def __init__(self, account: Any) -> None:
        self._account = account

    @classmethod
    def from_key(cls, key: str) -> LocalSigner:
        return cls(Account.from_key(key))

    @classmethod
    def from_keystore(cls, path: Path, passphrase: str, source: str) -> LocalSigner:
        """Decrypt a Web3 Secret Storage file; `source` names where the passphrase came from."""
        try:
            keyfile = json.loads(path.read_text())
        except OSError as error:
            raise SignerError(f"cannot read keystore {path}: {error.strerror}") from None
        except json.JSONDecodeError:
            raise SignerError(f"keystore {path} is not a JSON keystore file") from None
        try:
            key = Account.decrypt(keyfile, passphrase)
        except ValueError as error:
            if "MAC mismatch" in str(error):
                raise SignerError(f"wrong passphrase for keystore {path} (from {source})") from None
            raise SignerError(f"keystore {path} is not usable: {error}") from None
        except (KeyError, TypeError):
            raise SignerError(f"keystore {path} is not a Web3 Secret Storage file") from None
        return cls(Account.from_key(key))

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(tx).raw_transaction)


def ape_keystore(alias: str) -> Path:
    """The keystore file of Ape account `alias` (Ape's data folder: $APE_DATA_FOLDER, else ~/.ape)."""
    folder = Path(os.environ.get("APE_DATA_FOLDER") or Path.home() / ".ape")
    return folder / "accounts" / f"{alias}.json"
