"""`ape run client` as a client runs it, against a Base-like anvil: post (approve and permit),
status, cancel, expire, wait, and one-line errors for mistakes."""

import pytest

from tests.scripts import deployed_devnet, mint, ok, one_line_error

PHA = 10**18
MEASUREMENT = "0x" + "11" * 32


@pytest.mark.slow
def test_client_script__post_status_cancel_expire_wait(tmp_path, project):
    with deployed_devnet(tmp_path) as devnet:
        addresses, w3 = devnet.addresses, devnet.w3
        client = w3.eth.accounts[1]
        abi = [item.model_dump(mode="json", by_alias=True) for item in project.PHAToken.contract_type.abi]
        mint(w3, addresses["PHAToken"], abi, client, 10 * PHA)
        token = w3.eth.contract(address=addresses["PHAToken"], abi=abi)

        def client_run(*args, account="test:1"):
            return devnet.run("client", *args, account=account)

        def query(*args):
            return devnet.run("client", *args)

        post = ["post", "--measurement", MEASUREMENT, "--input", '{"handler":"echo","data":"hi"}']
        out = ok(client_run(*post, "--payment", "2", "--relay-fee", "0.1"))
        assert "job 1 posted: 2 PHA" in out
        assert token.functions.balanceOf(client).call() == 8 * PHA
        assert "job 1: open" in ok(query("status", "1"))

        one_line_error(client_run("cancel", "1", account="test:2"), "only the client")
        assert "job 1 cancelled: 2 PHA refunded" in ok(client_run("cancel", "1"))
        assert token.functions.balanceOf(client).call() == 10 * PHA
        one_line_error(client_run("cancel", "1"), "job 1 already cancelled")

        out = ok(client_run(*post, "--payment", "3", "--deadline-in", "60", "--permit"))
        assert "job 2 posted: 3 PHA" in out
        one_line_error(client_run("expire", "2"), "has not passed")
        w3.provider.make_request("evm_increaseTime", [120])
        w3.provider.make_request("evm_mine", [])
        out = ok(client_run("expire", "2", account="test:3"))  # anyone may expire
        assert "job 2 expired: 3 PHA refunded, 0 PHA slashed" in out
        assert token.functions.balanceOf(client).call() == 10 * PHA
        assert "job 2: expired" in ok(query("status", "2"))
        one_line_error(query("wait", "2", "--timeout", "5"), "ended without a result: expired")

        one_line_error(client_run(*post, "--payment", "1", "--relay-fee", "2"), "cannot exceed --payment")
        one_line_error(client_run(*post, "--payment", "100"), "needs 100")
        one_line_error(query("status", "9"), "job 9 was never posted")
