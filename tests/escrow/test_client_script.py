"""`ape run client` as a client runs it, against a Base-like anvil: post (approve and permit),
status, cancel, expire, wait, and one-line errors for mistakes."""

import json
import re
from datetime import UTC, datetime

import pytest
from eth_utils import keccak

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
        assert re.search(r"deadline \S+Z \(in (59 min \d+ s|1 h)\)", out), out
        out = ok(query("status", "1"))
        assert "job 1: open" in out and "  payment     2 PHA (relay fee 0.1 PHA)" in out
        assert re.search(r"  deadline    \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (59 min|1 h)", out), out
        assert all(len(line) <= 80 for line in out.splitlines()), out

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
        job = json.loads(ok(query("status", "2", "--json")))  # one document, nothing else
        assert job["job_id"] == 2 and job["state"] == "expired"
        assert job["payment"] == {"wei": str(3 * PHA), "pha": "3"}
        assert job["refund"] == {"wei": str(3 * PHA), "pha": "3"} and job["slashed"]["wei"] == "0"
        assert job["relay_fee"] == {"wei": "0", "pha": "0"} and job["claimed_by"] is None
        deadline = job["deadline"]
        assert deadline["iso"] == datetime.fromtimestamp(deadline["unix"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert job["now"]["unix"] > deadline["unix"]  # past it: that is why it could expire
        assert job["input_hash"] == "0x" + keccak(b'{"handler":"echo","data":"hi"}').hex()
        result = query("wait", "2", "--timeout", "5", "--json")
        one_line_error(result, "ended without a result: expired")
        assert result.stdout == ""  # an error is on stderr only, with the human form's exit code

        one_line_error(client_run(*post, "--payment", "1", "--relay-fee", "2"), "cannot exceed --payment")
        one_line_error(client_run(*post, "--payment", "100"), "needs 100")
        one_line_error(query("status", "9"), "job 9 was never posted")
