"""The relayer's signer: an encrypted keystore (a file, or an Ape account by alias) unlocked by a
passphrase from a file or the environment, the key in the environment for development, and the
transactions the transaction manager signs with it (recovered to the signer's address)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_utils import keccak

from relayer.chain.txmanager import TxManager
from relayer.settings import SettingsError, load_settings
from relayer.signer import LocalSigner, Signer
from relayer.store import Store

KEY = "0x" + "4c" * 32
ADDRESS = Account.from_key(KEY).address
BASE = {"rpc_urls": ["http://a"], "escrow": "0x" + "ab" * 20, "registry": "0x" + "12" * 20}


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    for name in ("PHA_RELAYER_PRIVATE_KEY", "PHA_RELAYER_KEYSTORE_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


def _keystore(path, passphrase: str = "correct horse"):
    # Web3 Secret Storage, as `ape accounts import` writes it (scrypt; small n keeps the test fast)
    path.write_text(json.dumps(Account.encrypt(KEY, passphrase, kdf="scrypt", iterations=2**10)))
    return path


def _config(tmp_path, **values) -> object:
    path = tmp_path / "relayer.json"
    path.write_text(json.dumps({**BASE, **values}))
    return path


def test_keystore_with_passphrase_file__relative_to_the_config(tmp_path):
    _keystore(tmp_path / "relayer-key.json")
    (tmp_path / "pass.txt").write_text("correct horse\n")  # an editor's newline is not part of it
    settings = load_settings(
        _config(tmp_path, keystore="relayer-key.json", keystore_passphrase_file="pass.txt")
    )
    signer = settings.signer()
    assert isinstance(signer, Signer) and signer.address == ADDRESS


def test_keystore_passphrase_from_the_environment(tmp_path, monkeypatch):
    _keystore(tmp_path / "k.json")
    monkeypatch.setenv("PHA_RELAYER_KEYSTORE_PASSPHRASE", "correct horse")
    assert load_settings(_config(tmp_path, keystore=str(tmp_path / "k.json"))).signer().address == ADDRESS


def test_ape_account_by_alias__apes_folder_and_apes_passphrase_variable(tmp_path, monkeypatch):
    (tmp_path / "ape" / "accounts").mkdir(parents=True)
    _keystore(tmp_path / "ape" / "accounts" / "relayer.json")
    monkeypatch.setenv("APE_DATA_FOLDER", str(tmp_path / "ape"))
    settings = load_settings(_config(tmp_path, keystore="ape:relayer"))
    with pytest.raises(
        SettingsError, match="is locked: set keystore_passphrase_file or PHA_RELAYER_KEYSTORE"
    ):
        settings.signer()
    monkeypatch.setenv("APE_ACCOUNTS_relayer_PASSPHRASE", "correct horse")
    assert settings.signer().address == ADDRESS


def test_wrong_passphrase__one_line_naming_its_source_never_the_secret(tmp_path, monkeypatch):
    _keystore(tmp_path / "k.json")
    monkeypatch.setenv("PHA_RELAYER_KEYSTORE_PASSPHRASE", "battery staple")
    settings = load_settings(_config(tmp_path, keystore="k.json"))
    with pytest.raises(SettingsError) as caught:
        settings.signer()
    message = str(caught.value)
    assert "wrong passphrase for keystore" in message and "PHA_RELAYER_KEYSTORE_PASSPHRASE" in message
    assert "battery" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "cannot read keystore"),
        ("not_json", "is not a JSON keystore file"),
        ("empty_passphrase", "keystore_passphrase_file .* is empty"),
    ],
)
def test_unusable_keystore__one_line(tmp_path, setup, expected):
    (tmp_path / "pass.txt").write_text("" if setup == "empty_passphrase" else "correct horse")
    if setup == "not_json":
        (tmp_path / "k.json").write_text("0x" + "4c" * 32)  # a raw key is not a keystore
    elif setup == "empty_passphrase":
        _keystore(tmp_path / "k.json")
    settings = load_settings(_config(tmp_path, keystore="k.json", keystore_passphrase_file="pass.txt"))
    with pytest.raises(SettingsError, match=expected):
        settings.signer()


def test_passphrase_in_the_config_file__refused(tmp_path):
    with pytest.raises(SettingsError, match="keystore_passphrase is not read from files"):
        load_settings(_config(tmp_path, keystore="k.json", keystore_passphrase="correct horse"))


def test_env_key_for_development__and_not_together_with_a_keystore(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="no relayer key: set `keystore`"):
        load_settings(_config(tmp_path)).signer()
    monkeypatch.setenv("PHA_RELAYER_PRIVATE_KEY", KEY)
    assert load_settings(_config(tmp_path)).signer().address == ADDRESS
    with pytest.raises(SettingsError, match="both `keystore` and PHA_RELAYER_PRIVATE_KEY"):
        load_settings(_config(tmp_path, keystore="k.json")).signer()


def test_transaction_manager_signs_with_the_signer__sender_and_hash_recovered(tmp_path, monkeypatch):
    _keystore(tmp_path / "k.json")
    monkeypatch.setenv("PHA_RELAYER_KEYSTORE_PASSPHRASE", "correct horse")
    settings = load_settings(_config(tmp_path, keystore="k.json"))
    signer = settings.signer()
    store = Store(tmp_path / "relayer.db")
    txm = TxManager(None, store, signer, 20350, settings)  # type: ignore[arg-type]  # no RPC needed to sign
    raw, tx_hash = txm._sign(7, "0x" + "ab" * 20, b"\x12\x34", 90_000, 3 * 10**9, 10**6)
    assert txm.address == ADDRESS
    assert Account.recover_transaction(raw) == ADDRESS
    assert tx_hash == "0x" + keccak(raw).hex()
    assert raw[0] == 2  # EIP-1559
    store.close()


def test_local_signer__same_bytes_as_eth_account():
    tx = {
        "type": 2, "chainId": 1, "nonce": 0, "to": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB", "data": b"",
        "value": 0, "gas": 21_000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1,
    }  # fmt: skip
    expected = bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction)
    assert LocalSigner.from_key(KEY).sign_transaction(tx) == expected
