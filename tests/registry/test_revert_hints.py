"""Every custom error `pha.revert_hints` explains is one the compiled contracts can raise, and the
one-line revert a script prints carries the hint."""

from pha.revert_hints import HINTS, revert_hint

CONTRACTS = (
    "PHAToken",
    "Staking",
    "WorkerRegistry",
    "JobEscrow",
    "AttestationLog",
    "Migrator",
    "CommitteeQuoteVerifier",
    "DevQuoteVerifier",
    "AutomataQuoteVerifier",
)


def test_every_hinted_error_exists_in_the_contracts(project):
    names = {
        item.name
        for contract in CONTRACTS
        for item in getattr(project, contract).contract_type.abi
        if item.type == "error"
    }
    missing = sorted(set(HINTS) - names)
    assert not missing, f"hints for errors no contract has (renamed?): {missing}"


def test_hints_name_a_next_step():
    assert revert_hint("NoSuchError") == ""
    for name, hint in HINTS.items():
        assert hint and "\n" not in hint, name
    assert "allow-measurement" in revert_hint("RegistryMeasurementNotAllowed")
    assert "faucet" in revert_hint("ERC20InsufficientBalance")
