"""The real dstack sample (tests/data/dstack) as the on-chain app-log check sees it, and logs
built around it (events edited, dropped, reordered, added) with simulated quotes to match."""

from __future__ import annotations

import json
from pathlib import Path

from eth_abi import encode

from pha.quote.app_evidence import EVIDENCE_TAG
from pha.quote.dev import simulated_tdx_quote
from pha.quote.eventlog import (
    RUNTIME_EVENT_TYPE,
    Event,
    parse_event_log,
    replay,
    runtime_digest,
    runtime_preimage,
)
from pha.quote.io import decode_quote
from pha.quote.layout import parse_quote

DSTACK = Path(__file__).resolve().parents[1] / "data" / "dstack"
COMPOSE_HASH = bytes.fromhex("12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7")


def tcb_info() -> dict:
    return json.loads((DSTACK / "tcb_info.json").read_text())


def real_quote() -> bytes:
    return decode_quote((DSTACK / "quote.hex").read_bytes())


def real_events() -> tuple[Event, ...]:
    return parse_event_log(tcb_info()["event_log"])


def rtmr3(events: tuple[Event, ...]) -> list[Event]:
    return [e for e in events if e.imr == 3]


def runtime(name: str, payload: bytes) -> Event:
    return Event(3, RUNTIME_EVENT_TYPE, runtime_digest(name, payload), name, payload)


def raw_evidence(digests: list[bytes], preimages: list[bytes], inner: bytes = b"") -> bytes:
    """App-log evidence from its parts as given (no checks: for building refused ones)."""
    return EVIDENCE_TAG + encode(["bytes", "bytes", "bytes[]"], [inner, b"".join(digests), preimages])


def preimage(event: Event) -> bytes:
    return runtime_preimage(event.name, event.payload, event.event_type)


def registers() -> dict[str, bytes]:
    """The real quote's MRTD, RTMR0..2 and MRCONFIGID (an app on the sample's OS image)."""
    fields = parse_quote(real_quote())
    names = ("mr_td", "rt_mr0", "rt_mr1", "rt_mr2", "mr_config_id")
    return {name: fields.field(name) for name in names}


def simulated_app_quote(
    events: tuple[Event, ...] | list[Event], report_data: bytes, **overrides: bytes
) -> bytes:
    """A simulated quote with the sample's registers and RTMR3 = the replay of `events`."""
    fields = registers() | overrides
    return simulated_tdx_quote(rt_mr3=replay(events, 3), report_data=report_data, **fields)
