"""The operator watch at the edges: read each watched worker from the registry, decide with
pha.registry.watch (pure), log warnings, set gauges and, where configured, renew the attestation
with the pool operator's key through pha.registry.actions.prepare_renewal.

It runs inside `pha-relayer run` as its own task (every `watch_interval_s`, in a thread: a slow
RPC or a renewal waiting for its receipt never stalls the relayer's loop) and standalone as
`pha-relayer watch [--once]` for operators who run no relayer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from prometheus_client import CollectorRegistry
from web3 import Web3
from web3.exceptions import ContractLogicError

from pha.cli import UserError
from pha.fmt import format_duration, format_time, iso, time_json, wrap
from pha.quote.verify import load_collateral_json, oldest_collateral
from pha.registry.actions import WorkerAttestation, choose_verifier, prepare_renewal
from pha.registry.reasons import reason_name
from pha.registry.watch import Assessment, Thresholds, WorkerView, assess
from relayer.chain.rpc import Rpc, RpcUnavailable, abi
from relayer.metrics import WatchMetrics
from relayer.settings import RelayerSettings, SettingsError, WatchTarget

log = logging.getLogger(__name__)

ZERO = "0x" + "00" * 20
ANY_TCB = 6  # IQuoteVerifier.TcbStatus.Revoked: no job floor
KINDS = ("expiry", "measurement_expiry", "grace", "ineligible", "collateral")
RECEIPT_TIMEOUT = 60
THRESHOLD_ABI = [
    {
        "type": "function",
        "name": "threshold",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
    }
]


@dataclass
class Watched:
    target: WatchTarget
    address: str | None
    last_renew_attempt: int | None = None


def revert_name(error: ContractLogicError, contract_abi: list[dict[str, Any]]) -> str:
    """A revert as `ErrorName` (from the ABI's custom errors) or the node's message."""
    data = error.data if isinstance(error.data, str) else ""
    selector = data[2:10].lower() if data.startswith("0x") else ""
    for item in contract_abi:
        if item.get("type") == "error":
            signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            if keccak(text=signature)[:4].hex() == selector:
                return item["name"]
    return str(error).splitlines()[0][:200]


class Watch:
    def __init__(self, settings: RelayerSettings, registry: str, rpc: Rpc | None = None) -> None:
        s = self.s = settings
        self.rpc = rpc or Rpc(s.rpc_urls, s.rpc_timeout)
        self.registry_address = to_checksum_address(registry)
        targets = s.watch_workers if s.watch_workers is not None else [WatchTarget(url=u) for u in s.workers]
        self.watched = [Watched(t, t.address) for t in targets]
        self.thresholds = Thresholds(
            expiry_warn_s=int(s.watch_expiry_warn_hours * 3600),
            grace_warn_s=int(s.watch_grace_warn_hours * 3600),
            renew_before_s=int(s.watch_renew_before_hours * 3600),
            renew_retry_s=int(s.watch_renew_retry_s),
        )
        self.operator_key = s.operator_key.get_secret_value() if s.operator_key else None
        if self.operator_key is None and any(t.renew for t in targets):
            raise SettingsError("renew: true needs the pool operator's key in PHA_RELAYER_OPERATOR_KEY")
        self.metrics = WatchMetrics()
        self.chain_id: int | None = None
        self.last_pass = 0.0

    def use_registry(self, registry: CollectorRegistry) -> Watch:
        """Export the gauges on another Prometheus registry (the relayer's)."""
        self.metrics = WatchMetrics(registry)
        return self

    def _registry(self, w3: Web3) -> Any:
        return w3.eth.contract(address=self.registry_address, abi=abi("IWorkerRegistry"))

    # ------------------------------------------------------------------ reading

    def read(self, address: str) -> WorkerView:
        """workerInfo, policyOf, check and explain of one worker, and the chain's time."""

        def fetch(w3: Web3) -> WorkerView:
            reg = self._registry(w3)
            now = int(w3.eth.get_block("latest")["timestamp"])
            info = reg.functions.workerInfo(address).call()
            measurement, pool, until, verified, tcb, registered, _invalidated = info
            if not registered:
                return WorkerView(address, now, False, 1, "worker is not registered")
            policy = reg.functions.policyOf(measurement).call()
            reason, _ = reg.functions.check(address, measurement, ANY_TCB, ZERO).call()
            _, text = reg.functions.explain(address, measurement).call()
            return WorkerView(
                worker=address, now=now, registered=True, reason=int(reason), reason_text=str(text),
                pool_id=int(pool), measurement_id=bytes(measurement), attested_until=int(until),
                tcb_status=int(tcb), max_tcb_status=int(policy[2]), out_of_date_grace=int(policy[3]),
                measurement_expires_at=int(policy[1]),
                verified_at=int(verified),
            )  # fmt: skip

        return self.rpc.call(fetch)

    # ------------------------------------------------------------------ one pass

    def run_once(self) -> list[Assessment]:
        """One pass over the watched workers (blocking: run it in a thread from async code)."""
        out = []
        for watched in self.watched:
            try:
                out.append(self._one(watched))
            except (RpcUnavailable, UserError, ValueError) as error:
                self.metrics.errors.inc()
                name = watched.address or watched.target.url
                log.warning("watch: worker %s: cannot read it: %s", name, error)
        self.last_pass = time.time()
        self.metrics.last_run.set(self.last_pass)
        return out

    def _one(self, watched: Watched) -> Assessment:
        if watched.address is None:
            assert watched.target.url is not None
            watched.address = WorkerAttestation.fetch(watched.target.url).worker
        view = self.read(watched.address)
        if watched.target.collateral is not None:
            collateral = load_collateral_json(Path(watched.target.collateral))
            view = replace(view, collateral_issued_at=oldest_collateral(collateral)[1])
        a = assess(view, self.thresholds, watched.target.renew, watched.last_renew_attempt)
        self._export(a)
        for alert in a.warnings:
            log.warning(
                "watch: worker %s (pool %d): %s%s",
                view.worker, view.pool_id, alert.message, f"; {a.renew_note}" if a.renew_note else "",
            )  # fmt: skip
        if not a.warnings:
            log.debug("watch: worker %s ok, %s to expiry", view.worker, format_duration(a.seconds_to_expiry))
        if a.renew:
            watched.last_renew_attempt = view.now
            self._renew(watched, view)
        return a

    def _export(self, a: Assessment) -> None:
        m, v = self.metrics, a.view
        labels = (v.worker, str(v.pool_id))
        m.seconds_to_expiry.labels(*labels).set(a.seconds_to_expiry)
        m.eligible.labels(*labels).set(1 if v.eligible else 0)
        if a.seconds_to_grace_close is not None:
            m.seconds_to_grace_close.labels(*labels).set(a.seconds_to_grace_close)
        else:
            with contextlib.suppress(KeyError):
                m.seconds_to_grace_close.remove(*labels)
        kinds = {w.kind for w in a.warnings}
        for kind in KINDS:
            m.warning.labels(v.worker, kind).set(1 if kind in kinds else 0)

    # ------------------------------------------------------------------ renewal

    def _verifier(self) -> tuple[str, int]:
        kind = self.s.watch_verifier
        if kind in ("dev", "committee", "automata"):
            if self.s.manifest is None:
                raise SettingsError(f"watch_verifier = {kind!r} needs `manifest` (or give the address)")
            from pha.manifest import load_manifest

            address = choose_verifier(load_manifest(self.s.manifest), kind)
        else:
            address = choose_verifier(None, kind)
        threshold = 1
        if kind == "committee":

            def read_threshold(w3: Web3) -> int:
                contract = w3.eth.contract(address=to_checksum_address(address), abi=THRESHOLD_ABI)
                return int(contract.functions.threshold().call())

            threshold = self.rpc.call(read_threshold)
        return address, threshold

    def _renew(self, watched: Watched, view: WorkerView) -> None:
        assert self.operator_key is not None and watched.target.url is not None
        try:
            if self.chain_id is None:
                self.chain_id = self.rpc.call(lambda w3: int(w3.eth.chain_id))
            verifier, threshold = self._verifier()
            renewal = prepare_renewal(
                view.worker, watched.target.url, self.chain_id, self.registry_address, view.pool_id, verifier,
                self.s.watch_verifier, self.s.watch_attester_urls, threshold,
            )  # fmt: skip
            receipt = self._send(renewal.args)
        except Exception as error:  # a failed renewal is reported, never fatal
            self.metrics.renewals.labels("error").inc()
            log.warning("watch: worker %s: renewal failed: %s", view.worker, error)
            return
        if receipt is None or receipt["status"] != 1:
            self.metrics.renewals.labels("reverted").inc()
            log.warning("watch: worker %s: renewal transaction reverted", view.worker)
            return
        new = renewal.attestation.worker
        fresh = self.read(new)
        self.metrics.renewals.labels("ok").inc()
        watched.address = new
        log.warning(
            "watch: worker %s renewed%s: attested until %s (was %s), tx %s",
            new, f" (rotated from {view.worker})" if renewal.rotated else "", iso(fresh.attested_until),
            iso(view.attested_until), "0x" + bytes(receipt["transactionHash"]).hex(),
        )  # fmt: skip
        self._export(assess(fresh, self.thresholds, True, watched.last_renew_attempt))

    def _send(self, args: tuple) -> Any:
        from eth_account import Account

        assert self.operator_key is not None
        account = Account.from_key(self.operator_key)

        def sign(w3: Web3) -> bytes:
            fn = self._registry(w3).functions.renewWorker(*args)
            nonce = w3.eth.get_transaction_count(account.address, "pending")
            try:  # build_transaction estimates gas: a refusal shows here and costs nothing
                tx = fn.build_transaction({"from": account.address, "nonce": nonce, "chainId": self.chain_id})
            except ContractLogicError as error:
                name = revert_name(error, abi("IWorkerRegistry"))
                raise ValueError(f"the registry refuses the renewal: {name}") from None
            return bytes(account.sign_transaction(tx).raw_transaction)

        raw = self.rpc.call(sign)
        tx_hash = self.rpc.call(lambda w3: w3.eth.send_raw_transaction(raw))
        return self.rpc.call(lambda w3: w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT))

    # ------------------------------------------------------------------ loop

    async def run_forever(self, stopping: asyncio.Event, interval: float) -> None:
        """A pass every `interval` seconds until `stopping` is set (passes run in a thread)."""
        while not stopping.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # never let the watch take the relayer down
                self.metrics.errors.inc()
                log.exception("watch pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)


def describe(a: Assessment) -> str:
    """The block `pha-relayer watch --once` prints for one worker (lines within 80 columns)."""
    v = a.view
    if not v.registered:
        return f"{v.worker}: not registered"
    lines = [f"{v.worker} pool {v.pool_id}: {'eligible' if v.eligible else 'NOT eligible'}"]
    lines.append(f"  eligible until {format_time(v.eligible_until, v.now, past='ended {} ago')}")
    if a.seconds_to_grace_close is not None:
        lines.append(f"  TCB grace closes {format_time(v.attested_until, v.now)}")
    for alert in a.warnings:
        lines.append(wrap(f"warning ({alert.kind}): {alert.message}"))
    return "\n".join(lines)


def assessment_json(a: Assessment) -> dict[str, Any]:
    """One worker of `pha-relayer watch --once --json` (docs/relayer.md "Operator watch")."""
    v = a.view
    registered = v.registered
    return {
        "worker": v.worker,
        "now": time_json(v.now),
        "registered": registered,
        "eligible": v.eligible,
        "reason": reason_name(v.reason),
        "pool_id": v.pool_id if registered else None,
        "eligible_until": time_json(v.eligible_until) if registered else None,
        "attested_until": time_json(v.attested_until) if registered else None,
        "seconds_to_expiry": a.seconds_to_expiry,
        "tcb_grace_closes_at": time_json(v.attested_until) if a.seconds_to_grace_close is not None else None,
        "warnings": [{"kind": w.kind, "message": w.message} for w in a.warnings],
        "renew": a.renew,
        "renew_note": a.renew_note,
    }
