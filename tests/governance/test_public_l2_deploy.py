"""`ape run deploy` on a public L2's chain id (Phala L2, 2035: a fork-less anvil started with
`--chain-id 2035 --optimism`, 1 s blocks, reached as `phala:mainnet:node`): the timelock governs by default,
the development verifier is absent, the deployer keeps no role."""

from __future__ import annotations

import json
import os

import pytest
from eth_account import Account
from web3 import Web3

from pha.anvil import Anvil
from pha.cli import passphrase_env_var
from tests.scripts import ape_run, keyfile_data_folder, ok

ALIAS = "pha-l2-deployer"
PASSPHRASE = "l2 deployer passphrase"
KEY = "0x" + "6b" * 32
DEPLOYER = Account.from_key(KEY).address


@pytest.mark.slow
def test_deploy__phala_l2__timelock_by_default_and_no_dev_verifier(tmp_path, project):
    # blocks every second, as on a live L2: the deploy waits for its confirmations
    with Anvil(chain_id=2035, optimism=True, block_time=1) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": DEPLOYER, "value": 100 * 10**18})
        )
        data = keyfile_data_folder(tmp_path / "ape", ALIAS, KEY, PASSPHRASE)
        env = {
            **os.environ,
            "PHA_DEPLOYMENTS_DIR": str(tmp_path),
            "PHALA_RPC_URL": node.url,
            "APE_DATA_FOLDER": str(data),
            passphrase_env_var(ALIAS): PASSPHRASE,
        }
        out = ok(ape_run("deploy", "--network", "phala:mainnet:node", "--account", ALIAS, env=env))
        manifest = json.loads((tmp_path / "phala-mainnet.json").read_text())
        assert manifest["chain_id"] == 2035
        names = set(manifest["contracts"])
        assert {"PHATimelock", "PHAGovernor", "PHAVotes"} <= names and "DevQuoteVerifier" not in names
        assert "PHAGovernor" in out
        timelock = manifest["contracts"]["PHATimelock"]["address"]
        for name in ("PHAToken", "Staking", "WorkerRegistry", "JobEscrow", "AttestationLog", "PHATimelock"):
            abi = [i.model_dump(mode="json", by_alias=True) for i in getattr(project, name).contract_type.abi]
            c = w3.eth.contract(address=manifest["contracts"][name]["address"], abi=abi)
            admin = c.functions.DEFAULT_ADMIN_ROLE().call()
            assert not c.functions.hasRole(admin, DEPLOYER).call(), name
            if name != "PHATimelock":
                assert c.functions.hasRole(admin, timelock).call(), name
