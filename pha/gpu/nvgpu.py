"""The small interface to NVIDIA's nv-local-gpu-verifier, run as a subprocess in its own venv.

The package pins cryptography/pyOpenSSL/PyJWT versions that clash with Ape's, so it lives in
.build/nvgpu (built by `make setup` from requirements/nv-gpu-verifier.lock) and `pha` never
imports it: `nvgpu_helper.py` runs there and answers in JSON. `PHA_NVGPU_PYTHON` overrides the
interpreter.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from pha.gpu.errors import GpuEvidenceError

HELPER = Path(__file__).with_name("nvgpu_helper.py")
TIMEOUT_S = 120


def nvgpu_python() -> Path:
    """PHA_NVGPU_PYTHON, else the checkout's .build/nvgpu (never the working directory's: a
    directory someone else controls must not choose the interpreter we run)."""
    env = os.environ.get("PHA_NVGPU_PYTHON")
    candidate = (
        Path(env) if env else Path(__file__).resolve().parents[2] / ".build" / "nvgpu" / "bin" / "python"
    )
    if not candidate.exists():
        raise GpuEvidenceError(
            "nvgpu",
            f"NVIDIA's verifier venv is missing ({candidate}): run `make setup` or set PHA_NVGPU_PYTHON",
        )
    return candidate


def _run(*args: str | Path) -> dict[str, Any]:
    """Run the helper with absolute paths in a scratch working directory (NVIDIA's package writes
    verifier.log into the current directory) and parse its one JSON line."""
    command = [str(nvgpu_python()), str(HELPER)]
    command += [str(a.resolve()) if isinstance(a, Path) else a for a in args]
    try:
        with tempfile.TemporaryDirectory(prefix="pha-nvgpu-") as scratch:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, cwd=scratch
            )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GpuEvidenceError("nvgpu", f"NVIDIA verifier helper did not run: {error}") from None
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise GpuEvidenceError(
            "nvgpu", f"NVIDIA verifier helper failed (exit {done.returncode}): {tail}"
        ) from None


def verify_xml_signature(rim_path: Path, signer_pem: Path) -> bytes:
    """signxml's check of the RIM's enveloped signature by `signer_pem`; returns the signed XML."""
    out = _run("xmldsig", rim_path, signer_pem)
    if not out.get("ok"):
        raise GpuEvidenceError(
            "rim-signature", f"{rim_path.name}: XML signature invalid ({out.get('error')})"
        )
    return base64.b64decode(out["signed_xml"])


def nvidia_verify(
    report: Path, chain: Path, driver_rim: Path, vbios_rim: Path, nonce: bytes
) -> dict[str, dict[str, Any]]:
    """NVIDIA's own checks, step by step: {step: {"ok": bool, "error"?: str}} (see nvgpu_helper)."""
    return _run("nvidia", report, chain, driver_rim, vbios_rim, nonce.hex())
