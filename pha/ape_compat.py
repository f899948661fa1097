"""Make Ape (0.8) name the custom error of a reverted call on anvil 1.x.

anvil 1.x answers a reverted `eth_call` with the JSON-RPC error message "execution reverted:
custom error 0x<selector>: <arguments as raw characters>" (or the whole revert as raw characters
when its selector happens to be text) and the revert bytes in `data`. Ape
keeps only the message, so it never decodes the contract's custom error: scripts printed
"custom error 0x2cbebe86" instead of its name, and `ape.reverts(c.SomeError)` around a call
could not tell one error from another. ape-foundry also fetches and prints a full call trace
for every reverted call (`debug_traceCall`: 40 s for a SHA-384 replay), which a person running
a script does not need.

`install()` rewrites such an answer's message to "execution reverted: 0x<revert bytes>" (the
form Ape's compiler plugin decodes) before Ape reads it, and skips the trace for those; it is
idempotent. Called by `pha.cli.connected` and by the test suite.
"""

from __future__ import annotations

from typing import Any

_STANDARD = ("0x08c379a0", "0x4e487b71")  # Error(string), Panic(uint256): anvil words these well
DECODABLE_PREFIX = "execution reverted: 0x"
_installed = False


def rewrite_response(response: Any) -> Any:
    """The JSON-RPC `response` with anvil's rendering of a custom error (its "custom error 0x…"
    summary, or the revert bytes printed as characters when they happen to be text) replaced by
    the revert bytes in hex. Reverts with a reason string or a panic keep anvil's message."""
    error = response.get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict):
        return response
    message, data = error.get("message"), error.get("data")
    if not (isinstance(message, str) and message.startswith("execution reverted")):
        return response
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10 and data[:10] not in _STANDARD:
        error["message"] = DECODABLE_PREFIX + data[2:]
    return response


def _wrap_transport(transport: Any) -> None:
    if getattr(transport, "_pha_rewrites_reverts", False):
        return
    inner = transport.make_request

    def make_request(method: Any, params: Any) -> Any:
        return rewrite_response(inner(method, params))

    transport.make_request = make_request
    transport._pha_rewrites_reverts = True


def _skip_trace_when_decodable(cls: type) -> None:
    original = cls.__dict__["get_virtual_machine_error"]

    def get_virtual_machine_error(self: Any, exception: Exception, **kwargs: Any) -> Any:
        if exception.args and str(exception.args[0]).startswith(DECODABLE_PREFIX):
            kwargs["trace"] = kwargs["source_traceback"] = None
        return original(self, exception, **kwargs)

    cls.get_virtual_machine_error = get_virtual_machine_error


def install() -> None:
    """Patch Ape's JSON-RPC providers (anvil under ape-foundry, and any node URL) once."""
    global _installed
    if _installed:
        return
    from ape_ethereum.provider import Web3Provider
    from ape_foundry.provider import FoundryProvider

    make_request = Web3Provider._make_request

    def _make_request(self: Web3Provider, rpc: str, parameters: Any = None) -> Any:
        _wrap_transport(self.web3.provider)
        return make_request(self, rpc, parameters)

    Web3Provider._make_request = _make_request  # type: ignore[method-assign]
    for cls in (Web3Provider, FoundryProvider):
        _skip_trace_when_decodable(cls)
    _installed = True
