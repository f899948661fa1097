"""The quote binds the worker's keys: simulated quotes parsed with pha.quote, and dstack's GetQuote
served by a small real HTTP server on loopback that answers the way dstack's guest agent does."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from pha.quote import DEV_ADDRESS, parse_quote, report_data, tdx_measurement_id
from pha.quote.eventlog import mr_config_id_v1, parse_event_log, replay, verify_event_log
from pha.quote.io import decode_quote
from pha.quote.layout import HEADER_LENGTH, TD_FIELDS
from tests.worker.conftest import CHAIN_ID, POOL_ID, REGISTRY
from worker.attestation import AttestationError, derived_register, dstack_endpoint
from worker.server import BackgroundWorker, build_state

DSTACK = Path(__file__).parents[1] / "data" / "dstack"
# A real Phala Cloud CVM's quote and tcb_info (event log, app compose): see its PROVENANCE.md.
DSTACK_QUOTE = decode_quote((DSTACK / "quote.hex").read_bytes())
TCB_INFO = json.loads((DSTACK / "tcb_info.json").read_text())
COMPOSE_HASH = bytes.fromhex(TCB_INFO["compose_hash"])
REPORT_DATA_OFFSET = HEADER_LENGTH + TD_FIELDS["report_data"][0]


def test_simulated_quote__report_data_is_the_worker_binding(settings_factory):
    state = build_state(settings_factory())
    parsed = parse_quote(state.attestation.quote)
    expected = report_data(CHAIN_ID, REGISTRY, state.keys.address, state.keys.encryption_key, POOL_ID)
    assert parsed.report_data == expected == state.attestation.report_data
    assert parsed.simulated and state.attestation.simulated
    assert parsed.measurement_id == state.attestation.measurement_id


def test_simulated_quote__signed_by_the_development_key(settings_factory):
    quote = build_state(settings_factory()).attestation.quote
    parsed = parse_quote(quote)
    signature = quote[parsed.signed_length + 4 :]
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
            "SimulatedQuote": [{"name": "quoteHash", "type": "bytes32"}],
        },
        "primaryType": "SimulatedQuote",
        "domain": {"name": "PHA Simulated Quote", "version": "1"},
        "message": {"quoteHash": keccak(parsed.signed_part)},
    }
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == DEV_ADDRESS


def test_simulated_measurements__default_derive_from_code_identity_and_are_stable(settings_factory):
    a = build_state(settings_factory(code_identity="demo/v1")).attestation
    b = build_state(settings_factory(code_identity="demo/v1")).attestation
    c = build_state(settings_factory(code_identity="demo/v2")).attestation
    assert a.measurement_id == b.measurement_id != c.measurement_id
    regs = [derived_register("demo/v1", name) for name in ("mrtd", "rtmr0", "rtmr1", "rtmr2")]
    assert a.measurement_id == tdx_measurement_id(*regs)
    assert a.quote != b.quote  # different keys, different binding


def test_simulated_measurements__configured_registers_are_in_the_quote(settings_factory):
    mrtd = "0x" + "aa" * 48
    state = build_state(settings_factory(mrtd=mrtd, rtmr2="bb" * 48))
    parsed = parse_quote(state.attestation.quote)
    assert parsed.fields["mr_td"] == b"\xaa" * 48 and parsed.fields["rt_mr2"] == b"\xbb" * 48
    assert parsed.fields["rt_mr0"] == derived_register("pha-worker/reference/v1", "rtmr0")


def test_settings__bad_register__rejected(settings_factory):
    with pytest.raises(ValueError, match="mrtd must be 48 bytes"):
        settings_factory(mrtd="0x1234")


# --- dstack --------------------------------------------------------------------------------


class FakeGuestAgent(BaseHTTPRequestHandler):
    """dstack guest agent's /GetQuote and /Info over HTTP: GetQuote pads report_data to 64 bytes and
    returns a real Phala Cloud CVM's quote with that report_data written in (RTMRs untouched), hex
    without 0x, with its event log as a JSON string; Info returns its tcb_info (app compose)."""

    requests: list = []  # noqa: RUF012
    corrupt = False
    tamper_log = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        if self.path == "/Info":
            return self._reply(self._info())
        if self.path != "/GetQuote":
            self.send_error(404)
            return None
        rd = bytes.fromhex(json.loads(body)["report_data"]).ljust(64, b"\0")
        if type(self).corrupt:
            rd = bytes(64)
        quote = bytearray(DSTACK_QUOTE)
        quote[REPORT_DATA_OFFSET : REPORT_DATA_OFFSET + 64] = rd
        event_log = [dict(e) for e in TCB_INFO["event_log"]]
        if type(self).tamper_log:  # another app's compose hash, consistently digested: RTMR3 differs
            from pha.quote.eventlog import runtime_digest

            other = "42" * 32
            for event in event_log:
                if event["event"] == "compose-hash":
                    event.update(
                        event_payload=other, digest=runtime_digest("compose-hash", bytes.fromhex(other)).hex()
                    )
        return self._reply(
            {
                "quote": quote.hex(),
                "event_log": json.dumps(event_log),
                "report_data": rd.hex(),
                "vm_config": "{}",
            }
        )

    @staticmethod
    def _info() -> dict:
        return {
            "app_id": TCB_INFO["event_log"][-8]["event_payload"],
            "instance_id": "",
            "app_cert": "",
            "tcb_info": json.dumps(TCB_INFO),
            "app_name": "intents-solver-1",
            "device_id": TCB_INFO["device_id"],
            "key_provider_info": "",
            "compose_hash": TCB_INFO["compose_hash"],
        }

    def _reply(self, data: dict) -> None:
        reply = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def guest_agent():
    FakeGuestAgent.requests = []
    FakeGuestAgent.corrupt = False
    FakeGuestAgent.tamper_log = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGuestAgent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_dstack__quote_from_guest_agent_binds_keys_and_is_not_simulated(settings_factory, guest_agent):
    state = build_state(settings_factory(simulate=False, dstack_endpoint=guest_agent))
    [(path, content_type, sent), (info_path, _, _)] = FakeGuestAgent.requests
    assert info_path == "/Info"
    expected = report_data(CHAIN_ID, REGISTRY, state.keys.address, state.keys.encryption_key, POOL_ID)
    assert (path, content_type) == ("/GetQuote", "application/json")
    assert sent == {"report_data": expected.hex()}
    parsed = parse_quote(state.attestation.quote)  # padding stripped: the on-chain form
    assert parsed.report_data == expected and not parsed.simulated and not state.attestation.simulated
    assert state.attestation.compose_hash == COMPOSE_HASH
    f = parsed.fields
    assert state.attestation.measurement_id == tdx_measurement_id(
        f["mr_td"], f["rt_mr0"], f["rt_mr1"], f["rt_mr2"], COMPOSE_HASH
    )


def test_dstack__served_attestation_says_not_simulated(settings_factory, guest_agent):
    with BackgroundWorker(settings_factory(simulate=False, dstack_endpoint=guest_agent)) as running:
        body = httpx.get(running.url + "/attestation").json()
    assert body["simulated"] is False and body["compose_hash"] == "0x" + COMPOSE_HASH.hex()
    assert parse_quote(bytes.fromhex(body["quote"][2:])).report_data.hex() == body["report_data"][2:]
    # The log in dstack's shape and the app compose: anyone can replay them against the quote.
    assert body["event_log"] == TCB_INFO["event_log"] and body["app_compose"] == TCB_INFO["app_compose"]
    app = verify_event_log(
        parse_event_log(body["event_log"]), parse_quote(bytes.fromhex(body["quote"][2:])), body["app_compose"]
    )
    assert body["measurement_id"] == "0x" + app.measurement_id.hex()


def test_dstack__log_not_replaying_to_the_quote__refused_at_start(settings_factory, guest_agent):
    FakeGuestAgent.tamper_log = True
    with pytest.raises(AttestationError, match="event log does not prove this worker's quote: RTMR3 replays"):
        build_state(settings_factory(simulate=False, dstack_endpoint=guest_agent))


def test_dstack__app_compose_setting__refused(settings_factory, guest_agent):
    with pytest.raises(AttestationError, match="app_compose is for the simulator"):
        build_state(
            settings_factory(
                simulate=False, dstack_endpoint=guest_agent, app_compose=str(DSTACK / "app-compose.json")
            )
        )


# --- simulated dstack app (--app-compose) ---------------------------------------------------


def test_simulated_app__log_replays_to_rtmr3_and_id_is_the_apps(settings_factory):
    compose_file = str(DSTACK / "app-compose.json")
    a = build_state(settings_factory(app_compose=compose_file)).attestation
    b = build_state(settings_factory(app_compose=compose_file)).attestation
    qa, qb = parse_quote(a.quote), parse_quote(b.quote)
    assert qa.fields["rt_mr3"] == replay(a.event_log, 3) != qb.fields["rt_mr3"]  # per-process instance id
    assert qa.fields["mr_config_id"] == mr_config_id_v1(COMPOSE_HASH)
    assert a.app.generation == "0.5" and a.app.app_id == COMPOSE_HASH[:20]
    f = qa.fields
    plain = tdx_measurement_id(f["mr_td"], f["rt_mr0"], f["rt_mr1"], f["rt_mr2"])
    assert a.measurement_id == b.measurement_id == qa.measurement_id_with_compose(COMPOSE_HASH) != plain
    assert build_state(settings_factory()).attestation.measurement_id == plain  # without it: unchanged


def test_simulated_app__served_log_verifies_and_plain_worker_serves_none(settings_factory):
    with BackgroundWorker(settings_factory(app_compose=str(DSTACK / "app-compose.json"))) as running:
        body = httpx.get(running.url + "/attestation").json()
    quote = parse_quote(bytes.fromhex(body["quote"][2:]))
    app = verify_event_log(parse_event_log(body["event_log"]), quote, body["app_compose"])
    assert (
        body["compose_hash"] == "0x" + COMPOSE_HASH.hex()
        and body["measurement_id"] == "0x" + app.measurement_id.hex()
    )
    assert body["simulated"] is True
    with BackgroundWorker(settings_factory()) as running:
        plain = httpx.get(running.url + "/attestation").json()
    assert plain["event_log"] is None and plain["app_compose"] is None and plain["compose_hash"] is None


def test_simulated_app__missing_compose_file__clear_error(settings_factory, tmp_path):
    with pytest.raises(AttestationError, match="cannot read the app compose"):
        build_state(settings_factory(app_compose=str(tmp_path / "missing.json")))


def test_dstack__quote_without_our_report_data__refused_at_start(settings_factory, guest_agent):
    FakeGuestAgent.corrupt = True
    with pytest.raises(AttestationError, match="does not carry this worker's report_data"):
        build_state(settings_factory(simulate=False, dstack_endpoint=guest_agent))


def test_dstack__unreachable_agent__clear_error(settings_factory):
    with pytest.raises(AttestationError, match=r"dstack GetQuote at http://127\.0\.0\.1:9 failed"):
        build_state(settings_factory(simulate=False, dstack_endpoint="http://127.0.0.1:9"))


def test_dstack_endpoint__environment_variable_used_unless_simulate(
    settings_factory, monkeypatch, guest_agent
):
    monkeypatch.setenv("DSTACK_SIMULATOR_ENDPOINT", guest_agent)
    assert dstack_endpoint(settings_factory(simulate=False)) == guest_agent
    assert dstack_endpoint(settings_factory(simulate=True)) is None
    assert build_state(settings_factory(simulate=False)).attestation.simulated is False
