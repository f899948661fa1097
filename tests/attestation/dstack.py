"""The real dstack sample (tests/data/dstack), quotes re-signed around edited logs, and the
on-chain app-log evidence built from its parts (for the refused forms)."""

from __future__ import annotations

import json
from functools import cache
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
from pha.quote.layout import ParsedQuote, parse_quote

DSTACK = Path(__file__).resolve().parents[1] / "data" / "dstack"
COMPOSE_HASH = bytes.fromhex("12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7")


@cache
def raw_quote() -> bytes:
    return decode_quote((DSTACK / "quote.hex").read_bytes())


def quote() -> ParsedQuote:
    return parse_quote(raw_quote())


def tcb_info() -> dict:
    """A fresh parse each call: tests may edit what they get."""
    return json.loads((DSTACK / "tcb_info.json").read_text())


def events() -> tuple[Event, ...]:
    return parse_event_log(tcb_info()["event_log"])


def app_compose() -> str:
    return tcb_info()["app_compose"]


def collateral() -> str:
    return (DSTACK / "collateral.json").read_text()


def runtime(name: str, payload: bytes, version: int = 1) -> Event:
    """A runtime event with its correct digest."""
    return Event(
        3, RUNTIME_EVENT_TYPE, runtime_digest(name, payload, version=version), name, payload, version
    )


def with_payload(log: tuple[Event, ...], name: str, payload: bytes) -> tuple[Event, ...]:
    """The log with event `name`'s payload (and so its digest) changed consistently."""
    return tuple(runtime(name, payload) if e.imr == 3 and e.name == name else e for e in log)


def requote(log: tuple[Event, ...], mr_config_id: bytes | None = None) -> ParsedQuote:
    """A simulated quote whose RTMR0..3 are the replay of `log` (the sample's MRTD), so that only
    the rules beyond the replay can refuse the log; mr_config_id defaults to the sample's."""
    real = quote()
    return parse_quote(
        simulated_tdx_quote(
            mr_td=real.field("mr_td"),
            rt_mr0=replay(log, 0),
            rt_mr1=replay(log, 1),
            rt_mr2=replay(log, 2),
            rt_mr3=replay(log, 3),
            report_data=real.report_data,
            mr_config_id=real.field("mr_config_id") if mr_config_id is None else mr_config_id,
        )
    )


def rtmr3(log: tuple[Event, ...]) -> list[Event]:
    return [e for e in log if e.imr == 3]


def preimage(event: Event) -> bytes:
    return runtime_preimage(event.name, event.payload, event.event_type)


def raw_evidence(digests: list[bytes], preimages: list[bytes], inner: bytes = b"") -> bytes:
    """App-log evidence from its parts as given (no checks: for building refused ones)."""
    return EVIDENCE_TAG + encode(["bytes", "bytes", "bytes[]"], [inner, b"".join(digests), preimages])


def registers() -> dict[str, bytes]:
    """The real quote's MRTD, RTMR0..2 and MRCONFIGID (an app on the sample's OS image)."""
    names = ("mr_td", "rt_mr0", "rt_mr1", "rt_mr2", "mr_config_id")
    return {name: quote().field(name) for name in names}


def simulated_app_quote(
    log: tuple[Event, ...] | list[Event], report_data: bytes, **overrides: bytes
) -> bytes:
    """A simulated quote with the sample's registers and RTMR3 = the replay of `log`."""
    return simulated_tdx_quote(rt_mr3=replay(log, 3), report_data=report_data, **(registers() | overrides))
