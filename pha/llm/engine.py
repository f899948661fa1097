"""The local inference engine for tests, bench and the demo: llama.cpp's OpenAI-compatible server
(`python -m llama_cpp.server`) from its own venv (.build/llm, `make setup-llm`), serving the tiny
model of pha/llm/tinymodel.py.

    model = make_tiny_model(tmp / "tiny.gguf")          # path, sha256 digest
    with Engine(model.path, alias="tiny") as engine:    # engine.url: http://127.0.0.1:<port>
        ...
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pha.anvil import free_port, stop_process
from pha.paths import BUILD, ROOT

ENGINE_PYTHON = Path(os.environ.get("PHA_LLM_PYTHON") or BUILD / "llm" / "bin" / "python")
TINYMODEL = ROOT / "pha" / "llm" / "tinymodel.py"


class EngineMissingError(RuntimeError):
    """The engine's venv is not installed."""


def require_engine() -> Path:
    if not ENGINE_PYTHON.exists():
        raise EngineMissingError(
            f"the LLM engine is not installed ({ENGINE_PYTHON} is missing): run make setup-llm"
        )
    return ENGINE_PYTHON


@dataclass(frozen=True)
class Model:
    path: Path
    digest: str
    """0x-sha256 of the file."""


def make_tiny_model(path: Path, seed: int = 7) -> Model:
    """Write the tiny random-weight GGUF model with the engine's Python; its path and digest."""
    result = subprocess.run(
        [str(require_engine()), str(TINYMODEL), str(path), "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"tinymodel failed: {result.stderr.strip()[-500:]}")
    return Model(path, "0x" + hashlib.sha256(path.read_bytes()).hexdigest())


class Engine:
    """`python -m llama_cpp.server` on a free loopback port; stopped with SIGTERM."""

    def __init__(self, model: Path, alias: str, threads: int = 2, log: Path | None = None) -> None:
        self.model, self.alias, self.threads = model, alias, threads
        self.port = free_port()
        self.log = log or model.with_suffix(".engine.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.load_s = 0.0
        """Seconds from start to the first answer of /v1/models (import, model load, server up)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> Engine:
        args = [
            str(require_engine()), "-m", "llama_cpp.server", "--model", str(self.model),
            "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", "512", "--n_threads", str(self.threads), "--verbose", "False",
            # no per-token check for a dropped client: one caller (the worker), never streaming
            "--interrupt_requests", "False",
        ]  # fmt: skip
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the engine exited with {self.proc.returncode}: {self.log.read_text()[-800:]}"
                )
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=2).status_code == 200:
                    self.load_s = time.monotonic() - started
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the engine did not answer within {timeout:g} s")

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
