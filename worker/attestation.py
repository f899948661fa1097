"""The worker's quote: from dstack inside a CVM, or from the clearly labelled simulator elsewhere.

Either way the quote's report_data is `pha.quote.report_data(chain_id, registry, signer,
encryption_key, pool_id)` (PROTOCOL-SPEC.md "Worker binding"), so the quote is bound to this
worker's keys and cannot be replayed for another key, chain, registry or pool.

Inside dstack the worker replays dstack's event log against its own quote before it serves
anything (`pha.quote.eventlog.verify_event_log`): a log that does not prove the quote's RTMR3 (and
so the app's compose hash) stops the worker at start. The measurement id is then the app's
(TDXCompose: MRTD, RTMR0..2, compose hash).

The simulator builds a TDX v4 quote with pha.quote's simulated-quote helpers and signs it with the
public development key: only the development verifier on a local chain accepts it. It proves
nothing about the machine it runs on. With `app_compose` set it emulates a dstack app: a 0.5.x-shaped
runtime log (with a random per-process instance id) whose replay is the quote's RTMR3, and
mr_config_id = 0x01 || compose hash || zeros.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pha.quote import parse_quote, report_data, simulated_tdx_quote, tdx_measurement_id
from pha.quote.eventlog import (
    AppIdentity,
    Event,
    EventLogError,
    compose_hash_of,
    mr_config_id_v1,
    parse_event_log,
    replay,
    simulated_app_log,
    verify_event_log,
)
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
    event_log: tuple[Event, ...] | None = None
    """dstack's RTMR event log (None: no log, a plain simulated quote)."""
    app_compose: str | None = None
    app: AppIdentity | None = None
    """What the replayed log proves (checked before the worker starts)."""

    @property
    def compose_hash(self) -> bytes | None:
        return None if self.app is None else self.app.compose_hash


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


def read_app_compose(path: str) -> str:
    try:
        return Path(path).read_bytes().decode()
    except OSError as error:
        raise AttestationError(f"cannot read the app compose {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise AttestationError(f"the app compose {path} is not UTF-8 text") from None


def simulated_attestation(settings: WorkerSettings, keys: WorkerKeys) -> Attestation:
    rd = binding_for(settings, keys)
    m = simulated_measurements(settings)
    if settings.app_compose is None:
        quote = simulated_tdx_quote(
            mr_td=m.mrtd, rt_mr0=m.rtmr0, rt_mr1=m.rtmr1, rt_mr2=m.rtmr2, report_data=rd
        )
        return Attestation(
            quote=quote, report_data=rd, measurement_id=m.measurement_id, simulated=True, source="simulator"
        )
    app_compose = read_app_compose(settings.app_compose)
    compose = compose_hash_of(app_compose)
    events = simulated_app_log(compose, instance_id=os.urandom(20))
    quote = simulated_tdx_quote(
        mr_td=m.mrtd,
        rt_mr0=m.rtmr0,
        rt_mr1=m.rtmr1,
        rt_mr2=m.rtmr2,
        rt_mr3=replay(events, 3),
        report_data=rd,
        mr_config_id=mr_config_id_v1(compose),
    )
    app = verify_event_log(events, parse_quote(quote), app_compose)
    return Attestation(
        quote=quote,
        report_data=rd,
        measurement_id=app.measurement_id,
        simulated=True,
        source="simulator (dstack app emulation)",
        event_log=events,
        app_compose=app_compose,
        app=app,
    )


def _own_app_compose(client: Any) -> str | None:
    """The app compose dstack's Info reports (None if this guest agent does not say)."""
    try:
        return str(client.info().tcb_info.app_compose)
    except Exception as error:  # an older agent's Info has another shape: the log still proves the hash
        log.warning("dstack Info gave no app compose (%s): serving the event log without it", error)
        return None


def dstack_attestation(settings: WorkerSettings, keys: WorkerKeys, endpoint: str) -> Attestation:
    """Ask dstack's guest agent for a TDX quote over our report_data; check that it binds it and
    that dstack's event log replays to it (else the worker refuses to start)."""
    from dstack_sdk import DstackClient

    rd = binding_for(settings, keys)
    try:
        client = DstackClient(endpoint, timeout=30)
        response = client.get_quote(rd)
        quote = strip_padding(response.decode_quote())
        parsed = parse_quote(quote)
    except Exception as error:
        raise AttestationError(f"dstack GetQuote at {endpoint} failed: {error}") from None
    if parsed.report_data != rd:
        raise AttestationError(
            f"dstack quote does not carry this worker's report_data "
            f"(got 0x{parsed.report_data.hex()}, expected 0x{rd.hex()})"
        )
    app_compose = _own_app_compose(client)
    try:
        events = parse_event_log(response.event_log)
        app = verify_event_log(events, parsed, app_compose)
    except EventLogError as error:
        raise AttestationError(f"dstack's event log does not prove this worker's quote: {error}") from None
    log.info("event log replayed: dstack %s app, compose hash 0x%s", app.generation, app.compose_hash.hex())
    return Attestation(
        quote=quote,
        report_data=rd,
        measurement_id=app.measurement_id,
        simulated=parsed.simulated,
        source=endpoint,
        event_log=events,
        app_compose=app_compose,
        app=app,
    )


def obtain_attestation(settings: WorkerSettings, keys: WorkerKeys) -> Attestation:
    endpoint = dstack_endpoint(settings)
    if endpoint is not None and settings.app_compose is not None:
        raise AttestationError(
            "app_compose is for the simulator; inside dstack the app compose is dstack's own (add --simulate)"
        )
    if endpoint is not None:
        log.info("getting a TDX quote from dstack at %s", endpoint)
        return dstack_attestation(settings, keys, endpoint)
    if not settings.simulate:
        log.warning("no dstack endpoint or socket found: falling back to the quote SIMULATOR")
    return simulated_attestation(settings, keys)
