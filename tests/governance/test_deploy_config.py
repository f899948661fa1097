"""Governance deploy options that need no chain: defaults per network, bad combinations."""

import pytest

from pha.deploy import DeployConfig, GovernanceParams, governance_defaults
from tests.deploy.test_deploy_script import assert_one_line_error, run_deploy

ADMIN = "0x" + "ab" * 20


def test_governance_defaults__public_network__timelock_with_public_settings():
    mode, params = governance_defaults(local=False)
    assert mode == "timelock"
    assert params == GovernanceParams()
    assert params.timelock_delay == 2 * 86_400 and params.voting_period == 302_400


def test_governance_defaults__local__account_and_short_settings_unless_asked():
    assert governance_defaults(local=True) == ("account", GovernanceParams.devnet())
    assert governance_defaults(local=True, mode="timelock")[0] == "timelock"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"governance": "dao"}, "is not one of timelock, account"),
        ({"governance": "account", "guardian": ADMIN}, "guardian is for timelock governance only"),
        ({"governance": "timelock", "guardian": "0x12"}, "guardian '0x12' is not an address"),
    ],
)
def test_deploy_config__bad_governance__refused(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        DeployConfig(admin=ADMIN, **kwargs)


def test_governance_params__bad_values__refused():
    with pytest.raises(ValueError, match="quorum 101%"):
        GovernanceParams(quorum_percent=101)
    with pytest.raises(ValueError, match="voting period"):
        GovernanceParams(voting_period=0)


def test_deploy_script__admin_with_timelock__one_line_error(tmp_path):
    result = run_deploy(
        "--network", "ethereum:local:test", "--governance", "timelock", "--admin", ADMIN, tmp_path=tmp_path
    )
    assert_one_line_error(result, "--admin is for --governance account")
