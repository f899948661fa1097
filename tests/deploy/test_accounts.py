"""Signing accounts: a keyfile account signs without any prompt or terminal, from its passphrase in
Ape's environment variable or a --passphrase-file; test accounts as `test:N` or `TEST::N`.

The keyfile lives in a temporary Ape data folder (the real one's other entries linked in), never
in the repository or the shared data folder. Every command runs with stdin on /dev/null (no TTY).
"""

import json
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from eth_account import Account

from pha.cli import passphrase_env_var
from tests.scripts import Devnet, deployed_devnet, keyfile_data_folder, load_script, ok, one_line_error

ALIAS = "pha-test-signer"
PASSPHRASE = "correct horse battery staple "  # a trailing space is part of it
KEY = "0x" + "5a" * 32
ADDRESS = Account.from_key(KEY).address
ENV_VAR = passphrase_env_var(ALIAS)

# Every command that sends a transaction (scripts/<script>.py -> subcommands; None: the script is one).
SIGNING = {
    "deploy": None,
    "stake": (
        "open-pool",
        "set-commission",
        "delegate",
        "undelegate",
        "withdraw",
        "claim-commission",
        "sync-backing",
        "flush-rewards",
        "sweep-slashed",
    ),
    "governance": (
        "allow-measurement",
        "set-policy",
        "revoke-measurement",
        "tolerate-advisory",
        "set-verifier",
        "sweep-fees",
        "propose",
        "vote",
        "queue",
        "execute",
        "delegate-votes",
    ),
    "operator": ("register", "renew", "deregister", "authorise-relayer"),
    "client": ("post", "cancel", "expire", "chat"),
    "migrate": ("deploy", "push"),
}


@pytest.fixture(scope="module")
def devnet(tmp_path_factory) -> Iterator[Devnet]:
    with deployed_devnet(tmp_path_factory.mktemp("deployments")) as net:
        data = keyfile_data_folder(tmp_path_factory.mktemp("ape") / "data", ALIAS, KEY, PASSPHRASE)
        net.env = {**net.env, "APE_DATA_FOLDER": str(data)}
        net.env.pop(ENV_VAR, None)
        gov = net.w3.eth.accounts[0]
        net.w3.eth.wait_for_transaction_receipt(
            net.w3.eth.send_transaction({"from": gov, "to": ADDRESS, "value": 100 * 10**18})
        )
        yield net


def run(devnet: Devnet, *args: str, env: dict[str, str] | None = None):
    """`ape run ARGS --network <devnet>` with extra environment `env`."""
    saved = devnet.env
    devnet.env = {**saved, **(env or {})}
    try:
        return devnet.run(*args)
    finally:
        devnet.env = saved


def nonce(devnet: Devnet, address: str) -> int:
    return devnet.w3.eth.get_transaction_count(address)


def test_keyfile_account__passphrase_from_ape_env_var__signs_without_prompt(devnet):
    before = nonce(devnet, ADDRESS)
    out = ok(
        run(
            devnet,
            "stake",
            "open-pool",
            "--commission-bps",
            "500",
            "--account",
            ALIAS,
            env={ENV_VAR: PASSPHRASE},
        )
    )
    assert f"operator {ADDRESS}" in out
    assert nonce(devnet, ADDRESS) == before + 1


def test_keyfile_account__passphrase_file__deploys_a_stack_it_signed(devnet, tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")  # as an editor saves it
    env = {"PHA_DEPLOYMENTS_DIR": str(tmp_path)}
    out = ok(run(devnet, "deploy", "--account", ALIAS, "--passphrase-file", str(secret), env=env))
    assert "(deployed)" in out
    manifest = json.loads((tmp_path / "base-devnet.json").read_text())
    senders = {
        devnet.w3.eth.get_transaction(entry["tx_hash"])["from"] for entry in manifest["contracts"].values()
    }
    assert senders == {ADDRESS}


def test_keyfile_account__no_passphrase_and_no_tty__says_what_to_set(devnet):
    before = nonce(devnet, ADDRESS)
    result = run(devnet, "stake", "open-pool", "--commission-bps", "500", "--account", ALIAS)
    assert result.returncode == 1
    one_line_error(result, f"set {ENV_VAR} or pass --passphrase-file PATH")
    assert nonce(devnet, ADDRESS) == before


def test_keyfile_account__wrong_passphrase__one_line_naming_its_source(devnet, tmp_path):
    before = nonce(devnet, ADDRESS)
    bad_env = run(
        devnet, "stake", "open-pool", "--commission-bps", "5", "--account", ALIAS, env={ENV_VAR: "nope"}
    )
    assert bad_env.returncode == 1
    one_line_error(bad_env, f"wrong passphrase for account '{ALIAS}' (from {ENV_VAR})")

    secret = tmp_path / "passphrase"
    secret.write_text("nope")
    bad_file = run(devnet, "client", "expire", "1", "--account", ALIAS, "--passphrase-file", str(secret))
    assert bad_file.returncode == 1
    one_line_error(bad_file, f"wrong passphrase for account '{ALIAS}' (from --passphrase-file {secret})")

    secret.write_text("\n")
    empty = run(devnet, "stake", "sweep-slashed", "--account", ALIAS, "--passphrase-file", str(secret))
    assert empty.returncode == 1
    one_line_error(empty, "is empty")
    assert nonce(devnet, ADDRESS) == before


def test_passphrase_file__wins_over_the_env_var(devnet, tmp_path):
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    out = ok(
        run(
            devnet,
            *(
                "stake",
                "open-pool",
                "--commission-bps",
                "7",
                "--account",
                ALIAS,
                "--passphrase-file",
                str(secret),
            ),
            env={ENV_VAR: "stale"},
        )
    )
    assert f"operator {ADDRESS}" in out


@pytest.mark.parametrize("spelling", ["test:1", "TEST::1"])
def test_test_account__both_spellings_sign_with_test_account_1(devnet, spelling):
    signer = devnet.w3.eth.accounts[1]
    before = nonce(devnet, signer)
    out = ok(run(devnet, "stake", "open-pool", "--commission-bps", "100", "--account", spelling))
    assert f"operator {signer}" in out
    assert nonce(devnet, signer) == before + 1


def test_unknown_test_account__one_line(devnet):
    one_line_error(
        run(devnet, "stake", "sweep-slashed", "--account", "TEST::99"), "no test account 'TEST::99'"
    )


@pytest.mark.parametrize("script", sorted(SIGNING))
def test_every_signing_command__offers_account_passphrase_file_and_autosign(script):
    cli = load_script(script)
    commands = (
        {None: cli} if SIGNING[script] is None else {name: cli.commands[name] for name in SIGNING[script]}
    )
    for name, command in commands.items():
        shown = CliRunner().invoke(command, ["--help"], prog_name=f"{script} {name or ''}")
        assert shown.exit_code == 0, shown.output
        for option in ("--account ALIAS", "--passphrase-file FILE", "--autosign", "TEST::N"):
            assert option in shown.output, f"{script} {name}: {option} missing\n{shown.output}"
    if isinstance(cli, click.Group):  # a new command with --account must be listed above
        with_account = {
            n for n, c in cli.commands.items() if any(p.name == "account_alias" for p in c.params)
        }
        assert with_account == set(SIGNING[script])
