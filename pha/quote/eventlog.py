"""dstack's RTMR event log: parse it and replay it to the registers a TDX quote carries.

A TDX quote carries MRTD and RTMR0..3. dstack (Phala Cloud's CVM OS) logs every extension of an
RTMR as an event {imr, event_type, digest, event, event_payload}; replaying a register's events in
order from 48 zero bytes, `rtmr = sha384(rtmr || digest)`, must give the quote's value. dstack's own
runtime events (event_type 0x08000001: app-id, compose-hash, instance-id, ...) are in RTMR3, and
for them the digest is not free: `digest = sha384(le32(event_type) || ":" || name || ":" || payload)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pha.quote.errors import QuoteError

DIGEST_LENGTH = 48
REGISTER_COUNT = 4
RUNTIME_EVENT_TYPE = 0x08000001
# Most events any log may have: dstack's run to about 30; the bound keeps parsing and replay bounded.
MAX_EVENTS = 1024


class EventLogError(QuoteError):
    """The event log is malformed or does not prove what it claims; the message says which event."""


@dataclass(frozen=True)
class Event:
    """One logged RTMR extension."""

    imr: int
    event_type: int
    digest: bytes
    name: str
    payload: bytes
    version: int = 1
    """dstack's digest format of a runtime event: 1 (binary preimage) or 2 (canonical JSON)."""

    @property
    def is_runtime(self) -> bool:
        return self.event_type == RUNTIME_EVENT_TYPE

    def as_json(self) -> dict[str, Any]:
        """The event in dstack's JSON shape (hex without 0x; `version` only when not 1)."""
        out: dict[str, Any] = {
            "imr": self.imr,
            "event_type": self.event_type,
            "digest": self.digest.hex(),
            "event": self.name,
            "event_payload": self.payload.hex(),
        }
        if self.version != 1:
            out["version"] = self.version
        return out


def runtime_preimage(
    name: str, payload: bytes, event_type: int = RUNTIME_EVENT_TYPE, version: int = 1
) -> bytes:
    """The bytes dstack hashes into a runtime event's digest.

    Version 1 (every released dstack): le32(type) || ":" || name || ":" || payload.
    Version 2 (dstack's canonical-JSON log): the RFC 8785 form of {"name", "payload" (lowercase
    hex), "type"}; for this three-key object that is sorted keys, no spaces, UTF-8, JSON's short
    escapes, which is what json.dumps below writes.
    """
    if version == 1:
        return event_type.to_bytes(4, "little") + b":" + name.encode() + b":" + payload
    if version == 2:
        document = {"name": name, "payload": payload.hex(), "type": event_type}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    raise EventLogError(f"unknown runtime event version {version} (dstack has 1 and 2)")


def runtime_digest(
    name: str, payload: bytes, event_type: int = RUNTIME_EVENT_TYPE, version: int = 1
) -> bytes:
    """The digest dstack extends for a runtime event (version 1: sha384(le32(type) || ":" || name ||
    ":" || payload); version 2: sha384 of the canonical JSON, see `runtime_preimage`)."""
    try:
        return hashlib.sha384(runtime_preimage(name, payload, event_type, version)).digest()
    except UnicodeEncodeError:
        raise EventLogError(f"runtime event name {name!r} is not valid UTF-8 text") from None


def extend(register: bytes, digest: bytes) -> bytes:
    """One RTMR extension: sha384(register || digest)."""
    return hashlib.sha384(register + digest).digest()


def replay(events: Iterable[Event], imr: int) -> bytes:
    """The value register `imr` has after the events logged for it, in order, from 48 zero bytes."""
    register = bytes(DIGEST_LENGTH)
    for event in events:
        if event.imr == imr:
            register = extend(register, event.digest)
    return register


def _hex(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise EventLogError(f"{where} is not a hex string")
    text = value.strip().removeprefix("0x").removeprefix("0X")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise EventLogError(f"{where} is not valid hex") from None


def _event(index: int, raw: Any) -> Event:
    where = f"event {index}"
    if not isinstance(raw, dict):
        raise EventLogError(f"{where} is not an object")
    imr, event_type = raw.get("imr"), raw.get("event_type")
    if not isinstance(imr, int) or isinstance(imr, bool) or not 0 <= imr < REGISTER_COUNT:
        raise EventLogError(f"{where}: imr must be 0..3, got {imr!r}")
    if not isinstance(event_type, int) or isinstance(event_type, bool) or not 0 <= event_type <= 0xFFFFFFFF:
        raise EventLogError(f"{where}: event_type must be a 32-bit unsigned integer, got {event_type!r}")
    version = raw.get("version", 1)
    if version not in (1, 2) or isinstance(version, bool):
        raise EventLogError(f"{where}: version must be 1 or 2, got {version!r}")
    name = raw.get("event", "")
    if not isinstance(name, str):
        raise EventLogError(f"{where}: event name is not a string")
    payload = _hex(raw.get("event_payload", ""), f"{where} event_payload")
    digest = _hex(raw.get("digest", ""), f"{where} digest")
    if not digest and event_type == RUNTIME_EVENT_TYPE:
        # dstack strips the digest of runtime events when it ships a log: it follows from the rest.
        digest = runtime_digest(name, payload, event_type, version)
    if len(digest) != DIGEST_LENGTH:
        raise EventLogError(f"{where}: digest must be exactly {DIGEST_LENGTH} bytes, got {len(digest)}")
    return Event(imr=imr, event_type=event_type, digest=digest, name=name, payload=payload, version=version)


def parse_event_log(source: str | bytes | Sequence[Any]) -> tuple[Event, ...]:
    """Events from dstack's `event_log`: its JSON text (as GetQuote / tcb_info return it) or the list."""
    data: Any = source
    if isinstance(source, bytes | str):
        try:
            data = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EventLogError(f"the event log is not JSON: {error}") from None
    if isinstance(data, dict) and "event_log" in data:
        data = data["event_log"]
        if isinstance(data, str):
            return parse_event_log(data)
    if not isinstance(data, list):
        raise EventLogError("the event log must be a JSON list of events (or an object with `event_log`)")
    if len(data) > MAX_EVENTS:
        raise EventLogError(f"the event log has {len(data)} events, more than {MAX_EVENTS}")
    return tuple(_event(i, raw) for i, raw in enumerate(data))


def check_runtime_digests(events: Iterable[Event]) -> None:
    """Refuse a runtime event whose digest is not the hash of its own type, name and payload."""
    for index, event in enumerate(events):
        if event.is_runtime and event.digest != runtime_digest(event.name, event.payload, event.event_type):
            raise EventLogError(
                f"event {index} ({event.name or 'unnamed'}): digest does not match its payload"
            )
