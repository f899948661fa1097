"""Proposals to PHAGovernor: build them from contract calls, name them, describe them in words.

Used by `ape run governance` (scripts/governance.py), the end-to-end tests and the bench. A
proposal is identified by the hash of its targets, values, calldatas and description hash
(OpenZeppelin Governor's `hashProposal`), so the same four are needed to queue and execute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    def words(self) -> str:
        name = self.contract.contract_type.name
        _, inputs = self.contract.decode_input(self.calldata)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in inputs.items())
        return f"{name}({self.target}).{self.method}({shown})"


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
    calls: tuple[Call, ...] = field(default_factory=tuple)

    @property
    def targets(self) -> list[str]:
        return [c.target for c in self.calls]

    @property
    def values(self) -> list[int]:
        return [0] * len(self.calls)

    @property
    def calldatas(self) -> list[bytes]:
        return [c.calldata for c in self.calls]

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    def id(self, governor: Any) -> int:
        return int(governor.hashProposal(self.targets, self.values, self.calldatas, self.description_hash))

    def propose(self, governor: Any, sender: Any) -> Any:
        return governor.propose(self.targets, self.values, self.calldatas, self.description, sender=sender)

    def queue(self, governor: Any, sender: Any) -> Any:
        return governor.queue(self.targets, self.values, self.calldatas, self.description_hash, sender=sender)

    def execute(self, governor: Any, sender: Any) -> Any:
        return governor.execute(
            self.targets, self.values, self.calldatas, self.description_hash, sender=sender
        )

    def words(self) -> str:
        lines = [f'proposal "{self.description}": {len(self.calls)} call(s) by the timelock']
        lines += [f"  {i + 1}. {c.words()}" for i, c in enumerate(self.calls)]
        return "\n".join(lines)


def state_name(governor: Any, proposal_id: int) -> str:
    return STATES[int(governor.state(proposal_id))]
