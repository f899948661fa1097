"""`ape.reverts(Contract.SomeError)` that fails when the revert is not that error.

Ape's own check (0.8.x) returns early when the revert it caught was not decoded into a custom
error at all, so `ape.reverts(c.ErrorA)` passes on a revert with ErrorB, a panic or a string: a
test could claim "refused with ErrorA" while anything at all reverted. Installed for every test
by tests/conftest.py. The error must be the expected one by name; when Ape could not decode it
(a reverted deployment has no contract address to decode against), its revert bytes must carry
the expected error's selector, and the `name=value` inputs given must equal the decoded ones.
"""

from __future__ import annotations

from typing import Any

from ape.exceptions import CustomError
from ape.pytest.contextmanagers import RevertsContextManager
from eth_abi import decode
from eth_utils import keccak

_ape_exit = RevertsContextManager.__exit__


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(actual, bytes) and isinstance(expected, bytes | str):
        return actual == (
            bytes.fromhex(expected.removeprefix("0x")) if isinstance(expected, str) else expected
        )
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return actual == expected


def _check_undecoded(expected: type[CustomError], exc_value: BaseException, inputs: dict[str, Any]) -> None:
    name, abi = expected.__name__, expected.abi  # type: ignore[attr-defined]
    message = str(getattr(exc_value, "message", "") or exc_value)
    try:
        data = bytes.fromhex(message.removeprefix("0x")) if message.startswith("0x") else b""
    except ValueError:
        data = b""
    if data[:4] != keccak(text=abi.selector)[:4]:
        raise AssertionError(f"expected custom error {name}, but the revert was: {exc_value}") from exc_value
    values = decode([i.canonical_type for i in abi.inputs], data[4:])
    actual = {i.name: v for i, v in zip(abi.inputs, values, strict=True)}
    wrong = [
        f"{k}: expected {v!r}, was {actual[k]!r}" for k, v in inputs.items() if not _same(v, actual.get(k))
    ]
    if wrong:
        raise AssertionError(f"{name}: " + "; ".join(wrong)) from exc_value


def _strict_exit(self: RevertsContextManager, exc_type, exc_value, traceback) -> bool:
    expected = self.expected_message
    if exc_value is not None and isinstance(expected, type) and issubclass(expected, CustomError):
        if not isinstance(exc_value, CustomError):
            _check_undecoded(expected, exc_value, self.error_inputs)
            if self.revert_info is not None:
                self.revert_info.value = exc_value
            return True
        if type(exc_value).__name__ != expected.__name__:
            raise AssertionError(
                f"expected custom error {expected.__name__}, but it was {type(exc_value).__name__}"
            ) from exc_value
    return _ape_exit(self, exc_type, exc_value, traceback)


def install() -> None:
    RevertsContextManager.__exit__ = _strict_exit  # type: ignore[method-assign]
