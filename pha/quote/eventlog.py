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
from pha.quote.layout import ParsedQuote, TeeType

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
        if event.is_runtime and event.digest != runtime_digest(
            event.name, event.payload, event.event_type, event.version
        ):
            raise EventLogError(
                f"event {index} ({event.name or 'unnamed'}): digest does not match its payload"
            )


# --- dstack app identity ------------------------------------------------------------------------

COMPOSE_HASH_LENGTH = 32
APP_ID_LENGTH = 20
INSTANCE_ID_LENGTH = 20
MR_CONFIG_ID_LENGTH = 48
GENERATION_03 = "0.3"
GENERATION_05 = "0.5"
# The runtime events each generation's boot writes first, in this order (dstack-util / tdxctl).
BOOT_EVENTS = {
    GENERATION_03: ("rootfs-hash", "app-id", "compose-hash", "ca-cert-hash", "instance-id"),
    GENERATION_05: ("system-preparing", "app-id", "compose-hash", "instance-id", "boot-mr-done"),
}
# 0.5.x: what the system logs after boot-mr-done and before system-ready (each at most once).
SYSTEM_EVENTS_05 = frozenset({"mr-kms", "os-image-hash", "key-provider", "storage-fs"})
SYSTEM_READY = "system-ready"
# Names only dstack's boot may log: an app (dstack's guest agent lets it emit any event after
# boot) that logs one of them again is refused, so the identity read from the log is the boot's.
RESERVED_EVENTS = frozenset(
    {name for names in BOOT_EVENTS.values() for name in names} | SYSTEM_EVENTS_05 | {SYSTEM_READY}
)
# mr_config_id's key-provider byte (dstack-types MrConfig::V2) by the key-provider event's name.
KEY_PROVIDER_KINDS = {"none": 0, "local-sgx": 1, "kms": 2, "tpm": 3}


@dataclass(frozen=True)
class KeyProvider:
    """dstack's key-provider event: {"name": "kms" | "local-sgx" | ..., "id": hex}."""

    name: str
    id: bytes

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "id": "0x" + self.id.hex()}


@dataclass(frozen=True)
class AppIdentity:
    """What a dstack event log, replayed to its quote, proves about the app the CVM runs."""

    compose_hash: bytes
    """sha256 of the app's app-compose.json: the app's identity (exactly 32 bytes, non-zero)."""
    app_id: bytes
    instance_id: bytes | None
    """None when the app runs without one (dstack 0.5 `no_instance_id`)."""
    os_image_hash: bytes | None
    key_provider: KeyProvider | None
    generation: str
    """"0.3" or "0.5": which dstack boot sequence the log follows."""
    registers: tuple[bytes, ...]
    """The replayed RTMR0..3 (equal to the quote's)."""
    mr_config_id: str
    """How the quote's mr_config_id agrees: "zero" (the log is the only proof), "v1", "v2", "v0.5.1"."""
    measurement_id: bytes
    """The app measurement id: TDXCompose(MRTD, RTMR0..2, compose hash); app id not included."""
    app_compose_checked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "compose_hash": "0x" + self.compose_hash.hex(),
            "app_id": "0x" + self.app_id.hex(),
            "instance_id": None if self.instance_id is None else "0x" + self.instance_id.hex(),
            "os_image_hash": None if self.os_image_hash is None else "0x" + self.os_image_hash.hex(),
            "key_provider": None if self.key_provider is None else self.key_provider.as_json(),
            "rtmr": ["0x" + r.hex() for r in self.registers],
            "mr_config_id": self.mr_config_id,
            "app_compose_checked": self.app_compose_checked,
            "measurement_id": "0x" + self.measurement_id.hex(),
        }


def replay_all(events: Sequence[Event]) -> tuple[bytes, ...]:
    """RTMR0..3 as the log replays them."""
    return tuple(replay(events, imr) for imr in range(REGISTER_COUNT))


def compose_hash_of(app_compose: str | bytes) -> bytes:
    """sha256 of the app compose exactly as given (dstack hashes the file's bytes, no normalising)."""
    return hashlib.sha256(
        app_compose.encode() if isinstance(app_compose, str) else bytes(app_compose)
    ).digest()


def _exact(name: str, payload: bytes, size: int) -> bytes:
    if len(payload) != size:
        hint = " (dstack once shipped 31-byte compose hashes: refuse, do not pad)" if size == 32 else ""
        raise EventLogError(f"{name} payload is {len(payload)} bytes; it must be exactly {size}{hint}")
    return payload


def _segments(runtime: Sequence[Event]) -> tuple[str, dict[str, Event]]:
    """The generation and the boot's own events by name; refuses a log not shaped like dstack's."""
    names = tuple(e.name for e in runtime)
    generation = next((g for g, boot in BOOT_EVENTS.items() if names[: len(boot)] == boot), None)
    if generation is None:
        raise EventLogError(
            "RTMR3 does not start like a dstack boot (0.5.x: system-preparing, app-id, compose-hash, "
            "instance-id, boot-mr-done; 0.3.x: rootfs-hash, app-id, compose-hash, ca-cert-hash, "
            f"instance-id); it starts with: {', '.join(names[:5]) or 'nothing'}"
        )
    boot = BOOT_EVENTS[generation]
    own = {e.name: e for e in runtime[: len(boot)]}
    rest = list(runtime[len(boot) :])
    if generation == GENERATION_05:
        try:
            ready = next(i for i, e in enumerate(rest) if e.name == SYSTEM_READY)
        except StopIteration:
            raise EventLogError(
                "RTMR3 has no system-ready event: the quote was taken before dstack finished booting"
            ) from None
        for event in rest[:ready]:
            if event.name not in SYSTEM_EVENTS_05 or event.name in own:
                raise EventLogError(f"unexpected {event.name!r} event between boot-mr-done and system-ready")
            own[event.name] = event
        rest = rest[ready + 1 :]
    for event in rest:
        if event.name in RESERVED_EVENTS:
            raise EventLogError(
                f"RTMR3 logs {event.name!r} again after the boot: only dstack's boot may log it, once"
            )
    return generation, own


def _key_provider(event: Event | None) -> KeyProvider | None:
    if event is None:
        return None
    try:
        data = json.loads(event.payload)
        name, ident = data["name"], data.get("id", "")
        if not isinstance(name, str) or not isinstance(ident, str):
            raise TypeError
        return KeyProvider(name, bytes.fromhex(ident.removeprefix("0x")))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise EventLogError('key-provider payload is not dstack\'s {"name", "id"} JSON') from None


def check_mr_config_id(
    mr_config_id: bytes, compose_hash: bytes, app_id: bytes, key_provider: KeyProvider | None
) -> str:
    """Check the quote's mr_config_id against the log's identity; say which rule matched.

    All zero: nothing to check (the host set none; the replayed log is the only proof).
    Version byte 1 (dstack >= 0.5.2): 0x01 || compose_hash || 15 zero bytes.
    Version byte 2 (dstack >= 0.5.2, apps pinning a key provider): 0x02 ||
    keccak256(compose_hash || app_id || key-provider kind byte || key-provider id) || 15 zeros.
    dstack 0.5.1 alone wrote compose_hash || 16 zero bytes with no version byte; it is accepted.
    Anything else (including version 3, a hash of a separate mr_config document) is refused.
    """
    from eth_utils import keccak

    if len(mr_config_id) != MR_CONFIG_ID_LENGTH:
        raise EventLogError(f"mr_config_id must be {MR_CONFIG_ID_LENGTH} bytes, got {len(mr_config_id)}")
    if mr_config_id == bytes(MR_CONFIG_ID_LENGTH):
        return "zero"
    if mr_config_id == compose_hash + bytes(16):
        return "v0.5.1"
    version, body = mr_config_id[0], mr_config_id[1:]
    if version == 1:
        expected, rule = compose_hash + bytes(15), "v1"
    elif version == 2:
        if key_provider is None or key_provider.name not in KEY_PROVIDER_KINDS:
            raise EventLogError("mr_config_id is version 2 but the log has no known key-provider event")
        kind = KEY_PROVIDER_KINDS[key_provider.name].to_bytes(1, "big")
        expected, rule = keccak(compose_hash + app_id + kind + key_provider.id) + bytes(15), "v2"
    else:
        raise EventLogError(f"mr_config_id version {version} is not supported (known: 1, 2, or all zero)")
    if body != expected:
        raise EventLogError(
            f"mr_config_id 0x{mr_config_id.hex()} does not match the log's compose hash ({rule} rule)"
        )
    return rule


def verify_event_log(
    events: Sequence[Event], quote: ParsedQuote, app_compose: str | bytes | None = None
) -> AppIdentity:
    """Prove what app a dstack CVM runs from its event log and its (already verified) quote.

    Every runtime event's digest must follow from its name and payload; the log replayed register by
    register must give the quote's RTMR0..3 (a simulated quote's RTMR0..2, which are configured
    rather than booted, may have no events); runtime events only in RTMR3, RTMR3 nothing but
    runtime events, shaped like a dstack 0.3.x or 0.5.x boot with exactly one compose-hash; exact
    payload lengths; the quote's mr_config_id, when set, agreeing (`check_mr_config_id`); and, when
    `app_compose` is given, sha256 of it equal to the compose hash. Raises EventLogError saying
    what failed.
    """
    if quote.tee_type != TeeType.TDX:
        raise EventLogError("an event log applies to TDX quotes only")
    events = tuple(events)
    if len(events) > MAX_EVENTS:
        raise EventLogError(f"the event log has {len(events)} events, more than {MAX_EVENTS}")
    for index, event in enumerate(events):
        if event.is_runtime and event.imr != 3:
            raise EventLogError(
                f"event {index} ({event.name or 'unnamed'}): a runtime event in IMR {event.imr}, not 3"
            )
        if event.imr == 3 and not event.is_runtime:
            raise EventLogError(
                f"event {index}: RTMR3 holds only dstack runtime events, got type {event.event_type:#x}"
            )
    check_runtime_digests(events)
    registers = replay_all(events)
    for imr, value in enumerate(registers):
        if imr < 3 and quote.simulated and not any(e.imr == imr for e in events):
            continue
        expected = quote.field(f"rt_mr{imr}")
        if value != expected:
            raise EventLogError(f"RTMR{imr} replays to 0x{value.hex()} but the quote has 0x{expected.hex()}")
    runtime = [e for e in events if e.imr == 3]
    compose_events = sum(1 for e in runtime if e.name == "compose-hash")
    if compose_events != 1:
        raise EventLogError(f"RTMR3 has {compose_events} compose-hash events; exactly one is required")
    generation, own = _segments(runtime)
    compose_hash = _exact("compose-hash", own["compose-hash"].payload, COMPOSE_HASH_LENGTH)
    if compose_hash == bytes(COMPOSE_HASH_LENGTH):
        raise EventLogError("the compose hash is zero")
    app_id = _exact("app-id", own["app-id"].payload, APP_ID_LENGTH)
    raw_instance = own["instance-id"].payload
    if generation == GENERATION_05 and not raw_instance:
        instance_id = None
    else:
        instance_id = _exact("instance-id", raw_instance, INSTANCE_ID_LENGTH)
    os_image = own.get("os-image-hash")
    os_image_hash = None if os_image is None else _exact("os-image-hash", os_image.payload, 32)
    key_provider = _key_provider(own.get("key-provider"))
    rule = check_mr_config_id(quote.field("mr_config_id"), compose_hash, app_id, key_provider)
    if app_compose is not None and compose_hash_of(app_compose) != compose_hash:
        raise EventLogError(
            f"sha256 of the app compose is 0x{compose_hash_of(app_compose).hex()}, but the log's "
            f"compose hash is 0x{compose_hash.hex()}"
        )
    return AppIdentity(
        compose_hash=compose_hash,
        app_id=app_id,
        instance_id=instance_id,
        os_image_hash=os_image_hash,
        key_provider=key_provider,
        generation=generation,
        registers=registers,
        mr_config_id=rule,
        measurement_id=quote.measurement_id_with_compose(compose_hash),
        app_compose_checked=app_compose is not None,
    )


def simulated_app_log(
    compose_hash: bytes, instance_id: bytes, os_image_hash: bytes = bytes(32)
) -> tuple[Event, ...]:
    """A dstack 0.5.x-shaped RTMR3 log for a simulated worker emulating a dstack app (local chains
    only): app id = the compose hash's first 20 bytes, as dstack does for an app without KMS."""
    provider = json.dumps({"name": "none", "id": ""}, separators=(",", ":")).encode()
    contents = [
        ("system-preparing", b""),
        ("app-id", compose_hash[:APP_ID_LENGTH]),
        ("compose-hash", compose_hash),
        ("instance-id", instance_id),
        ("boot-mr-done", b""),
        ("os-image-hash", os_image_hash),
        ("key-provider", provider),
        (SYSTEM_READY, b""),
    ]
    return tuple(
        Event(3, RUNTIME_EVENT_TYPE, runtime_digest(name, payload), name, payload)
        for name, payload in contents
    )


def mr_config_id_v1(compose_hash: bytes) -> bytes:
    """dstack's version-1 mr_config_id: 0x01 || compose_hash || 15 zero bytes."""
    return b"\x01" + _exact("compose-hash", compose_hash, COMPOSE_HASH_LENGTH) + bytes(15)
