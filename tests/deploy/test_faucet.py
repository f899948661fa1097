"""`ape run faucet` as a developer runs it: test PHA minted as the bridge on a devnet, refused on
public chains, bad amounts and mistyped addresses; `delegate` and `client post` point to it."""

import os

import pytest
from web3.exceptions import Web3RPCError

from pha.anvil import Anvil
from pha.chains import LOCAL_CHAIN_IDS, PUBLIC_CHAIN_IDS
from pha.deploy import L2_STANDARD_BRIDGE
from pha.faucet import FaucetError, require_local_chain
from pha.fmt import format_pha
from tests.devnet import artifacts
from tests.scripts import ape_run, deployed_devnet, load_script, ok, one_line_error, refused

PHA = 10**18
ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # test account 1
STAKER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # test account 4


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    with deployed_devnet(tmp_path_factory.mktemp("faucet")) as net:
        yield net


@pytest.fixture(scope="module")
def token(devnet):
    return devnet.w3.eth.contract(address=devnet.addresses["PHAToken"], abi=artifacts()["PHAToken"]["abi"])


def holdings(token, address):
    return token.functions.balanceOf(address).call(), token.functions.totalSupply().call()


def test_faucet__mints_the_amount_as_the_bridge(devnet, token):
    balance, supply = holdings(token, ALICE)
    out = ok(devnet.run("faucet", "--to", ALICE.lower(), "--amount", "12.5"))
    assert holdings(token, ALICE) == (balance + 125 * PHA // 10, supply + 125 * PHA // 10)
    assert f"minted 12.5 PHA to {ALICE}" in out
    assert f"balance {format_pha(balance + 125 * PHA // 10)}" in out
    mints = token.events.Mint().get_logs(from_block=devnet.w3.eth.block_number)
    assert [(m["args"]["account"], m["args"]["amount"]) for m in mints] == [(ALICE, 125 * PHA // 10)]
    tx = devnet.w3.eth.get_transaction(mints[0]["transactionHash"])
    assert tx["from"] == L2_STANDARD_BRIDGE  # the bridge minted, through its usual door

    # The default drip, to a test account by its index; the impersonation ended afterwards.
    ok(devnet.run("faucet", "--to", "test:1"))
    assert holdings(token, ALICE) == (balance + 10125 * PHA // 10, supply + 10125 * PHA // 10)
    with pytest.raises(Web3RPCError, match="No Signer available"):
        devnet.w3.eth.send_transaction({"from": L2_STANDARD_BRIDGE, "to": ALICE, "value": 0})


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("0", "the amount must be positive"),
        ("-1", "the amount must be positive"),
        ("100000.000000000000000001", "at most 100,000 PHA per call"),
        ("lots", "not an amount of PHA: 'lots'"),
    ],
)
def test_faucet__bad_amount__one_line_and_nothing_minted(devnet, token, amount, fragment):
    """Refused before connecting (in-process; the subprocess form is the checksum test's last run)."""
    before = holdings(token, ALICE)
    line = refused(
        load_script("faucet"), ["--network", devnet.net, "--to", ALICE, "--amount", amount], fragment
    )
    assert "--amount" in line
    assert holdings(token, ALICE) == before


def test_faucet__largest_drip_is_accepted(devnet, token):
    before = holdings(token, ALICE)
    ok(devnet.run("faucet", "--to", ALICE, "--amount", "100000"))
    assert holdings(token, ALICE)[1] == before[1] + 100_000 * PHA


def test_faucet__wrong_checksum_refused(devnet, token):
    wrong = ALICE.replace("C5", "c5", 1)  # 0x70997970c518...: still mixed case, checksum broken
    before = holdings(token, ALICE)
    faucet = load_script("faucet")
    refused(faucet, ["--network", devnet.net, "--to", wrong], "wrong EIP-55 checksum")
    refused(faucet, ["--network", devnet.net, "--to", "0x1234"], "not an address: '0x1234'")
    assert holdings(token, ALICE) == before
    assert ok(devnet.run("faucet", "--to", ALICE.upper().replace("0X", "0x"), "--amount", "1"))


def test_delegate_and_post_without_pha__name_the_faucet(devnet, token):
    ok(devnet.run("stake", "open-pool", "--commission-bps", "1000", account="test:4"))
    faucet = f"ape run faucet --to {STAKER} --network {devnet.net}"
    result = devnet.run("stake", "delegate", "1", "50", account="test:4")
    one_line_error(result, f"has 0 PHA, needs 50 PHA; on this development chain get test PHA with `{faucet}`")
    post = (
        "client",
        "post",
        "--measurement",
        "0x" + "11" * 32,
        "--input",
        '{"handler":"echo","data":"hi"}',
        "--payment",
        "5",
    )
    result = devnet.run(*post, account="test:4")
    hint = f"on this development chain get test PHA with `{faucet}`"
    one_line_error(result, f"holds 0 PHA, needs 5 PHA; {hint}")

    # The command the message names works as written, and then so does the delegation.
    ok(ape_run(*faucet.split()[2:], env=devnet.env))
    assert "delegated 50 PHA to pool 1" in ok(devnet.run("stake", "delegate", "1", "50", account="test:4"))


def test_faucet__public_chain_id_refused(tmp_path):
    with Anvil(chain_id=8453, optimism=True) as node:
        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path), "BASE_RPC_URL": node.url}
        result = ape_run("faucet", "--to", ALICE, "--network", "base:mainnet:node", env=env)
        one_line_error(result, "the faucet works only on local development chains")
        assert "this is chain 8453 (Base)" in result.stderr
        assert result.returncode == 1
        assert node.rpc("eth_blockNumber") == "0x0"  # nothing was sent


@pytest.mark.parametrize("chain_id", sorted(PUBLIC_CHAIN_IDS))
def test_require_local_chain__every_public_chain_refused(chain_id):
    with pytest.raises(FaucetError, match=f"this is chain {chain_id} \\({PUBLIC_CHAIN_IDS[chain_id]}\\)"):
        require_local_chain(chain_id)


@pytest.mark.parametrize("chain_id", sorted(LOCAL_CHAIN_IDS))
def test_require_local_chain__local_chains_pass(chain_id):
    require_local_chain(chain_id)
