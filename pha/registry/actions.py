"""What the governance and operator scripts do, as functions over Ape contracts.

HTTP calls (the worker's /attestation, attesters' /attest) are plain blocking requests with
timeouts: these run in a person's terminal, not in a service loop.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from pha.cli import UserError
from pha.fmt import format_time, time_json
from pha.quote.app_evidence import attestation_evidence
from pha.quote.committee import Statement, encode_evidence
from pha.quote.eventlog import EventLogError
from pha.quote.io import decode_quote
from pha.quote.tcb import TcbStatus

HTTP_TIMEOUT = 30.0


def http_json(url: str, body: dict | None = None, timeout: float = HTTP_TIMEOUT) -> dict:
    """GET (or POST `body` as JSON to) `url`; a UserError with the server's one-line reason on failure."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            reason = json.loads(error.read()).get("error", "")
        except (json.JSONDecodeError, AttributeError):
            reason = ""
        raise UserError(f"{url}: HTTP {error.code} {reason}".strip()) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise UserError(f"{url}: cannot reach it ({getattr(error, 'reason', error)})") from None
    except json.JSONDecodeError:
        raise UserError(f"{url}: the answer is not JSON") from None


@dataclass(frozen=True)
class WorkerAttestation:
    """What a worker's GET /attestation says about itself."""

    worker: str
    encryption_key: bytes
    measurement_id: bytes
    quote: bytes
    chain_id: int
    registry: str
    pool_id: int
    simulated: bool
    event_log: list[Any] | None = None  # dstack's RTMR event log (a dstack worker's, or a simulated app's)
    app_compose: str | None = None  # the app-compose.json text the log's compose hash covers

    @property
    def app_evidence(self) -> dict[str, Any]:
        """What an attester needs besides the quote to vouch for the app ({} without a log)."""
        if self.event_log is None:
            return {}
        return {"event_log": self.event_log, "app_compose": self.app_compose}

    @classmethod
    def fetch(cls, worker_url: str) -> WorkerAttestation:
        data = http_json(worker_url.rstrip("/") + "/attestation")
        try:
            return cls(
                worker=to_checksum_address(data["worker"]),
                encryption_key=bytes.fromhex(data["encryption_key"].removeprefix("0x")),
                measurement_id=bytes.fromhex(data["measurement_id"].removeprefix("0x")),
                quote=decode_quote(str(data["quote"]).encode()),
                chain_id=int(data["chain_id"]),
                registry=to_checksum_address(data["registry"]),
                pool_id=int(data["pool_id"]),
                simulated=bool(data.get("simulated", False)),
                event_log=_optional(data, "event_log", list),
                app_compose=_optional(data, "app_compose", str),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise UserError(f"{worker_url}: malformed /attestation ({error})") from None

    def check_target(self, chain_id: int, registry: str, pool_id: int) -> None:
        """The worker's quote binds a chain, a registry and a pool: they must be these."""
        if (self.chain_id, self.registry, self.pool_id) != (chain_id, to_checksum_address(registry), pool_id):
            raise UserError(
                f"the worker is bound to chain {self.chain_id}, registry {self.registry}, pool "
                f"{self.pool_id}; restart it with chain {chain_id}, registry {registry}, pool {pool_id}"
            )


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"{key} must be a {kind.__name__} or null")
    return value


def committee_evidence(
    attester_urls: list[str], quote: bytes, threshold: int, app: dict[str, Any] | None = None
) -> tuple[bytes, bytes]:
    """Collect `threshold` signatures over one statement: the first attester proposes, the others
    verify the quote (and replay the app's event log, `app`) themselves and co-sign. Returns
    (header+body bytes, evidence)."""
    if len(attester_urls) < threshold:
        raise UserError(f"the committee needs {threshold} attesters, {len(attester_urls)} given")
    request = {"quote": "0x" + quote.hex(), **(app or {})}
    first = http_json(attester_urls[0].rstrip("/") + "/attest", request)
    statement = Statement.from_json(first["statement"])
    signatures = [(first["attester"], bytes.fromhex(first["signature"].removeprefix("0x")))]
    for url in attester_urls[1:]:
        if len(signatures) == threshold:
            break
        answer = http_json(url.rstrip("/") + "/attest", {**request, "statement": first["statement"]})
        signatures.append((answer["attester"], bytes.fromhex(answer["signature"].removeprefix("0x"))))
    if len(signatures) < threshold:
        raise UserError(f"only {len(signatures)} of {threshold} attesters signed")
    signed_part = bytes.fromhex(first["quote"].removeprefix("0x"))
    return signed_part, encode_evidence(statement, signatures)


def choose_verifier(manifest: Any, name: str) -> str:
    """`dev`, `committee`, `automata` (from the manifest) or an explicit address."""
    known = {
        "dev": "DevQuoteVerifier",
        "committee": "CommitteeQuoteVerifier",
        "automata": "AutomataQuoteVerifier",
    }
    if name in known:
        if known[name] not in manifest.contracts:
            raise UserError(f"this deployment has no {known[name]}")
        return manifest.address(known[name])
    try:
        return to_checksum_address(name)
    except ValueError:
        raise UserError(f"--verifier must be dev, committee, automata or an address, not {name!r}") from None


def quote_and_evidence(
    attestation: WorkerAttestation, verifier_kind: str, attester_urls: list[str], threshold: int
) -> tuple[bytes, bytes]:
    if verifier_kind == "committee":
        return committee_evidence(attester_urls, attestation.quote, threshold, attestation.app_evidence)
    return attestation.quote, onchain_evidence(attestation)


def gpu_evidence(
    evidence_file: str,
    attestation: WorkerAttestation,
    verifier_kind: str,
    verifier: str,
    attester_urls: list[str],
    threshold: int,
    now: int,
) -> bytes:
    """`verifyGpu` evidence for the worker's GPU report: checked first to carry this worker's
    binding (its nonce), then vouched for by the committee (each attester verifies it with pha.gpu)
    or, with the dev verifier, verified here and signed with the public development key."""
    from pathlib import Path

    from pha.gpu.attest import GpuTrust, verify_gpu
    from pha.gpu.binding import gpu_nonce
    from pha.gpu.errors import GpuEvidenceError
    from pha.gpu.evidence import GpuEvidence
    from pha.gpu.spdm import parse_report
    from pha.gpu.statement import GpuStatement, committee_evidence, dev_evidence

    a = attestation
    try:
        evidence = GpuEvidence.load(Path(evidence_file))
        expected = gpu_nonce(a.chain_id, a.registry, a.worker, a.encryption_key, a.pool_id)
        actual = parse_report(evidence.report).requester_nonce
        if actual != expected:
            raise UserError(
                f"--gpu-evidence: the report nonce 0x{actual.hex()} is not this worker's"
                f" binding 0x{expected.hex()}"
                " (pha-quote gpu nonce computes it)"
            )
        if verifier_kind == "dev":
            _, statement = verify_gpu(evidence, GpuTrust(), a.chain_id, now)
            return dev_evidence(statement, a.chain_id, verifier)
    except GpuEvidenceError as error:
        raise UserError(f"--gpu-evidence: {error}") from None
    if verifier_kind != "committee":
        raise UserError("GPU evidence is vouched for by the committee (or the dev verifier on a local chain)")
    if len(attester_urls) < threshold:
        raise UserError(f"the committee needs {threshold} attesters, {len(attester_urls)} given")
    request: dict[str, Any] = {"evidence": evidence.as_json()}
    first = http_json(attester_urls[0].rstrip("/") + "/attest-gpu", request)
    signatures = [(first["attester"], bytes.fromhex(first["signature"].removeprefix("0x")))]
    for url in attester_urls[1:threshold]:
        answer = http_json(url.rstrip("/") + "/attest-gpu", {**request, "statement": first["statement"]})
        signatures.append((answer["attester"], bytes.fromhex(answer["signature"].removeprefix("0x"))))
    return committee_evidence(GpuStatement.from_json(first["statement"]), signatures)


def onchain_evidence(attestation: WorkerAttestation) -> bytes:
    """Evidence for the dev and Automata (on-chain) verifiers: the app-log form for a dstack app,
    so that the verifier replays its RTMR3 and reports its compose measurement; else empty."""
    if attestation.event_log is None:
        return b""
    try:
        return attestation_evidence(attestation.event_log, attestation.app_compose)
    except EventLogError as error:
        raise UserError(f"the worker's event log: {error}") from None


@dataclass(frozen=True)
class WorkerStatus:
    """`worker-status`: one worker as the registry sees it at chain time `now`."""

    worker: str
    now: int
    registered: bool
    eligible: bool = False
    reason: str = "not registered"
    pool_id: int = 0
    measurement_id: bytes = bytes(32)
    checked_measurement_id: bytes = bytes(32)
    tcb_status: int = 0
    attested_until: int = 0
    verified_at: int = 0

    def lines(self) -> list[str]:
        """The human form: ISO times with how far they are, each line within 80 columns."""
        if not self.registered:
            return [f"worker {self.worker}: not registered"]
        lines = [
            f"worker:       {self.worker}",
            f"pool:         {self.pool_id}",
            f"measurement:  0x{self.measurement_id.hex()}",
            f"TCB status:   {TcbStatus(self.tcb_status).name}",
            f"verified:     {format_time(self.verified_at, self.now)}",
            f"attested to:  {format_time(self.attested_until, self.now, past='expired {} ago')}",
            f"eligible:     {'yes' if self.eligible else 'no'} ({self.reason})",
        ]
        if self.checked_measurement_id != self.measurement_id:
            lines.insert(3, f"checked for:  0x{self.checked_measurement_id.hex()}")
        return lines

    def as_json(self) -> dict[str, Any]:
        """The `--json` document (docs/registry.md "Scripts")."""
        registered = self.registered
        return {
            "worker": self.worker,
            "now": time_json(self.now),
            "registered": registered,
            "eligible": self.eligible,
            "reason": self.reason,
            "pool_id": self.pool_id if registered else None,
            "measurement_id": "0x" + self.measurement_id.hex() if registered else None,
            "checked_measurement_id": "0x" + self.checked_measurement_id.hex() if registered else None,
            "tcb_status": TcbStatus(self.tcb_status).name if registered else None,
            "verified_at": time_json(self.verified_at) if registered else None,
            "attested_until": time_json(self.attested_until) if registered else None,
        }


def worker_status(registry: Any, worker: str, now: int, measurement_id: bytes | None = None) -> WorkerStatus:
    """Eligibility (with the registry's reason) for `measurement_id` (default: the worker's own)."""
    info = registry.workerInfo(worker)
    if not info.registered:
        return WorkerStatus(worker, now, registered=False)
    own = bytes(info.measurementId)
    checked = measurement_id or own
    eligible, reason = registry.explain(worker, checked)
    return WorkerStatus(
        worker=worker,
        now=now,
        registered=True,
        eligible=bool(eligible),
        reason=str(reason),
        pool_id=int(info.poolId),
        measurement_id=own,
        checked_measurement_id=checked,
        tcb_status=int(info.tcbStatus),
        attested_until=int(info.attestedUntil),
        verified_at=int(info.verifiedAt),
    )


@dataclass(frozen=True)
class Renewal:
    """Everything `registry.renewWorker` takes, prepared from the worker's current attestation."""

    worker: str
    attestation: WorkerAttestation
    verifier: str
    quote: bytes
    evidence: bytes

    @property
    def rotated(self) -> bool:
        """The worker restarted with new keys: the renewal moves the record to the new address."""
        return self.attestation.worker != to_checksum_address(self.worker)

    @property
    def args(self) -> tuple:
        a = self.attestation
        return (self.worker, a.worker, a.encryption_key, self.verifier, self.quote, self.evidence)


def prepare_renewal(
    worker: str,
    worker_url: str,
    chain_id: int,
    registry: str,
    pool_id: int,
    verifier: str,
    verifier_kind: str = "dev",
    attester_urls: list[str] | None = None,
    threshold: int = 1,
) -> Renewal:
    """Fetch the worker's attestation, check it binds this chain/registry/pool, collect the
    verifier's evidence: the arguments of `renewWorker` (operator script and the watch)."""
    attestation = WorkerAttestation.fetch(worker_url)
    attestation.check_target(chain_id, registry, pool_id)
    quote, evidence = quote_and_evidence(attestation, verifier_kind, list(attester_urls or []), threshold)
    return Renewal(to_checksum_address(worker), attestation, verifier, quote, evidence)
