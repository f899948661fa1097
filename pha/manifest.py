"""Deployment manifests: `deployments/<ecosystem>-<network>.json`.

A manifest records, for one chain, what was deployed where and from which code, so scripts can
attach to it and re-runs can tell whether the deployment is still the current code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pha.paths import DEPLOYMENTS

MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """A manifest file is missing, unreadable or for another chain."""


@dataclass
class DeployedContract:
    """One deployed contract: where it is and which code it runs."""

    address: str
    tx_hash: str
    block: int
    code_hash: str
    """keccak256 of the runtime code read back from the chain."""
    bytecode_hash: str
    """keccak256 of the compiled creation code (without constructor arguments)."""
    args: list = field(default_factory=list)


@dataclass
class Manifest:
    """Everything a script needs to attach to a deployment."""

    network: str
    chain_id: int
    deployer: str
    git_commit: str
    contracts: dict[str, DeployedContract] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    @property
    def deploy_block(self) -> int:
        """The first block holding any of this deployment (where event scans start)."""
        return min((c.block for c in self.contracts.values()), default=0)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise ManifestError(f"{name} is not in the deployment for {self.network}") from None

    def to_json(self) -> str:
        data = asdict(self)
        data["deploy_block"] = self.deploy_block
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data.pop("deploy_block", None)
        if data.get("version") != MANIFEST_VERSION:
            raise ManifestError(f"unsupported manifest version {data.get('version')!r}")
        contracts = {name: DeployedContract(**c) for name, c in data.pop("contracts").items()}
        return cls(contracts=contracts, **data)


def manifest_path(ecosystem: str, network: str, folder: Path = DEPLOYMENTS) -> Path:
    """The manifest file for a network, e.g. `deployments/base-sepolia.json`."""
    return folder / f"{ecosystem}-{network}.json"


def load_manifest(path: Path) -> Manifest:
    """Read a manifest; a clear ManifestError if it is missing or malformed."""
    try:
        return Manifest.from_json(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"no deployment manifest at {path}: run `ape run deploy` first") from None
    except (json.JSONDecodeError, TypeError, KeyError) as error:
        raise ManifestError(f"{path} is not a valid deployment manifest: {error}") from None


def save_manifest(manifest: Manifest, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(manifest.to_json())
    tmp.replace(path)
    return path
