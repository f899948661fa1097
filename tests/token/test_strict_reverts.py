"""The suite's `ape.reverts(c.SomeError)` (tests/strict_reverts.py, pha/ape_compat.py) fails on a
revert with another error or other inputs, for a call, a transaction and a deployment alike:
without it Ape 0.8 on anvil 1.x passed any revert of a call or a deployment."""

from __future__ import annotations

import copy

import ape
import pytest

from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE


def test_call__right_error_and_inputs_pass_wrong_ones_fail(token, chain):
    future = chain.blocks.head.timestamp + 10_000
    with ape.reverts(token.ERC5805FutureLookup):
        token.getPastVotes(token, future)
    with (
        pytest.raises(AssertionError, match="ERC5805FutureLookup"),
        ape.reverts(token.ERC20InsufficientBalance),
    ):
        token.getPastVotes(token, future)
    with pytest.raises(AssertionError), ape.reverts(token.ERC5805FutureLookup, timepoint=future + 1):
        token.getPastVotes(token, future)


def test_transaction__other_error_fails(token, alice, bob):
    with ape.reverts(token.ERC20InsufficientBalance, sender=alice.address, needed=1):
        token.transfer(bob, 1, sender=alice)
    with (
        pytest.raises(AssertionError, match="ERC20InsufficientBalance"),
        ape.reverts(token.ERC5805FutureLookup),
    ):
        token.transfer(bob, 1, sender=alice)


def test_deployment__selector_and_inputs_checked_without_an_address(project, gov):
    zero = ape.utils.ZERO_ADDRESS
    with ape.reverts(project.PHAToken.PHATokenZeroAddress):
        gov.deploy(project.PHAToken, zero, L2_STANDARD_BRIDGE, L1_PHA)
    with (
        pytest.raises(AssertionError, match="expected custom error ERC20InsufficientBalance"),
        ape.reverts(project.PHAToken.ERC20InsufficientBalance),
    ):
        gov.deploy(project.PHAToken, zero, L2_STANDARD_BRIDGE, L1_PHA)


def test_rewrite_response__custom_errors_to_hex_reason_strings_and_panics_kept():
    from pha.ape_compat import rewrite_response

    def answer(message: str, data: str) -> dict:
        return {"error": {"code": 3, "message": message, "data": data}}

    summary = answer("execution reverted: custom error 0x2cbebe86", "0x2cbebe86")
    assert rewrite_response(summary)["error"]["message"] == "execution reverted: 0x2cbebe86"
    as_text = answer("execution reverted: /.S\\\x00@", "0x2f2e535c" + "00" * 31 + "40")
    assert (
        rewrite_response(as_text)["error"]["message"] == "execution reverted: 0x2f2e535c" + "00" * 31 + "40"
    )
    reason = answer("execution reverted: no", "0x08c379a0" + "00" * 64)
    panic = answer(
        "execution reverted: panic: arithmetic underflow or overflow (0x11)", "0x4e487b71" + "00" * 32
    )
    empty = answer("execution reverted", "0x")
    for kept in (reason, panic, empty, {"result": "0x"}):
        before = copy.deepcopy(kept)
        assert rewrite_response(kept) == before  # (it edits in place: compare with a copy)
