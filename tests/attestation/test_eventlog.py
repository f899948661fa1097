"""dstack event logs: a real Phala Cloud CVM's log proves its app; every tampering is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from pha.quote.dev import simulated_sgx_quote
from pha.quote.eventlog import (
    EventLogError,
    check_mr_config_id,
    compose_hash_of,
    mr_config_id_v1,
    parse_event_log,
    replay_all,
    runtime_preimage,
    verify_event_log,
)
from pha.quote.layout import parse_quote
from pha.quote.measurement import tdx_measurement_id

from .dstack import (
    COMPOSE_HASH,
    app_compose,
    events,
    quote,
    requote,
    runtime,
    tcb_info,
    with_payload,
)


def index_of(log, name):
    return next(i for i, e in enumerate(log) if e.imr == 3 and e.name == name)


# --- the real sample ---------------------------------------------------------------------------


def test_real_log__replays_to_the_quote_and_proves_the_app():
    q = quote()
    identity = verify_event_log(events(), q, app_compose())
    assert identity.registers == tuple(q.field(f"rt_mr{i}") for i in range(4))
    assert identity.registers[3].hex() == tcb_info()["rtmr3"]
    assert identity.compose_hash == COMPOSE_HASH == hashlib.sha256(app_compose().encode()).digest()
    assert identity.compose_hash.hex() == tcb_info()["compose_hash"]
    # A KMS app: its app id is the one the KMS assigned, not the compose hash's first 20 bytes.
    assert identity.app_id.hex() == "d35e277ab5ec51f71f5e395ab2e332ed8db5853a" != COMPOSE_HASH[:20].hex()
    assert identity.instance_id is not None and len(identity.instance_id) == 20
    assert identity.os_image_hash.hex() == tcb_info()["os_image_hash"]
    assert identity.key_provider is not None and identity.key_provider.name == "kms"
    assert identity.generation == "0.5" and identity.mr_config_id == "v1" and identity.app_compose_checked
    f = q.fields
    assert identity.measurement_id == tdx_measurement_id(
        f["mr_td"], f["rt_mr0"], f["rt_mr1"], f["rt_mr2"], COMPOSE_HASH
    )
    assert identity.measurement_id != q.measurement_id  # the plain id would admit any app on the image


def test_real_quote__mr_config_id_is_version_1_of_the_compose_hash():
    assert (
        quote().field("mr_config_id") == b"\x01" + COMPOSE_HASH + bytes(15) == mr_config_id_v1(COMPOSE_HASH)
    )


def test_event_json__round_trips_in_dstacks_shape():
    log = events()
    assert parse_event_log(json.dumps([e.as_json() for e in log])) == log
    assert parse_event_log({"event_log": json.dumps(tcb_info()["event_log"])}) == log


def test_stripped_runtime_digest__is_recomputed():
    shipped = [e.as_json() for e in events()]
    for item in shipped:
        if item["imr"] == 3:
            item["digest"] = ""
    assert parse_event_log(shipped) == events()


# --- tampering with the real log (the real quote stays) ----------------------------------------


def test_altered_payload__refused_as_digest_mismatch():
    log = list(events())
    i = index_of(log, "compose-hash")
    log[i] = replace(log[i], payload=bytes(31) + b"\x01")
    with pytest.raises(EventLogError, match=rf"event {i} \(compose-hash\): digest does not match"):
        verify_event_log(log, quote())


def test_altered_event_with_consistent_digest__refused_by_replay():
    log = with_payload(events(), "compose-hash", b"\x42" * 32)  # another app's compose hash
    with pytest.raises(EventLogError, match=r"RTMR3 replays to 0x.* but the quote has 0x287a9242"):
        verify_event_log(log, quote())


def test_altered_boot_digest__refused_naming_the_register():
    log = list(events())
    log[0] = replace(log[0], digest=bytes(48))
    with pytest.raises(EventLogError, match=r"^RTMR0 replays"):
        verify_event_log(log, quote())


@pytest.mark.parametrize("imr", [0, 1, 2, 3])
def test_dropped_event__refused(imr):
    log = list(events())
    del log[next(i for i, e in enumerate(log) if e.imr == imr)]
    with pytest.raises(EventLogError, match=f"^RTMR{imr} replays"):
        verify_event_log(log, quote())


def test_all_boot_events_of_a_register_dropped__refused_for_a_real_quote():
    log = [e for e in events() if e.imr != 1]
    with pytest.raises(EventLogError, match=r"^RTMR1 replays to 0x0000"):
        verify_event_log(log, quote())


@pytest.mark.parametrize(("first", "second"), [("app-id", "instance-id"), ("boot-mr-done", "system-ready")])
def test_reordered_runtime_events__refused(first, second):
    log = list(events())
    i, j = index_of(log, first), index_of(log, second)
    log[i], log[j] = log[j], log[i]
    with pytest.raises(EventLogError, match=r"^RTMR3 replays"):
        verify_event_log(log, quote())


def test_reordered_boot_events__refused():
    log = list(events())
    log[0], log[1] = log[1], log[0]
    with pytest.raises(EventLogError, match=r"^RTMR0 replays"):
        verify_event_log(log, quote())


def test_added_event__refused():
    log = [*events(), runtime("app-event", b"hello")]
    with pytest.raises(EventLogError, match=r"^RTMR3 replays"):
        verify_event_log(log, quote())


def test_wrong_app_compose__refused():
    other = app_compose().replace("intents-solver-1", "intents-solver-2")
    with pytest.raises(
        EventLogError, match=r"sha256 of the app compose is 0x.*but the log's compose hash is 0x12a20aed"
    ):
        verify_event_log(events(), quote(), other)


def test_sgx_quote__refused():
    sgx = parse_quote(
        simulated_sgx_quote(
            mr_enclave=bytes(32), mr_signer=bytes(32), isv_prod_id=0, isv_svn=0, report_data=bytes(64)
        )
    )
    with pytest.raises(EventLogError, match=r"TDX quotes only"):
        verify_event_log(events(), sgx)


# --- rules beyond the replay: a quote re-signed around an edited log -----------------------------


def test_requoted_sample__verifies():
    """The harness: a quote around the unchanged log verifies (the refusals below are the rules')."""
    identity = verify_event_log(events(), requote(events()))
    assert identity.compose_hash == COMPOSE_HASH


@pytest.mark.parametrize(
    ("payload", "size"),
    [
        (COMPOSE_HASH[:31], 31),
        (b"\x00" + COMPOSE_HASH[:31], 32 + 0),
        (COMPOSE_HASH + b"\x00", 33),
        (COMPOSE_HASH + bytes(16), 48),
    ],
)
def test_compose_hash_not_exactly_32_bytes__refused(payload, size):
    log = with_payload(events(), "compose-hash", payload)
    q = requote(log, mr_config_id=bytes(48))
    if size == 32:  # a 31-byte hash padded to 32 is another hash: the mr_config_id / allow-list catch it
        identity = verify_event_log(log, q)
        assert identity.compose_hash != COMPOSE_HASH
        return
    with pytest.raises(EventLogError, match=f"compose-hash payload is {size} bytes; it must be exactly 32"):
        verify_event_log(log, q)


def test_padded_compose_hash__refused_by_mr_config_id():
    log = with_payload(events(), "compose-hash", b"\x00" + COMPOSE_HASH[:31])
    with pytest.raises(
        EventLogError, match=r"mr_config_id 0x0112a20a.* does not match the log's compose hash"
    ):
        verify_event_log(log, requote(log))


def test_zero_compose_hash__refused():
    log = with_payload(events(), "compose-hash", bytes(32))
    with pytest.raises(EventLogError, match=r"compose hash is zero"):
        verify_event_log(log, requote(log, mr_config_id=bytes(48)))


@pytest.mark.parametrize(
    ("name", "payload"), [("app-id", bytes(19)), ("instance-id", bytes(21)), ("os-image-hash", bytes(31))]
)
def test_identity_fields_of_wrong_length__refused(name, payload):
    log = with_payload(events(), name, payload)
    with pytest.raises(EventLogError, match=f"{name} payload is {len(payload)} bytes"):
        verify_event_log(log, requote(log))


def test_empty_instance_id__is_no_instance_id():
    log = with_payload(events(), "instance-id", b"")
    assert verify_event_log(log, requote(log)).instance_id is None


def test_second_compose_hash_emitted_by_the_app__refused():
    """dstack's guest agent lets an app extend RTMR3 with any event after boot: a second
    compose-hash naming another app must not be believed (nor the first silently preferred)."""
    log = (*events(), runtime("compose-hash", b"\x42" * 32))
    with pytest.raises(EventLogError, match=r"RTMR3 has 2 compose-hash events; exactly one is required"):
        verify_event_log(log, requote(log))


def test_app_restating_a_boot_event__refused():
    log = (*events(), runtime("app-id", b"\x42" * 20))
    with pytest.raises(EventLogError, match=r"logs 'app-id' again after the boot"):
        verify_event_log(log, requote(log))


def test_app_events_after_boot__accepted():
    log = (*events(), runtime("pha-worker-key", b"\x01" * 20))
    assert verify_event_log(log, requote(log)).compose_hash == COMPOSE_HASH


def test_compose_hash_moved_before_app_id__refused():
    log = list(events())
    i, j = index_of(log, "app-id"), index_of(log, "compose-hash")
    log[i], log[j] = log[j], log[i]
    with pytest.raises(EventLogError, match=r"does not start like a dstack boot"):
        verify_event_log(log, requote(tuple(log)))


def test_no_system_ready__refused():
    log = tuple(e for e in events() if e.name != "system-ready")
    with pytest.raises(EventLogError, match=r"no system-ready event"):
        verify_event_log(log, requote(log))


def test_runtime_event_outside_imr3__refused():
    log = list(events())
    log.insert(0, replace(runtime("compose-hash", b"\x42" * 32), imr=2))
    with pytest.raises(EventLogError, match=r"a runtime event in IMR 2, not 3"):
        verify_event_log(log, requote(tuple(log)))


def test_non_runtime_event_in_imr3__refused():
    log = list(events())
    log.append(replace(log[0], imr=3))
    with pytest.raises(EventLogError, match=r"RTMR3 holds only dstack runtime events"):
        verify_event_log(log, requote(tuple(log)))


# --- mr_config_id -------------------------------------------------------------------------------


def test_zero_mr_config_id__the_log_is_the_only_proof():
    assert verify_event_log(events(), requote(events(), mr_config_id=bytes(48))).mr_config_id == "zero"


def test_mr_config_id_of_another_compose__refused():
    q = requote(events(), mr_config_id=mr_config_id_v1(b"\x42" * 32))
    with pytest.raises(EventLogError, match=r"does not match the log's compose hash \(v1 rule\)"):
        verify_event_log(events(), q)


def test_mr_config_id_v2__keccak_of_compose_app_id_and_key_provider():
    from eth_utils import keccak

    identity = verify_event_log(events(), quote())
    kp = identity.key_provider
    v2 = b"\x02" + keccak(COMPOSE_HASH + identity.app_id + b"\x02" + kp.id) + bytes(15)
    assert check_mr_config_id(v2, COMPOSE_HASH, identity.app_id, kp) == "v2"
    with pytest.raises(EventLogError, match=r"v2 rule"):
        check_mr_config_id(v2, COMPOSE_HASH, b"\x01" * 20, kp)  # another app id
    with pytest.raises(EventLogError, match=r"no known key-provider"):
        check_mr_config_id(v2, COMPOSE_HASH, identity.app_id, None)


def test_mr_config_id_of_dstack_051__accepted_and_unknown_versions_refused():
    assert check_mr_config_id(COMPOSE_HASH + bytes(16), COMPOSE_HASH, bytes(20), None) == "v0.5.1"
    with pytest.raises(EventLogError, match=r"version 3 is not supported"):
        check_mr_config_id(b"\x03" + bytes(32) + bytes(15), COMPOSE_HASH, bytes(20), None)
    with pytest.raises(EventLogError, match=r"\(v1 rule\)"):
        check_mr_config_id(b"\x01" + COMPOSE_HASH + b"\x01" + bytes(14), COMPOSE_HASH, bytes(20), None)


# --- other dstack generations -------------------------------------------------------------------


def test_dstack_03_log__verifies():
    boot = [e for e in events() if e.imr < 3]
    log = (
        *boot,
        runtime("rootfs-hash", b"\x07" * 32),
        runtime("app-id", COMPOSE_HASH[:20]),
        runtime("compose-hash", COMPOSE_HASH),
        runtime("ca-cert-hash", hashlib.sha256(b"").digest()),
        runtime("instance-id", b"\x09" * 20),
        runtime("app-event", b"ready"),
    )
    identity = verify_event_log(log, requote(log, mr_config_id=bytes(48)), app_compose())
    assert identity.generation == "0.3" and identity.instance_id == b"\x09" * 20
    assert identity.os_image_hash is None and identity.key_provider is None


def test_dstack_03_log_without_instance_id__refused():
    boot = [e for e in events() if e.imr < 3]
    log = (
        *boot,
        runtime("rootfs-hash", b"\x07" * 32),
        runtime("app-id", COMPOSE_HASH[:20]),
        runtime("compose-hash", COMPOSE_HASH),
        runtime("ca-cert-hash", bytes(32)),
        runtime("instance-id", b""),
    )
    with pytest.raises(EventLogError, match=r"instance-id payload is 0 bytes"):
        verify_event_log(log, requote(log, mr_config_id=bytes(48)))


def test_canonical_json_digest__matches_dstacks_vector():
    assert runtime_preimage("compose-hash", b"\xab\xcd", version=2) == (
        b'{"name":"compose-hash","payload":"abcd","type":134217729}'
    )
    assert runtime_preimage('a"b\\c\n\x01\u00e9', b"\xff", version=2) == (
        '{"name":"a\\"b\\\\c\\n\\u0001\u00e9","payload":"ff","type":134217729}'.encode()
    )


def test_version_2_events__verify_and_a_v1_digest_under_v2_is_refused():
    log = tuple(runtime(e.name, e.payload, version=2) if e.imr == 3 else e for e in events())
    assert verify_event_log(log, requote(log)).compose_hash == COMPOSE_HASH
    shipped = [e.as_json() for e in events()]
    shipped[index_of(log, "compose-hash")]["version"] = 2
    with pytest.raises(EventLogError, match=r"\(compose-hash\): digest does not match"):
        verify_event_log(parse_event_log(shipped), quote())


def test_compose_hash_of__is_sha256_of_the_exact_bytes():
    assert compose_hash_of(app_compose()) == COMPOSE_HASH
    assert compose_hash_of(app_compose() + "\n") != COMPOSE_HASH


def test_replay_all__four_registers():
    assert len(replay_all(events())) == 4
