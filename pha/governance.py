"""Proposals to PHAGovernor: build them from contract calls, name them, describe them in words.

Used by `ape run governance` (scripts/governance.py), the end-to-end tests and the bench. A
proposal is identified by the hash of its targets, values, calldatas and description hash
(OpenZeppelin Governor's `hashProposal`), so the same four are needed to queue and execute it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

STATES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
"""IGovernor.ProposalState, by value."""
SUPPORT = {"against": 0, "for": 1, "abstain": 2}
"""GovernorCountingSimple's vote types."""


@dataclass(frozen=True)
class Call:
    """One call a proposal makes: `contract.method(*args)`, as the timelock will send it."""

    contract: Any
    method: str
    args: tuple = ()

    @property
    def target(self) -> str:
        return str(self.contract.address)

    @property
    def calldata(self) -> bytes:
        return bytes(getattr(self.contract, self.method).encode_input(*self.args))


def call_words(target: str, calldata: bytes, contracts: Mapping[str, Any]) -> str:
    """`Name(address).method(arg=value, ...)` when `target` is one of `contracts` (by lower-case
    address), else the raw selector and length."""
    contract = contracts.get(target.lower())
    if contract is not None:
        try:
            signature, inputs = contract.decode_input(calldata)
        except Exception:  # any undecodable calldata is shown raw below
            pass
        else:
            method = str(signature).split("(")[0]
            shown = ", ".join(f"{k}={_show(v)}" for k, v in inputs.items())
            return f"{contract.contract_type.name}({target}).{method}({shown})"
    return f"{target}: calldata 0x{calldata[:4].hex()}... ({len(calldata)} bytes)"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


@dataclass(frozen=True)
class Proposal:
    """What `propose`, `queue` and `execute` take; no value (ETH) is ever sent."""

    description: str
    targets: tuple[str, ...]
    calldatas: tuple[bytes, ...]

    @classmethod
    def of(cls, description: str, calls: Iterable[Call]) -> Proposal:
        calls = list(calls)
        return cls(description, tuple(c.target for c in calls), tuple(c.calldata for c in calls))

    @classmethod
    def from_log(cls, log: Any) -> Proposal:
        """From the governor's ProposalCreated event (which carries all of it)."""
        return cls(
            str(log.description), tuple(str(t) for t in log.targets), tuple(bytes(c) for c in log.calldatas)
        )

    @property
    def values(self) -> list[int]:
        return [0] * len(self.targets)

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    def _args(self) -> tuple[list[str], list[int], list[bytes]]:
        return list(self.targets), self.values, list(self.calldatas)

    def id(self, governor: Any) -> int:
        return int(governor.hashProposal(*self._args(), self.description_hash))

    def propose(self, governor: Any, sender: Any) -> Any:
        return governor.propose(*self._args(), self.description, sender=sender)

    def queue(self, governor: Any, sender: Any) -> Any:
        return governor.queue(*self._args(), self.description_hash, sender=sender)

    def execute(self, governor: Any, sender: Any) -> Any:
        return governor.execute(*self._args(), self.description_hash, sender=sender)

    def words(self, contracts: Mapping[str, Any]) -> str:
        n = len(self.targets)
        lines = [f'proposal "{self.description}": {n} call{"s" if n != 1 else ""} by the timelock']
        lines += [
            f"  {i + 1}. {call_words(t, c, contracts)}"
            for i, (t, c) in enumerate(zip(self.targets, self.calldatas, strict=True))
        ]
        return "\n".join(lines)


def find_proposal(governor: Any, proposal_id: int, start_block: int, head: int) -> Proposal | None:
    """The proposal `proposal_id` from the governor's ProposalCreated events since `start_block`."""
    for log in governor.ProposalCreated.range(start_block, head + 1):
        if int(log.proposalId) == proposal_id:
            return Proposal.from_log(log)
    return None


def state_name(governor: Any, proposal_id: int) -> str:
    return STATES[int(governor.state(proposal_id))]
