"""Offline GPU-evidence verification on NVIDIA's real Hopper sample and on simulated evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pha.gpu.binding import gpu_nonce
from pha.gpu.certs import RevocationList, load_pem_chain
from pha.gpu.errors import GpuEvidenceError
from pha.gpu.simulate import SIMULATOR_ROOT, golden_measurements, simulated_evidence
from pha.gpu.spdm import REQUEST_LENGTH, parse_report
from pha.gpu.verify import verify_gpu_evidence
from pha.quote.binding import worker_binding

from . import gpu_data as d

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
WORKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
KEY = bytes(range(32))


def _real(**kw):
    args = dict(expected_nonce=d.SAMPLE_NONCE, at=d.WHILE_RIMS_VALID, check_rim_measurements=False)
    args.update(kw)
    report = args.pop("report", d.report())
    chain = args.pop("chain", d.chain())
    root = args.pop("root", d.cert(d.DEVICE_ROOT))
    return verify_gpu_evidence(report, chain, d.DRIVER_RIM, d.VBIOS_RIM, root, d.cert(d.RIM_ROOT), **args)


def _code(fn, *a, **kw) -> tuple[str, str]:
    with pytest.raises(GpuEvidenceError) as info:
        fn(*a, **kw)
    return info.value.code, str(info.value)


# --- the real sample ---------------------------------------------------------------------------


def test_real_sample_parses_as_nvidia_describes_it() -> None:
    report = parse_report(d.report())
    assert len(d.report()) == 4117
    assert report.requester_nonce == d.SAMPLE_NONCE
    assert len(report.measurements) == 64 and all(len(v) == 48 for v in report.measurements.values())
    assert report.driver_version == "550.90.07"
    assert report.vbios_version == "96.00.9f.00.01"


def test_real_sample_verifies_signature_chain_nonce_and_rims() -> None:
    verdict = _real()
    assert verdict.signature_verified and verdict.chain_verified and verdict.rims_verified
    assert verdict.nonce_checked and verdict.fwid_checked and not verdict.simulated
    assert verdict.model == "GH100 A01 GSP BROM"
    assert verdict.device_serial == "0x53c22ba15e5d68088282da074ed9fb37aa585771"
    assert len(verdict.device_id) == 66
    assert verdict.driver_rim_version == "545.00" and verdict.vbios_rim_version == "96.00.5E.00.01"
    assert not verdict.driver_rim_matches and not verdict.vbios_rim_matches
    assert verdict.revocation == "revocation not checked"
    assert verdict.cc_mode.startswith("not verified")
    assert "revocation" in verdict.not_checked and "measurements against the RIMs" in verdict.not_checked


def test_real_sample_measurements_differ_from_the_shipped_rims() -> None:
    """The package ships no RIM of the sample's driver 550.90.07: 20 active values differ (as NVIDIA's
    verifier finds too, test_nvidia_crosscheck)."""
    code, message = _code(_real, check_rim_measurements=True)
    assert code == "measurement"
    assert message == (
        "20 measurements differ from the RIM golden values (driver RIM "
        + ", ".join(map(str, d.SAMPLE_DRIVER_MISMATCH))
        + "; vbios RIM "
        + ", ".join(map(str, d.SAMPLE_VBIOS_MISMATCH))
        + ")"
    )


def test_flipped_measurement_breaks_the_signature() -> None:
    raw = bytearray(d.report())
    raw[REQUEST_LENGTH + 8 + 7] ^= 1  # first byte of block 1's value
    assert parse_report(bytes(raw)).measurements[1] != parse_report(d.report()).measurements[1]
    assert _code(_real, report=bytes(raw))[0] == "signature"


def test_wrong_nonce_is_refused() -> None:
    code, message = _code(_real, expected_nonce=d.NVIDIA_TEST_NONCE)
    assert code == "nonce" and d.SAMPLE_NONCE.hex() in message


def test_tampered_nonce_in_report_breaks_the_signature() -> None:
    raw = bytearray(d.report())
    raw[4:36] = d.NVIDIA_TEST_NONCE
    assert _code(_real, report=bytes(raw), expected_nonce=d.NVIDIA_TEST_NONCE)[0] == "signature"


def test_chain_from_another_root_is_refused() -> None:
    assert _code(_real, root=d.cert(d.RIM_ROOT))[0] == "chain"
    # the sample chain with its NVIDIA root swapped for the simulator's: not signed by it
    forged = [*d.chain()[:-1], SIMULATOR_ROOT]
    assert _code(_real, chain=forged, root=SIMULATOR_ROOT, dev_chain_id=31337)[0] == "chain"


def test_expired_rim_signer_is_refused() -> None:
    code, message = _code(_real, at=datetime(2025, 7, 1, tzinfo=UTC))
    assert code == "expired" and "HCC RIM L4 Signer" in message


def test_not_yet_valid_device_chain_is_refused() -> None:
    assert _code(_real, at=datetime(2020, 1, 1, tzinfo=UTC))[0] == "not-yet-valid"


def test_revoked_device_certificate_is_refused() -> None:
    leaf = d.chain()[0]
    revoked = RevocationList.from_json(
        json.dumps({"revoked_serials": [hex(leaf.serial_number)], "source": "test"}).encode()
    )
    code, message = _code(_real, revoked=revoked)
    assert code == "revoked" and "device chain" in message
    clean = RevocationList.from_json(b'{"revoked_serials": ["0x1234"], "source": "ops list 2026-12-01"}')
    assert _real(revoked=clean).revocation == "checked against ops list 2026-12-01"


def test_revoked_rim_signer_is_refused(tmp_path: Path) -> None:
    from pha.gpu.rim import _signer_chain, parse_xml

    signer = _signer_chain(parse_xml(d.DRIVER_RIM.read_bytes(), "rim"), "rim")[0]
    revoked = RevocationList.from_json(json.dumps({"revoked_serials": [signer.serial_number]}).encode())
    code, message = _code(_real, revoked=revoked)
    assert code == "revoked" and "Driver_RIM" in message


def test_tampered_rim_golden_value_fails_its_xml_signature(tmp_path: Path) -> None:
    text = d.DRIVER_RIM.read_text()
    target = 'index="7" active="True" alternatives="1" ns2:Hash0="0e0ee161'
    assert target in text
    bad = tmp_path / "driver.swidtag"
    bad.write_text(text.replace(target, target[:-1] + "2"))
    with pytest.raises(GpuEvidenceError) as info:
        verify_gpu_evidence(
            d.report(),
            d.chain(),
            bad,
            d.VBIOS_RIM,
            d.cert(d.DEVICE_ROOT),
            d.cert(d.RIM_ROOT),
            at=d.WHILE_RIMS_VALID,
            check_rim_measurements=False,
        )
    assert info.value.code == "rim-signature"


def test_bad_revocation_file_is_one_line() -> None:
    with pytest.raises(GpuEvidenceError, match="revoked_serials"):
        RevocationList.from_json(b'{"serials": []}')


def test_truncated_report_is_a_format_error() -> None:
    assert _code(parse_report, d.report()[:-1])[0] == "format"
    assert _code(parse_report, d.report()[:100])[0] == "format"


# --- simulated evidence: the binding and a full pass including the RIM measurements -------------


def _golden() -> dict[int, bytes]:
    return golden_measurements(d.DRIVER_RIM.read_bytes(), d.VBIOS_RIM.read_bytes())


def _sim(nonce: bytes, measurements: dict[int, bytes] | None = None, **kw):
    ev = simulated_evidence(chain_id=31337, nonce=nonce, measurements=measurements or _golden())
    args = dict(at=d.WHILE_RIMS_VALID, dev_chain_id=31337, expected_nonce=nonce)
    args.update(kw)
    return ev, lambda **more: verify_gpu_evidence(
        ev.report, ev.chain, d.DRIVER_RIM, d.VBIOS_RIM, SIMULATOR_ROOT, d.cert(d.RIM_ROOT), **(args | more)
    )


def test_gpu_nonce_commits_to_the_worker_binding() -> None:
    nonce = gpu_nonce(31337, REGISTRY, WORKER, KEY, 1)
    assert len(nonce) == 32
    assert nonce != worker_binding(31337, REGISTRY, WORKER, KEY, 1)  # domain-separated from report_data
    others = {
        gpu_nonce(1, REGISTRY, WORKER, KEY, 1),
        gpu_nonce(31337, WORKER, WORKER, KEY, 1),
        gpu_nonce(31337, REGISTRY, REGISTRY, KEY, 1),
        gpu_nonce(31337, REGISTRY, WORKER, bytes(32), 1),
        gpu_nonce(31337, REGISTRY, WORKER, KEY, 2),
    }
    assert nonce not in others and len(others) == 5


def test_simulated_evidence_passes_every_check_including_the_rim_measurements() -> None:
    nonce = gpu_nonce(31337, REGISTRY, WORKER, KEY, 1)
    _, verify = _sim(nonce)
    verdict = verify(check_rim_measurements=True)
    assert verdict.simulated and verdict.measurements_verified
    assert verdict.measurements_checked == 33  # 21 driver + 12 VBIOS active golden values
    assert verdict.nonce == "0x" + nonce.hex()


def test_simulated_evidence_for_another_worker_is_refused() -> None:
    mine = gpu_nonce(31337, REGISTRY, WORKER, KEY, 1)
    theirs = gpu_nonce(31337, REGISTRY, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", KEY, 1)
    _, verify = _sim(mine)
    assert _code(verify, expected_nonce=theirs)[0] == "nonce"


def test_simulated_flipped_measurement_is_a_rim_mismatch() -> None:
    golden = _golden()
    golden[8] = bytes([golden[8][0] ^ 1]) + golden[8][1:]  # RIM index 7 (driver, active)
    _, verify = _sim(bytes(32), golden)
    code, message = _code(verify, check_rim_measurements=True)
    assert code == "measurement" and message.endswith("(driver RIM 7)")


def test_simulator_refuses_public_chains() -> None:
    for chain_id in (1, 8453, 2035):
        assert (
            _code(simulated_evidence, chain_id=chain_id, nonce=bytes(32), measurements={1: bytes(48)})[0]
            == "simulated"
        )


def test_simulated_evidence_is_refused_without_a_dev_chain() -> None:
    _, verify = _sim(bytes(32))
    assert _code(verify, dev_chain_id=None)[0] == "simulated"
    assert _code(verify, dev_chain_id=8453)[0] == "simulated"


def test_simulated_chain_under_the_nvidia_root_is_refused() -> None:
    ev, _ = _sim(bytes(32))
    with pytest.raises(GpuEvidenceError) as info:
        verify_gpu_evidence(
            ev.report,
            ev.chain[:-1],
            d.DRIVER_RIM,
            d.VBIOS_RIM,
            d.cert(d.DEVICE_ROOT),
            d.cert(d.RIM_ROOT),
            at=d.WHILE_RIMS_VALID,
            dev_chain_id=31337,
        )
    assert info.value.code == "chain"


def test_simulated_chain_pem_round_trips() -> None:
    ev, _ = _sim(bytes(32))
    assert [c.serial_number for c in load_pem_chain(ev.chain_pem, "sim")] == [
        c.serial_number for c in ev.chain
    ]


def test_each_simulated_gpu_has_its_own_device_id() -> None:
    golden = _golden()
    ids = set()
    for serial in (2, 1000):
        ev = simulated_evidence(chain_id=31337, nonce=bytes(32), measurements=golden, device_serial=serial)
        verdict = verify_gpu_evidence(
            ev.report,
            ev.chain,
            d.DRIVER_RIM,
            d.VBIOS_RIM,
            SIMULATOR_ROOT,
            d.cert(d.RIM_ROOT),
            at=d.WHILE_RIMS_VALID,
            dev_chain_id=31337,
        )
        ids.add(verdict.device_id)
    assert len(ids) == 2


def test_leaf_alone_is_not_a_device_chain() -> None:
    assert _code(_real, chain=d.chain()[:1])[0] == "chain"


def test_expired_device_certificate_is_refused() -> None:
    """The simulated device chain ends 2049-12-31: one second later it is refused (before the RIMs)."""
    _, verify = _sim(bytes(32))
    code, message = _code(verify, at=datetime(2050, 1, 1, tzinfo=UTC))
    assert code == "expired" and message.startswith("device chain:") and "2049-12-31T23:59:59Z" in message


def test_chain_missing_an_intermediate_is_refused() -> None:
    chain = d.chain()
    code, message = _code(_real, chain=[chain[0], *chain[2:]])
    assert code == "chain" and "is not signed by" in message


def test_naive_verification_time_is_utc() -> None:
    assert _real(at=datetime(2024, 6, 1)).verified_at == "2024-06-01T00:00:00Z"


def test_missing_nvidia_venv_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PHA_NVGPU_PYTHON", str(tmp_path / "no-python"))
    code, message = _code(_real)
    assert code == "nvgpu" and "make setup" in message and "\n" not in message
