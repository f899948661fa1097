"""The registry's verdicts by name with a hint (pha.registry.reasons), in the contract's order."""

import re

from pha.paths import ROOT
from pha.registry.reasons import NAMES, describe_reason, reason_hint, reason_name
from pha.registry.watch import ATTESTATION_EXPIRED, Thresholds, WorkerView, assess


def contract_reasons() -> list[str]:
    source = (ROOT / "contracts" / "interfaces" / "IWorkerRegistry.sol").read_text()
    body = re.search(r"enum Reason \{([^}]*)\}", source)
    assert body is not None
    return [name.strip() for name in body.group(1).split(",")]


def test_names__are_the_contract_enum_in_order():
    assert list(NAMES) == contract_reasons()


def test_every_verdict_but_eligible__says_what_to_do():
    assert reason_hint(0) == "" and describe_reason(0) == "Eligible"
    for code, name in enumerate(NAMES[1:], start=1):
        assert describe_reason(code).startswith(f"{name}: ") and len(reason_hint(code)) > 20
    assert describe_reason(10) == (
        "RelayerNotAuthorised: the pool operator authorises the relayer: `ape run operator authorise-relayer`"
    )


def test_unknown_code__named_as_a_number_not_an_index_error():
    assert reason_name(99) == "reason 99" and reason_hint(99) == ""
    assert describe_reason(99) == "registry reason 99 (unknown to this version)"


def test_watch_ineligible_warning__names_the_reason_and_the_command():
    view = WorkerView(
        "0x" + "ab" * 20, now=100, registered=True, reason=ATTESTATION_EXPIRED, attested_until=50
    )
    (warning,) = assess(view, Thresholds()).warnings
    assert warning.message == (
        "ineligible: AttestationExpired (AttestationExpired); renew its attestation: `ape run operator renew`"
    )
