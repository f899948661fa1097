"""A project-owned anvil: started on a free loopback port (or a given one), always stopped.

Used by tests, scripts, the bench and the demo, so nothing needs to be running beforehand::

    with Anvil(chain_id=DEVNET_CHAIN_ID, block_time=2, optimism=True) as node:  # pha.chains
        print(node.url)

The binary is the one npm installed (`@foundry-rs/anvil`), found inside the project.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from pha.paths import NODE_MODULES

log = logging.getLogger(__name__)

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


class AnvilError(RuntimeError):
    """anvil could not be found, started, or did not answer in time."""


def find_anvil() -> Path:
    """Return the anvil executable: the native binary npm installed, else `anvil` on PATH."""
    for candidate in (
        NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        NODE_MODULES / "@foundry-rs" / "anvil-linux-arm64" / "bin" / "anvil",
        NODE_MODULES / "@foundry-rs" / "anvil-darwin-arm64" / "bin" / "anvil",
        NODE_MODULES / ".bin" / "anvil",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise AnvilError("anvil not found: run `make setup` (it installs @foundry-rs/anvil with npm)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen | None, grace: float = 15.0) -> None:
    """Stop a child server: SIGTERM (a clean stop), SIGKILL if it has not exited within `grace`
    seconds. Nothing to do for no process or one already gone."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def connect_host(host: str) -> str:
    """The address to reach a server bound to `host` (a wildcard bind is reached over loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def port_in_use(host: str, port: int) -> str | None:
    """None if `port` can be bound on `host` now; else a line saying who holds it, if cheaply known
    (the listening process of this user, and whether an Ethereum node answers there)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT leftover is free
        try:
            sock.bind((host, port))
            return None
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return f"cannot listen on {host}:{port}: {error.strerror}"
    holder = _listener(port)
    line = f"port {port} on {host} is already in use" + (f" by {holder}" if holder else "")
    try:
        chain_id = int(str(rpc_call(f"http://{connect_host(host)}:{port}", "eth_chainId", timeout=1.0)), 16)
        line += f"; an Ethereum node with chain id {chain_id} answers there"
    except (OSError, ValueError, AnvilError, json.JSONDecodeError):
        pass
    return line


def require_free_port(host: str, port: int | None, option: str) -> None:
    """Refuse, before anything starts, to listen on a port someone holds: raises `PortInUseError` with
    who holds it and the `option` that picks another. Port 0 or None (any free port) always passes."""
    if not port:
        return
    problem = port_in_use(host, port)
    if problem:
        raise PortInUseError(f"{problem}: stop it, or choose another port with {option}")


class PortInUseError(OSError):
    """A server's port is taken; the message says by whom and how to pick another."""


def _listener(port: int) -> str | None:
    """'pid 123 (anvil)' for the process listening on `port`, when this user may see it."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except Exception:  # best effort only: no psutil, no permission, the process just exited
        return None
    return None


def rpc_call(url: str, method: str, params: list | None = None, timeout: float = 5.0) -> object:
    """One JSON-RPC call over HTTP; returns `result` or raises AnvilError with the node's error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise AnvilError(f"{method}: {reply['error']}")
    return reply["result"]


class Anvil:
    """An anvil process on 127.0.0.1; a context manager that always stops it."""

    def __init__(
        self,
        chain_id: int = 31337,
        block_time: float | None = None,
        optimism: bool = False,
        accounts: int = 10,
        balance_eth: int = 10_000,
        mnemonic: str = DEFAULT_MNEMONIC,
        gas_limit: int | None = None,
        extra_args: list[str] | None = None,
        startup_timeout: float = 20.0,
        host: str = "127.0.0.1",
        silent: bool = True,
    ) -> None:
        self.chain_id = chain_id
        self.block_time = block_time
        self.optimism = optimism
        self.accounts = accounts
        self.balance_eth = balance_eth
        self.mnemonic = mnemonic
        self.gas_limit = gas_limit
        self.extra_args = list(extra_args or [])
        self.startup_timeout = startup_timeout
        self.host = host
        self.silent = silent  # False: anvil's own output (accounts, transactions) goes to this stdout
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise AnvilError("anvil is not running")
        return f"http://{connect_host(self.host)}:{self.port}"

    def command(self, port: int) -> list[str]:
        args = [
            str(find_anvil()),
            "--host", self.host,
            "--port", str(port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth),
            "--mnemonic", self.mnemonic,
        ]  # fmt: skip
        if self.silent:
            args.append("--silent")
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        if self.optimism:
            args.append("--optimism")
        if self.gas_limit is not None:
            args += ["--gas-limit", str(self.gas_limit)]
        return args + self.extra_args

    def start(self, port: int | None = None) -> Anvil:
        """Start and wait until `eth_chainId` answers: on `port`, else on a free port (retried if
        another process took it meanwhile)."""
        last_error: Exception | None = None
        for _ in range(1 if port else 3):
            port_now = port or free_port()
            process = subprocess.Popen(
                self.command(port_now),
                stdout=subprocess.DEVNULL if self.silent else None,
                stderr=subprocess.PIPE if self.silent else None,
                start_new_session=True,
            )
            self.port, self.process = port_now, process
            try:
                self._wait_ready()
                log.info("anvil started on %s (chain id %d)", self.url, self.chain_id)
                return self
            except AnvilError as error:
                last_error = error
                self.stop()
        raise AnvilError(f"anvil did not start: {last_error}")

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise AnvilError(f"anvil exited with {self.process.returncode}: {stderr.strip()[:300]}")
            try:
                if int(str(rpc_call(self.url, "eth_chainId", timeout=1.0)), 16) == self.chain_id:
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.05)
        raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout} s")

    def stop(self) -> None:
        """Stop anvil: SIGTERM, then SIGKILL after 5 s. Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass
        finally:
            if process.stderr:
                process.stderr.close()

    def rpc(self, method: str, params: list | None = None) -> object:
        """A JSON-RPC call to this node (for anvil_* / evm_* helpers in tests)."""
        return rpc_call(self.url, method, params)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        self.stop()
