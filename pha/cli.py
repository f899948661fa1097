"""Helpers shared by the `ape run` scripts: accounts, manifests, one-line errors."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from pha.chains import LOCAL_CHAIN_IDS
from pha.manifest import Manifest, ManifestError, load_manifest, manifest_path

LOCAL_NETWORKS = frozenset({"local", "devnet"})

_network_choice: ContextVar[str | None] = ContextVar("network_choice", default=None)


NEGATIVE_NUMBERS_ARE_ARGUMENTS: dict[str, Any] = {"ignore_unknown_options": True}
"""`context_settings` of commands with number arguments: `delegate 1 -5` hands "-5" to the
command, which refuses it by name ("the amount must be positive"), instead of click's
"No such option: -5". A mistyped option still fails (as an unexpected extra argument)."""


class UserError(Exception):
    """A mistake the user can fix (bad argument, wrong state): shown as one line by script_session."""


class AddressError(UserError, ValueError):
    """Text that is not an address, or a mixed-case address whose EIP-55 checksum is wrong."""


def parse_address(text: str) -> str:
    """An address as the user typed it -> its EIP-55 checksummed form.

    All-lowercase or all-uppercase hex carries no checksum and is taken as it is; mixed case is an
    EIP-55 checksum and must be right (a wrong one means a mistyped or corrupted address).
    """
    from eth_utils import is_hex_address, to_checksum_address

    value = text.strip()
    if not value.startswith("0x") or not is_hex_address(value):
        raise AddressError(f"not an address: {text!r} (0x and 40 hex digits)")
    digits = value[2:]
    checksummed = to_checksum_address(value)
    if digits != digits.lower() and digits != digits.upper() and value != checksummed:
        raise AddressError(
            f"{value} has a wrong EIP-55 checksum (mixed case): check the address for a mistyped character"
        )
    return checksummed


class AddressParamType(click.ParamType):
    """A click type for addresses (`parse_address`): `@click.option("--to", type=ADDRESS)`."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return parse_address(str(value))
        except AddressError as error:
            self.fail(str(error), param, ctx)


ADDRESS = AddressParamType()


def current_network_choice() -> str:
    """The `--network` choice this command connected with (`connected`), to repeat it in hints."""
    from ape import chain

    return _network_choice.get() or chain.provider.network_choice


def is_local_network() -> bool:
    """True on chains that exist only on this machine (embedded, project anvil, devnet)."""
    from ape import chain

    provider = chain.provider
    return provider.network.name in LOCAL_NETWORKS or provider.chain_id in LOCAL_CHAIN_IDS


def is_devnet() -> bool:
    """True on the project devnet (`base:devnet`, chain id `pha.chains.DEVNET_CHAIN_ID`)."""
    from ape import chain

    return chain.provider.network.name == "devnet"


TEST_ACCOUNT = re.compile(r"test::?(\d+)", re.IGNORECASE)
"""`test:N` (ours) or `TEST::N` (Ape's spelling): test account N of the local chain."""

_META_KEY = "pha.cli.unlock"


@dataclass(frozen=True)
class Unlock:
    """How to unlock a keyfile account: from the --passphrase-file / --autosign options."""

    passphrase_file: Path | None = None
    autosign: bool = False


def passphrase_env_var(alias: str) -> str:
    """The variable holding a keyfile account's passphrase: Ape's own name (ape_accounts' unlock)."""
    return f"APE_ACCOUNTS_{alias}_PASSPHRASE"


def resolve_account(alias: str | None, unlock: Unlock | None = None, *, signs: bool = True) -> Any:
    """The signing account: an Ape account alias, or test account N as `test:N` / `TEST::N`.

    On local networks with no alias given, the first test account signs. Elsewhere an alias is
    required (accounts are never read from files in the repository). A keyfile account is
    unlocked as `unlock` says (default: the options of the running command, see account_option);
    with `signs=False` (the address only, e.g. a dry run) it stays locked.
    """
    from ape import accounts
    from ape.exceptions import AccountsError

    if alias is None:
        if is_local_network():
            return accounts.test_accounts[0]
        raise click.ClickException(
            "--account is required on this network (an alias from `ape accounts list`)"
        )
    test = TEST_ACCOUNT.fullmatch(alias)
    if test:
        if not is_local_network():
            raise click.ClickException("test accounts exist only on local networks")
        try:
            return accounts.test_accounts[int(test.group(1))]
        except IndexError:
            raise click.ClickException(f"no test account {alias!r}") from None
    try:
        account = accounts.load(alias)
    except (AccountsError, IndexError, KeyError):
        raise click.ClickException(
            f"no account named {alias!r}: create or import one with `ape accounts generate/import {alias}`"
        ) from None
    if signs:
        _unlock_keyfile(account, unlock if unlock is not None else _command_unlock())
    return account


def _command_unlock() -> Unlock:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_META_KEY, Unlock()) if ctx is not None else Unlock()


def _unlock_keyfile(account: Any, unlock: Unlock) -> None:
    """Unlock a keyfile account for the whole command without prompts when a passphrase is given.

    The passphrase comes from --passphrase-file, else from Ape's APE_ACCOUNTS_<alias>_PASSPHRASE;
    either unlocks the account and turns on Ape's autosign. With neither: on a terminal, Ape asks
    (once with --autosign, else at every signature); without one, a one-line error says what to set.
    """
    from ape_accounts.accounts import KeyfileAccount

    if not isinstance(account, KeyfileAccount):
        return  # test accounts and plugin accounts (hardware wallets) sign as their plugin says
    variable = passphrase_env_var(account.alias)
    if unlock.passphrase_file is not None:
        source = f"--passphrase-file {unlock.passphrase_file}"
        _autosign(account, _read_passphrase(unlock.passphrase_file), source)
    elif os.environ.get(variable):
        _autosign(account, os.environ[variable], variable)
    elif sys.stdin is None or not sys.stdin.isatty():
        raise click.ClickException(
            f"account {account.alias!r} is locked and there is no terminal to ask for its passphrase: "
            f"set {variable} or pass --passphrase-file PATH"
        )
    elif unlock.autosign:
        _autosign(account, None, "the prompt")


def _autosign(account: Any, passphrase: str | None, source: str) -> None:
    """Ape's set_autosign (None: Ape prompts); a wrong passphrase is one line naming its source."""
    from ape.exceptions import AccountsError
    from ape_accounts.accounts import InvalidPasswordError

    try:
        account.set_autosign(True, passphrase=passphrase)
    except InvalidPasswordError:
        message = f"wrong passphrase for account {account.alias!r} (from {source})"
        raise click.ClickException(message) from None
    except (AccountsError, click.Abort) as error:
        raise click.ClickException(f"could not unlock account {account.alias!r}: {error}") from None


def _read_passphrase(path: Path) -> str:
    """The file's text without its line end (an editor's trailing newline is not part of it)."""
    try:
        text = path.read_text(encoding="utf8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read --passphrase-file {path}: {error}") from None
    passphrase = text.removesuffix("\n").removesuffix("\r")
    if not passphrase:
        raise click.ClickException(f"--passphrase-file {path} is empty")
    return passphrase


def current_manifest_path(deployments: Path | None = None) -> Path:
    from ape import chain

    network = chain.provider.network
    if deployments is None:
        return manifest_path(network.ecosystem.name, network.name)
    return manifest_path(network.ecosystem.name, network.name, deployments)


def require_manifest(path: Path | None = None) -> Manifest:
    """The current network's manifest, or a one-line error telling the user to deploy first."""
    from ape import chain

    try:
        manifest = load_manifest(path or current_manifest_path())
    except ManifestError as error:
        raise click.ClickException(str(error)) from None
    if manifest.chain_id != chain.provider.chain_id:
        raise click.ClickException(
            f"the manifest is for chain {manifest.chain_id}, connected to chain {chain.provider.chain_id}"
        )
    return manifest


def _remember_unlock(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep --passphrase-file / --autosign in the context for resolve_account (no extra arguments)."""
    unlock = ctx.meta.get(_META_KEY, Unlock())
    ctx.meta[_META_KEY] = replace(unlock, **{param.name or "": value})
    return value


def account_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--account ALIAS plus the options that unlock a keyfile account without prompts.

    The command receives `account_alias`; resolve_account reads the others from the context.
    """
    func = click.option(
        "--autosign",
        is_flag=True,
        expose_value=False,
        callback=_remember_unlock,
        help="Keyfile account on a terminal: ask the passphrase once, then sign every transaction "
        "without confirming each (implied by a passphrase from the file or the environment).",
    )(func)
    func = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        expose_value=False,
        callback=_remember_unlock,
        help="Keyfile account: read its passphrase from this file, unlock it and sign without "
        "prompts (else from APE_ACCOUNTS_<alias>_PASSPHRASE).",
    )(func)
    return click.option(
        "--account",
        "account_alias",
        metavar="ALIAS",
        default=None,
        help="Signer: an Ape account alias (`ape accounts list`), or test:N / TEST::N on local "
        "chains (default there: test:0).",
    )(func)


network_option = click.option(
    "--network",
    "network_choice",
    metavar="ECOSYSTEM:NETWORK:PROVIDER",
    default="ethereum:local:test",
    show_default=True,
    help="Ape network choice, e.g. base:devnet:http://127.0.0.1:8545 (the devnet `pha-anvil` starts), "
    "ethereum:local:foundry, base:sepolia:node (RPC URL from BASE_SEPOLIA_RPC_URL).",
)


@contextmanager
def connected(network_choice: str, **provider_settings: Any) -> Iterator[Any]:
    """Connect to an Ape network for the block; every Ape error becomes one line and exit 1.

    Ape's own command classes print a stack trace for provider errors when the virtualenv lives
    inside the project; scripts connect through here instead so users see one line.
    """
    from ape import networks
    from ape.exceptions import ApeException

    from pha import ape_compat

    ape_compat.install()
    token = _network_choice.set(network_choice)
    try:
        with networks.parse_network_choice(network_choice, provider_settings=provider_settings or None) as p:
            yield p
    except click.ClickException:
        raise
    except ApeException as error:
        message = describe_revert(error)
        if "${" in message:
            message += " (export that environment variable: the RPC URL of the network)"
        prefix = "" if message.startswith(type(error).__name__) else f"{type(error).__name__}: "
        raise click.ClickException(prefix + message) from None
    finally:
        _network_choice.reset(token)


@contextmanager
def script_session(
    network_choice: str,
    account_alias: str | None,
    contracts: tuple[str, ...],
    need_account: bool = True,
    user_errors: tuple[type[Exception], ...] = (),
) -> Iterator[dict[str, Any]]:
    """Connect, load `contracts` (manifest names) and the signer; every user mistake becomes one line.

    Yields {"<Name>": contract, ..., "account": signer or None, "manifest": manifest}. Reverts
    are shown with the contract's custom error and its arguments.
    """
    from ape import project
    from ape.exceptions import ContractLogicError

    with connected(network_choice):
        manifest = require_manifest()
        world: dict[str, Any] = {"manifest": manifest}
        for name in contracts:
            try:
                world[name] = getattr(project, name).at(manifest.address(name))
            except ManifestError as error:
                raise click.ClickException(str(error)) from None
        world["account"] = resolve_account(account_alias) if need_account else None
        try:
            yield world
        except (UserError, *user_errors) as error:
            raise click.ClickException(str(error)) from None
        except ContractLogicError as error:
            raise click.ClickException(f"transaction reverted: {describe_revert(error)}") from None


def describe_revert(error: Exception) -> str:
    """A revert as one line: the custom error's name, its arguments (bytes as 0x-hex) and, for the
    errors people meet, what to do (`pha.revert_hints`)."""
    from ape.exceptions import CustomError

    from pha.revert_hints import revert_hint

    if isinstance(error, CustomError):
        args = ", ".join(
            f"{k}=0x{bytes(v).hex()}" if isinstance(v, bytes | bytearray) else f"{k}={v}"
            for k, v in error.inputs.items()
        )
        hint = revert_hint(error.name)
        return f"{error.name}({args})" + (f": {hint}" if hint else "")
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
