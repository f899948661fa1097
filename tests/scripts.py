"""Running `ape run <script>` as people do, against a project-started Base-like anvil."""

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from click.testing import CliRunner
from web3 import Web3

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.paths import ROOT

APE = str(Path(sys.executable).with_name("ape"))


def ape_run(*args, env):
    """stdin is /dev/null: a script that would prompt fails instead of waiting for a terminal."""
    return subprocess.run(
        [APE, "run", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr


def refused(command, args: list[str], fragment: str) -> str:
    """Run a click command in-process; assert it exits non-zero with one `Error:` line holding
    `fragment` and no traceback; return that line."""
    result = CliRunner().invoke(command, args)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    return errors[0]


def mint(w3, token_address, abi, to, amount):
    token = w3.eth.contract(address=token_address, abi=abi)
    gov = w3.eth.accounts[0]
    role = token.functions.MINTER_ROLE().call()
    w3.eth.wait_for_transaction_receipt(token.functions.grantRole(role, gov).transact({"from": gov}))
    w3.eth.wait_for_transaction_receipt(token.functions.minterMint(to, amount).transact({"from": gov}))


@dataclass
class Devnet:
    """A Base-like anvil with the stack deployed by `ape run deploy`."""

    net: str  # the --network choice
    env: dict[str, str]  # environment for `ape run` (deployments written under tmp)
    addresses: dict[str, str]
    w3: Web3

    def run(self, *args, account: str | None = None):
        extra = ["--account", account] if account else []
        return ape_run(*args, "--network", self.net, *extra, env=self.env)


@contextmanager
def deployed_devnet(tmp_path: Path) -> Iterator[Devnet]:
    with Anvil(chain_id=DEVNET_CHAIN_ID, optimism=True) as node:
        net = f"base:devnet:{node.url}"
        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path)}
        ok(ape_run("deploy", "--network", net, env=env))
        manifest = json.loads((tmp_path / "base-devnet.json").read_text())
        addresses = {name: entry["address"] for name, entry in manifest["contracts"].items()}
        yield Devnet(net, env, addresses, Web3(Web3.HTTPProvider(node.url)))


def load_script(name: str) -> click.Command:
    """scripts/<name>.py's `cli`, for click's CliRunner (checks that run before any connection)."""
    spec = importlib.util.spec_from_file_location(f"pha_script_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cli


def keyfile_data_folder(tmp: Path, alias: str, key: str, passphrase: str) -> Path:
    """A fresh Ape data folder holding only `alias`'s encrypted keyfile (as `ape accounts import`
    writes it); the real folder's other entries (plugins, caches) linked in."""
    from eth_account import Account

    real = Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape"))
    tmp.mkdir()
    for entry in real.iterdir() if real.is_dir() else ():
        if entry.name != "accounts":
            (tmp / entry.name).symlink_to(entry)
    (tmp / "accounts").mkdir()
    (tmp / "accounts" / f"{alias}.json").write_text(json.dumps(Account.encrypt(key, passphrase)))
    return tmp
