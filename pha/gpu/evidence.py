"""A worker's GPU evidence as one file (`ape run operator register --gpu-evidence FILE`).

    {"report": "<hex: SPDM GET_MEASUREMENTS request || response>",
     "certs": "<PEM device chain, leaf first>",
     "simulated": false}

`simulated` is a label for people; what decides is the chain's root (pha.gpu.verify refuses the
simulator's root except for a development chain). `pha-quote gpu simulate` writes such a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from pha.gpu.certs import load_pem_chain
from pha.gpu.errors import GpuEvidenceError
from pha.gpu.spdm import read_report


@dataclass(frozen=True)
class GpuEvidence:
    report: bytes
    certs_pem: bytes
    simulated: bool = False

    @property
    def chain(self) -> list[x509.Certificate]:
        return load_pem_chain(self.certs_pem, "GPU evidence certs")

    def as_json(self) -> dict[str, Any]:
        return {"report": self.report.hex(), "certs": self.certs_pem.decode(), "simulated": self.simulated}

    @classmethod
    def from_json(cls, data: Any, source: str = "GPU evidence") -> GpuEvidence:
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("report"), str)
            or not isinstance(data.get("certs"), str)
        ):
            raise GpuEvidenceError("format", f'{source}: expected {{"report": "hex", "certs": "PEM"}}')
        return cls(
            report=read_report(data["report"].encode()),
            certs_pem=data["certs"].encode(),
            simulated=bool(data.get("simulated", False)),
        )

    @classmethod
    def load(cls, path: Path) -> GpuEvidence:
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            raise GpuEvidenceError("format", f"cannot read {path}: {error.strerror or error}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise GpuEvidenceError("format", f"{path} is not JSON") from None
        return cls.from_json(data, str(path))
