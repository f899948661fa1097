"""The row type and helpers shared by every bench module.

A bench module is `bench/<component>.py` with `measure(env: BenchEnv) -> list[Row]`. The runner
gives each module a fresh chain snapshot and restores it afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Row:
    """One figure (see shared BENCH.md): measured `value`, the issue's `goal` (or None)."""

    name: str
    value: float
    unit: str
    goal: float | None = None
    better: str = "lower"
    chain: str = "anvil"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None:
            return None
        return self.value <= self.goal if self.better == "lower" else self.value >= self.goal


@dataclass
class BenchEnv:
    """What a bench module gets: Ape's project, chain and test accounts (index 0 governs)."""

    project: Any
    chain: Any
    accounts: Any

    @property
    def gov(self) -> Any:
        return self.accounts[0]


def gas(receipt: Any) -> int:
    """The receipt's gasUsed: the figure every gas row reports."""
    return int(receipt.gas_used)


def web3_contract(env: BenchEnv, contract: Any) -> Any:
    """A raw web3 contract for an Ape contract instance: bulk set-up without Ape's per-call overhead."""
    w3 = env.chain.provider.web3
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract.contract_type.abi]
    return w3.eth.contract(address=str(contract.address), abi=abi)


def calldata_gas(data: bytes) -> int:
    """Intrinsic calldata cost (EIP-2028): 4 per zero byte, 16 per non-zero byte."""
    return sum(4 if b == 0 else 16 for b in data)


DAY = 86_400


def deploy_registry_world(env: BenchEnv, gov: Any) -> tuple[Any, Any, Any, Any]:
    """PHAToken, Staking, AttestationLog and WorkerRegistry wired as the deploy wires them, `gov`
    governing (7-day attestation lifetime, 1-day grace): (token, staking, log, registry)."""
    from pha.deploy import L1_PHA, L2_STANDARD_BRIDGE
    from pha.escrow.spec import ZERO_ADDRESS

    p = env.project
    token = gov.deploy(p.PHAToken, gov, L2_STANDARD_BRIDGE, L1_PHA)
    staking = gov.deploy(p.Staking, token, gov, gov)
    log = gov.deploy(p.AttestationLog, gov)
    registry = gov.deploy(p.WorkerRegistry, gov, staking, log, 7 * DAY, DAY)
    staking.setRegistry(registry, sender=gov)
    log.setWriters(registry, ZERO_ADDRESS, ZERO_ADDRESS, sender=gov)
    return token, staking, log, registry
