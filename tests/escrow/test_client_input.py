"""Bad job input is refused at post time by `ape run client post` (nothing sent, nothing locked);
input that slipped through (posted straight to the escrow) is refused by a real worker with the
same message, `client status` shows it, and `client cancel` returns the whole payment."""

import httpx
import pytest
from eth_utils import keccak

from pha.escrow.spec import JobSpec
from tests.scripts import deployed_devnet, mint, ok, one_line_error
from tests.worker.conftest import job_request, make_settings
from worker.server import BackgroundWorker

PHA = 10**18
MEASUREMENT = "0x" + "11" * 32
KNOWN = "(known: chat, echo, sentiment, sha256, wordcount)"
BAD = [
    ('{"handler": "echo", "data": ', "bad input: input is not UTF-8 JSON"),
    ('{"handler": "echo"}', 'input needs a "data" field'),
    ('{"handler": "nope", "data": "hi"}', f"unknown handler 'nope' {KNOWN}"),
    ('{"handler": "sentiment", "data": 42}', "handler 'sentiment' takes a string or"),
    ('{"handler": "sha256", "data": [1]}', "handler 'sha256' takes a string or"),
    ('{"handler": "wordcount", "data": {"txt": "a"}}', "handler 'wordcount' takes a string or"),
]


def _error_line(result) -> str:
    return next(line for line in result.stderr.splitlines() if line.startswith("Error:"))[len("Error: ") :]


@pytest.mark.slow
def test_client_post__bad_input_refused__slipped_through_refused_by_worker_and_reclaimed(tmp_path, project):
    with deployed_devnet(tmp_path) as devnet:
        addresses, w3 = devnet.addresses, devnet.w3
        client = w3.eth.accounts[1]
        token_abi = [i.model_dump(mode="json", by_alias=True) for i in project.PHAToken.contract_type.abi]
        escrow_abi = [i.model_dump(mode="json", by_alias=True) for i in project.JobEscrow.contract_type.abi]
        mint(w3, addresses["PHAToken"], token_abi, client, 10 * PHA)
        token = w3.eth.contract(address=addresses["PHAToken"], abi=token_abi)
        escrow = w3.eth.contract(address=addresses["JobEscrow"], abi=escrow_abi)

        def post(text, *extra):
            args = ["post", "--measurement", MEASUREMENT, "--input", text, "--payment", "2", *extra]
            return devnet.run("client", *args, account="test:1")

        messages = {}
        for text, fragment in BAD:
            result = post(text)
            one_line_error(result, fragment)
            messages[text] = _error_line(result)
            assert "e.g. {" in messages[text]  # an example to post instead
        assert token.functions.balanceOf(client).call() == 10 * PHA
        assert token.functions.allowance(client, escrow.address).call() == 0  # no approve either
        assert escrow.functions.nextJobId().call() == 1  # nothing posted

        assert "job 1 posted: 2 PHA" in ok(post('{"handler":"sha256","data":"hello"}'))
        assert "job 2 posted" in ok(post('{"handler":"reverse","data":"abc"}', "--any-handler"))
        assert token.functions.balanceOf(client).call() == 6 * PHA

        # Another client posts bad input straight to the escrow (no check).
        bad = b'{"handler": "sentiment", "data": 42}'
        before = token.functions.balanceOf(client).call()
        deadline = w3.eth.get_block("latest")["timestamp"] + 3_600
        spec = JobSpec(bytes.fromhex(MEASUREMENT[2:]), keccak(bad), 0, deadline)
        for call in (
            token.functions.approve(escrow.address, 3 * PHA),
            escrow.functions.post(spec.as_tuple(), 3 * PHA, bad),
        ):
            assert w3.eth.wait_for_transaction_receipt(call.transact({"from": client}))["status"] == 1
        [posted] = escrow.events.JobPosted().get_logs(from_block=0, argument_filters={"jobId": 3})
        carried = bytes(posted["args"]["input"])  # what a relayer carries to the worker

        settings = make_settings(chain_id=w3.eth.chain_id, escrow=escrow.address)
        with BackgroundWorker(settings) as worker:
            reply = httpx.post(f"{worker.url}/jobs", json=job_request(3, carried), timeout=10)
        assert reply.status_code == 400
        reason = reply.json()["error"]
        assert reason == messages[bad.decode()]  # the worker says what `client post` says

        status = ok(devnet.run("client", "status", "3"))
        assert all(len(line) <= 80 for line in status.splitlines()), status
        assert f"refused by workers: {reason}" in " ".join(status.split())  # wrapped to 80 columns
        assert "`ape run client cancel 3`" in status
        one_line_error(devnet.run("client", "wait", "3", "--timeout", "60"), "workers refuse its input")
        assert "refused" not in ok(devnet.run("client", "status", "1"))

        assert "job 3 cancelled: 3 PHA refunded" in ok(devnet.run("client", "cancel", "3", account="test:1"))
        assert token.functions.balanceOf(client).call() == before
