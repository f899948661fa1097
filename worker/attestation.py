"""The worker's quote: from dstack inside a CVM, or from the clearly labelled simulator elsewhere.

Either way the quote's report_data is `pha.quote.report_data(chain_id, registry, signer,
encryption_key, pool_id)` (PROTOCOL-SPEC.md "Worker binding"), so the quote is bound to this
worker's keys and cannot be replayed for another key, chain, registry or pool.

The simulator builds a TDX v4 quote with pha.quote's simulated-quote helpers and signs it with the
public development key: only the development verifier on a local chain accepts it. It proves
nothing about the machine it runs on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from pha.quote import parse_quote, report_data, simulated_tdx_quote, tdx_measurement_id
from pha.quote.layout import strip_padding
from worker.keys import WorkerKeys
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)

DSTACK_SOCKETS = (
    "/var/run/dstack.sock",
    "/run/dstack.sock",
    "/var/run/dstack/dstack.sock",
    "/run/dstack/dstack.sock",
)


class AttestationError(RuntimeError):
    """The quote could not be obtained or does not bind this worker's keys."""


@dataclass(frozen=True)
class Attestation:
    quote: bytes
    report_data: bytes
    measurement_id: bytes
    simulated: bool
    source: str  # "simulator" or the dstack endpoint
    compose_hash: bytes | None = None


@dataclass(frozen=True)
class Measurements:
    mrtd: bytes
    rtmr0: bytes
    rtmr1: bytes
    rtmr2: bytes

    @property
    def measurement_id(self) -> bytes:
        return tdx_measurement_id(self.mrtd, self.rtmr0, self.rtmr1, self.rtmr2)


def derived_register(code_identity: str, name: str) -> bytes:
    """48 bytes derived from the code identity: SHA-384("PHA simulated <name>\\0<identity>")."""
    return hashlib.sha384(f"PHA simulated {name}\0{code_identity}".encode()).digest()


def simulated_measurements(settings: WorkerSettings) -> Measurements:
    """Configured registers, each defaulting to one derived from `code_identity`."""

    def pick(name: str) -> bytes:
        configured = getattr(settings, name)
        if configured:
            return bytes.fromhex(configured[2:])
        return derived_register(settings.code_identity, name)

    return Measurements(pick("mrtd"), pick("rtmr0"), pick("rtmr1"), pick("rtmr2"))


def binding_for(settings: WorkerSettings, keys: WorkerKeys) -> bytes:
    return report_data(
        settings.chain_id, settings.registry, keys.address, keys.encryption_key, settings.pool_id
    )


def dstack_endpoint(settings: WorkerSettings) -> str | None:
    """Where dstack's guest agent is, or None outside a dstack CVM (or when simulating)."""
    if settings.simulate:
        return None
    if settings.dstack_endpoint:
        return settings.dstack_endpoint
    if os.environ.get("DSTACK_SIMULATOR_ENDPOINT"):
        return os.environ["DSTACK_SIMULATOR_ENDPOINT"]
    for path in DSTACK_SOCKETS:
        if os.path.exists(path):
            return path
    return None


def simulated_attestation(settings: WorkerSettings, keys: WorkerKeys) -> Attestation:
    rd = binding_for(settings, keys)
    m = simulated_measurements(settings)
    quote = simulated_tdx_quote(mr_td=m.mrtd, rt_mr0=m.rtmr0, rt_mr1=m.rtmr1, rt_mr2=m.rtmr2, report_data=rd)
    return Attestation(
        quote=quote, report_data=rd, measurement_id=m.measurement_id, simulated=True, source="simulator"
    )


def compose_hash_from_event_log(event_log: str) -> bytes | None:
    """The app compose hash dstack measures into RTMR3 (event "compose-hash"), if logged."""
    try:
        events: Any = json.loads(event_log) if event_log else []
    except json.JSONDecodeError:
        return None
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("event") == "compose-hash":
            try:
                value = bytes.fromhex(str(event.get("event_payload", "")))
            except ValueError:
                return None
            return value if len(value) == 32 else None
    return None


def dstack_attestation(settings: WorkerSettings, keys: WorkerKeys, endpoint: str) -> Attestation:
    """Ask dstack's guest agent for a TDX quote over our report_data; check that it binds it."""
    from dstack_sdk import DstackClient

    rd = binding_for(settings, keys)
    try:
        response = DstackClient(endpoint, timeout=30).get_quote(rd)
        quote = strip_padding(response.decode_quote())
        parsed = parse_quote(quote)
    except Exception as error:
        raise AttestationError(f"dstack GetQuote at {endpoint} failed: {error}") from None
    if parsed.report_data != rd:
        raise AttestationError(
            f"dstack quote does not carry this worker's report_data "
            f"(got 0x{parsed.report_data.hex()}, expected 0x{rd.hex()})"
        )
    compose = compose_hash_from_event_log(response.event_log)
    return Attestation(
        quote=quote,
        report_data=rd,
        measurement_id=parsed.measurement_id_with_compose(compose),
        simulated=parsed.simulated,
        source=endpoint,
        compose_hash=compose,
    )


def obtain_attestation(settings: WorkerSettings, keys: WorkerKeys) -> Attestation:
    endpoint = dstack_endpoint(settings)
    if endpoint is not None:
        log.info("getting a TDX quote from dstack at %s", endpoint)
        return dstack_attestation(settings, keys, endpoint)
    if not settings.simulate:
        log.warning("no dstack endpoint or socket found: falling back to the quote SIMULATOR")
    return simulated_attestation(settings, keys)
