"""`ape run governance` under timelock governance, as people run it, on a Base-like devnet anvil:
delegate, propose (a direct command becomes a proposal), vote, queue, execute, status; the
guardian's direct revoke; one-line errors."""

from __future__ import annotations

import json
import os
import re

import pytest
from web3 import Web3

from pha.anvil import Anvil
from pha.chains import DEVNET_CHAIN_ID
from pha.deploy import L2_STANDARD_BRIDGE, GovernanceParams
from tests.scripts import ape_run, ok, one_line_error
from tests.world import Code

PHA = 10**18
PARAMS = GovernanceParams.devnet()


def _abi(project, name):
    return [item.model_dump(mode="json", by_alias=True) for item in getattr(project, name).contract_type.abi]


@pytest.mark.slow
def test_governance_cli__proposal_lifecycle(tmp_path, project):
    with Anvil(chain_id=DEVNET_CHAIN_ID, optimism=True) as node:
        net = f"base:devnet:{node.url}"
        env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path)}
        w3 = Web3(Web3.HTTPProvider(node.url))
        guardian = w3.eth.accounts[7]

        def run(*args, account=None):
            extra = ["--account", account] if account else []
            return ape_run(*args, "--network", net, *extra, env=env)

        out = ok(
            ape_run("deploy", "--network", net, "--governance", "timelock", "--guardian", guardian, env=env)
        )
        assert "PHAGovernor" in out and "PHATimelock" in out
        addresses = {
            n: e["address"]
            for n, e in json.loads((tmp_path / "base-devnet.json").read_text())["contracts"].items()
        }
        token = w3.eth.contract(address=addresses["PHAToken"], abi=_abi(project, "PHAToken"))
        registry = w3.eth.contract(address=addresses["WorkerRegistry"], abi=_abi(project, "WorkerRegistry"))

        # holders: test:1 1,000 PHA in hand, test:2 2,000 PHA staked (minted by the L2 bridge)
        w3.provider.make_request("anvil_impersonateAccount", [L2_STANDARD_BRIDGE])
        w3.provider.make_request("anvil_setBalance", [L2_STANDARD_BRIDGE, hex(10**18)])
        for who, amount in ((w3.eth.accounts[1], 1_000), (w3.eth.accounts[2], 2_000)):
            w3.eth.wait_for_transaction_receipt(
                token.functions.mint(who, amount * PHA).transact({"from": L2_STANDARD_BRIDGE})
            )
        ok(run("stake", "open-pool", "--commission-bps", "1000", account="test:4"))
        ok(run("stake", "delegate", "1", "2000", account="test:2"))

        assert "token votes (1,000 PHA) and staked votes (0 PHA in 0 pool(s))" in ok(
            run("governance", "delegate-votes", account="test:1")
        )
        assert "staked votes (2,000 PHA in 1 pool(s))" in ok(
            run("governance", "delegate-votes", account="test:2")
        )

        # the old direct command is now a proposal, shown in words before it is sent
        code = Code.named("pha-worker/cli")
        mid = "0x" + code.measurement_id.hex()
        out = ok(
            run(
                "governance", "allow-measurement", "--measurement-id", mid, "--label", "x",
                "--description", "Allow measurement X", account="test:1",
            )
        )  # fmt: skip
        assert 'proposal "Allow measurement X": 1 call by the timelock' in out
        assert f"WorkerRegistry({addresses['WorkerRegistry']}).allowMeasurement(measurementId={mid}" in out
        assert out.index("allowMeasurement(") < out.index("proposed: id")
        pid = re.search(r"proposed: id (\d+)", out).group(1)
        assert registry.functions.measurementStatus(code.measurement_id).call() == 0  # nothing changed yet

        one_line_error(run("governance", "vote", pid, "for", account="test:1"), "is Pending")
        w3.provider.make_request("anvil_mine", [hex(PARAMS.voting_delay + 1)])
        assert "with 1,000 PHA of votes" in ok(run("governance", "vote", pid, "for", account="test:1"))
        assert "with 2,000 PHA of votes" in ok(run("governance", "vote", pid, "for", account="test:2"))
        one_line_error(run("governance", "vote", pid, "against", account="test:2"), "has voted")
        w3.provider.make_request("anvil_mine", [hex(PARAMS.voting_period)])

        out = ok(run("governance", "status", pid))
        assert "state:    Succeeded" in out and "for 3,000 PHA" in out and "quorum:   120 PHA" in out
        assert "queued" in ok(run("governance", "queue", pid))
        one_line_error(run("governance", "execute", pid), "s from now")
        w3.provider.make_request("evm_increaseTime", [PARAMS.timelock_delay + 1])
        w3.provider.make_request("evm_mine", [])
        assert f"executed {pid}" in ok(run("governance", "execute", pid, account="test:5"))
        assert registry.functions.measurementStatus(code.measurement_id).call() == 1
        assert "Executed" in ok(run("governance", "status"))

        # the former governance account (the deployer) has no votes: it can only propose, and cannot
        one_line_error(run("governance", "set-verifier", guardian), "threshold to propose")
        one_line_error(
            run("governance", "propose", "Nope", "x", "--description", "d", account="test:1"),
            "not in the manifest",
        )
        out = ok(
            run("governance", "propose", "Staking", "setCooldown", "86400", "--description", "Cooldown 1 day",
                account="test:1")
        )  # fmt: skip
        assert "Staking(" in out and "setCooldown(cooldown_=86400)" in out

        # the guardian revokes directly
        out = ok(run("governance", "revoke-measurement", "--measurement-id", mid, account="test:7"))
        assert "(as the guardian)" in out
        assert registry.functions.measurementStatus(code.measurement_id).call() == 2
