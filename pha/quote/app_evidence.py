"""Evidence for the on-chain dstack app check (contracts/libraries/DstackAppLog.sol).

The on-chain verifiers (AutomataQuoteVerifier, DevQuoteVerifier) take, in the app-log form of
their `evidence` bytes, what the contract needs to replay RTMR3 and find the app's compose hash:

    EVIDENCE_TAG || abi.encode(bytes inner, bytes digests, bytes[] preimages)

`inner` is the verifier's own evidence (empty for Automata's on-chain path and the dev verifier),
`digests` every IMR-3 digest in log order (48 bytes each), `preimages` the hashed bytes of the
IMR-3 events up to and including the first compose-hash event (which proves it is the first: an
app can log a look-alike compose-hash event of its own after boot, never before dstack's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from eth_abi import encode
from eth_utils import keccak

from pha.quote.eventlog import Event, EventLogError, parse_event_log, runtime_preimage

EVIDENCE_TAG = keccak(b"PHA.DstackAppLog.v1")[:4]
MAX_EVENTS = 64  # DstackAppLog.MAX_EVENTS
COMPOSE_EVENT = "compose-hash"
RTMR3 = 3


def app_log_evidence(events: Sequence[Event], inner: bytes = b"") -> bytes:
    """The app-log evidence for a parsed dstack log (`inner`: the verifier's own evidence)."""
    rtmr3 = [e for e in events if e.imr == RTMR3]
    if not rtmr3:
        raise EventLogError("the event log has no IMR 3 events")
    if len(rtmr3) > MAX_EVENTS:
        raise EventLogError(
            f"the event log has {len(rtmr3)} IMR 3 events, more than {MAX_EVENTS} (on-chain bound)"
        )
    preimages: list[bytes] = []
    for index, event in enumerate(rtmr3):
        if not event.is_runtime or event.version != 1:
            raise EventLogError(
                f"IMR 3 event {index} ({event.name or 'unnamed'}) comes before the compose hash and is not a "
                "dstack runtime event with a version-1 digest: the on-chain check cannot open it"
            )
        preimage = runtime_preimage(event.name, event.payload, event.event_type)
        if hashlib.sha384(preimage).digest() != event.digest:
            raise EventLogError(f"IMR 3 event {index} ({event.name}): digest does not match its payload")
        preimages.append(preimage)
        if event.name == COMPOSE_EVENT:
            break
    else:
        raise EventLogError("the event log has no compose-hash event in IMR 3")
    digests = b"".join(e.digest for e in rtmr3)
    return EVIDENCE_TAG + encode(["bytes", "bytes", "bytes[]"], [inner, digests, preimages])


def attestation_evidence(event_log: Any, app_compose: str | None = None, inner: bytes = b"") -> bytes:
    """The app-log evidence from a worker's `/attestation` `event_log` (dstack's JSON shape, list or
    text) and `app_compose`: when given, its sha256 must be the log's compose hash."""
    events = parse_event_log(event_log)
    evidence = app_log_evidence(events, inner)
    if app_compose is not None:
        compose = next(e.payload for e in events if e.imr == RTMR3 and e.name == COMPOSE_EVENT)
        if hashlib.sha256(app_compose.encode()).digest() != compose:
            raise EventLogError("sha256 of app_compose is not the compose hash the event log proves")
    return evidence
