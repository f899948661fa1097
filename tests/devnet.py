"""A local world for the relayer's tests and bench (test support, not shipped in a package): the
stack deployed on a project-started anvil from the compiled artifacts in .build/, with web3
instead of Ape's network but by pha.deploy's own STEPS (constructor arguments) and WIRING (roles,
verifiers), so there is one definition of the deployment; pools, relayer keys, workers (in
this process or as `pha-worker serve` processes; simulated quotes through DevQuoteVerifier) and
a funded client that posts jobs.

    with Anvil(chain_id=DEVNET_CHAIN_ID) as node:  # pha.chains
        net = Devnet(node.url).deploy()
        pool = net.open_pool(relayers=[net.relayer.address])
        worker = net.start_worker(pool)
        ids = net.post_jobs(10)

Set-up runs with automine; `interval_mining(1)` then gives blocks every second.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.logs import DISCARD

from pha.anvil import DEFAULT_MNEMONIC, stop_process
from pha.escrow.spec import JobSpec, input_hash
from pha.paths import BUILD

PHA = 10**18
DAY = 86_400
ZERO = "0x" + "00" * 20
POLICY = (2, 0, 3, 0, bytes([1]) + bytes(15), bytes(16))  # TDX, no expiry, TCB up to 3, no DEBUG


NAMES = {
    "PHAToken": "token",
    "Staking": "staking",
    "AttestationLog": "log",
    "WorkerRegistry": "registry",
    "JobEscrow": "escrow",
    "DevQuoteVerifier": "verifier",
    "CommitteeQuoteVerifier": "committee",
}
"""pha.deploy step names -> the short keys of `Devnet.c`."""


@cache
def artifacts() -> dict[str, Any]:
    return json.loads((BUILD / "__local__.json").read_text())["contractTypes"]


def keys(n: int = 10) -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(n)]


class Devnet:
    def __init__(self, url: str) -> None:
        self.url = url
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.chain_id = self.w3.eth.chain_id
        ks = keys()
        self.gov, self.client, self.operator, self.treasury = ks[0], ks[1], ks[4], ks[8]
        self.relayers = [ks[5], ks[6], ks[7]]
        self.relayer = self.relayers[0]
        self.c: dict[str, Any] = {}
        self.workers: list[Any] = []
        self._posted = 0

    # ------------------------------------------------------------------ plumbing

    def contract(self, name: str, address: str) -> Any:
        return self.w3.eth.contract(address=address, abi=artifacts()[name]["abi"])

    def send(self, fn: Any, sender: LocalAccount, wait: bool = True) -> Any:
        tx_hash = fn.transact({"from": sender.address})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60) if wait else tx_hash

    def _deploy(self, name: str, *args: Any) -> Any:
        art = artifacts()[name]
        factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["deploymentBytecode"]["bytecode"])
        receipt = self.send(factory.constructor(*args), self.gov)
        assert receipt["status"] == 1, f"deploy {name} failed"
        return self.contract(name, receipt["contractAddress"])

    def automine(self) -> None:
        self.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]

    def interval_mining(self, seconds: int = 1) -> None:
        self.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_setIntervalMining", [seconds])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the stack

    def deploy(self, dev_verifier: bool = True, attesters: Sequence[str] = (), threshold: int = 1) -> Devnet:
        """The stack as `pha.deploy` defines it (its STEPS' constructor arguments, its WIRING), with
        web3 on this anvil instead of Ape's network; then a client funded and approved. The
        development verifier exists only on local chain ids (the devnet's included): on a public
        chain id pass `dev_verifier=False` and committee `attesters`."""
        from pha.deploy import STEPS, WIRING, DeployConfig, DeployContext, SkipStep

        g = self.gov
        config = DeployConfig(
            admin=g.address,
            treasury=self.treasury.address,
            dev_verifier=dev_verifier,
            attesters=list(attesters),
            threshold=threshold,
        )
        ctx = DeployContext(config=config, deployer=g)
        for step in STEPS:
            if not step.when(config):
                continue
            try:
                args = step.args(ctx)
            except SkipStep:
                continue
            contract = self._deploy(step.name, *args)
            self.c[NAMES.get(step.name, step.name)] = contract
            ctx.contracts[step.name] = _ApeLike(self, step.name, contract)
        for wire in WIRING:
            wire(ctx)
        token = self.c["token"]
        self.send(token.functions.grantRole(token.functions.MINTER_ROLE().call(), g.address), g)
        self.send(token.functions.minterMint(self.client.address, 10**7 * PHA), g)
        self.send(token.functions.approve(self.escrow.address, 2**256 - 1), self.client)
        self.deploy_block = self.w3.eth.block_number
        return self

    @property
    def escrow(self) -> Any:
        return self.c["escrow"]

    @property
    def registry(self) -> Any:
        return self.c["registry"]

    def open_pool(self, relayers: Sequence[str], stake: int = 100_000 * PHA) -> int:
        token, staking, op = self.c["token"], self.c["staking"], self.operator
        self.send(staking.functions.openPool(1_000), op)
        pool = int(staking.functions.poolCount().call())
        self.send(token.functions.minterMint(op.address, stake), self.gov)
        self.send(token.functions.approve(staking.address, stake), op)
        self.send(staking.functions.delegate(pool, stake), op)
        for r in relayers:
            self.send(self.registry.functions.setRelayer(pool, r, True), op)
        return pool

    def start_worker(
        self, pool: int, code_identity: str = "pha-worker/relayer-test", **overrides: Any
    ) -> Any:
        """An in-process worker registered in `pool` (measurement allowed): a BackgroundWorker."""
        import httpx

        from worker.server import BackgroundWorker
        from worker.settings import WorkerSettings

        settings = WorkerSettings(
            host="127.0.0.1", port=0, chain_id=self.chain_id, registry=self.registry.address, pool_id=pool,
            escrow=self.escrow.address, simulate=True, code_identity=code_identity, log_level="WARNING",
            **overrides,
        )  # fmt: skip
        worker = BackgroundWorker(settings).start()
        att = httpx.get(f"{worker.url}/attestation", timeout=10).json()
        self.register(att, pool)
        self.workers.append(worker)
        return worker

    def start_worker_process(
        self, pool: int, code_identity: str = "pha-worker/relayer-test", log_level: str = "WARNING"
    ) -> WorkerProcess:
        """A worker as its own process (`pha-worker serve`, real loopback HTTP), registered in `pool`."""
        settings = {
            "chain-id": self.chain_id, "registry": self.registry.address, "pool-id": pool,
            "escrow": self.escrow.address, "code-identity": code_identity, "log-level": log_level,
        }  # fmt: skip
        worker = WorkerProcess(settings).start()
        self.register(worker.attestation, pool)
        self.workers.append(worker)
        return worker

    def register(self, att: dict[str, Any], pool: int) -> None:
        measurement = bytes.fromhex(att["measurement_id"][2:])
        if self.registry.functions.measurementStatus(measurement).call() == 0:
            self.send(
                self.registry.functions.allowMeasurement(
                    measurement, POLICY, ("relayer-test", bytes(20), bytes(32))
                ),
                self.gov,
            )
        self.send(
            self.registry.functions.registerWorker(
                pool, att["worker"], bytes.fromhex(att["encryption_key"][2:]), self.c["verifier"].address,
                bytes.fromhex(att["quote"][2:]), b"",
            ),
            self.operator,
        )  # fmt: skip

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers.clear()

    # ------------------------------------------------------------------ clients

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def post_jobs(
        self,
        n: int,
        measurement: bytes,
        duration: int = 600,
        relay_fee: int = PHA // 10,
        payment: int = PHA,
        handler: str = "echo",
        worker: str = ZERO,
        wait: bool = True,
    ) -> list[int]:
        """Post `n` jobs (sent without waiting, then all receipts); returns their ids."""
        deadline = self.now() + duration
        hashes = []
        for _ in range(n):
            self._posted += 1
            data = json.dumps(
                {"handler": handler, "data": f"job {self._posted} {os.urandom(4).hex()}"}
            ).encode()
            spec = JobSpec(measurement, input_hash(data), relay_fee, deadline, worker)
            hashes.append(
                self.send(self.escrow.functions.post(spec.as_tuple(), payment, data), self.client, wait=False)
            )
        if not wait:
            return []
        ids = []
        for h in hashes:
            receipt = self.w3.eth.wait_for_transaction_receipt(h, timeout=120)
            assert receipt["status"] == 1
            for event in self.escrow.events.JobPosted().process_receipt(receipt, errors=DISCARD):
                ids.append(int(event["args"]["jobId"]))
        return ids

    def ends(self, from_block: int = 0) -> dict[str, dict[int, list[Any]]]:
        """Every JobSettled / JobExpired / JobCancelled so far, by job id (lists: to catch doubles)."""
        out: dict[str, dict[int, list[Any]]] = {}
        for name in ("JobSettled", "JobExpired", "JobCancelled"):
            event = getattr(self.escrow.events, name)
            table: dict[int, list[Any]] = {}
            for e in event.get_logs(from_block=from_block):
                table.setdefault(int(e["args"]["jobId"]), []).append(e)
            out[name] = table
        return out


class _ApeLike:
    """The slice of an Ape contract instance that pha.deploy's WIRING uses (`.address`,
    `.contract_type.name`, views called directly, transactions with `sender=`), over web3."""

    def __init__(self, net: Devnet, name: str, contract: Any) -> None:
        self._net, self._contract = net, contract
        self.address = contract.address
        self.contract_type = SimpleNamespace(name=name)
        self._views = {
            item["name"]
            for item in contract.abi
            if item.get("type") == "function" and item.get("stateMutability") in ("view", "pure")
        }

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._contract.functions, name)
        if name in self._views:
            return lambda *args: function(*args).call()

        def transact(*args: Any, sender: LocalAccount) -> Any:
            receipt = self._net.send(function(*args), sender)
            assert receipt["status"] == 1, f"{self.contract_type.name}.{name} failed"
            return receipt

        return transact


class WorkerProcess:
    """`python -m worker.cli serve --simulate` on a free loopback port; `stop()` sends SIGTERM."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.attestation: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return str(self.attestation["worker"])

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        args = [sys.executable, "-m", "worker.cli", "serve", "--simulate", "--host", "127.0.0.1"]
        args += ["--port", str(self.port)]
        for key, value in self.options.items():
            args += [f"--{key}", str(value)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker process exited with {self.proc.returncode}")
            try:
                self.attestation = httpx.get(f"{self.url}/attestation", timeout=2).json()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("worker process did not start in time")

    def stop(self) -> None:
        stop_process(self.proc)
