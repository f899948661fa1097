"""`pha-quote gpu verify` / `gpu nonce` as a user runs them: output, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from pha.gpu.binding import gpu_nonce
from pha.gpu.simulate import SIMULATOR_ROOT, golden_measurements, simulated_evidence

from . import gpu_data as d

REPO = Path(__file__).resolve().parents[2]
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
WORKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", "gpu", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def _sample(*extra: str) -> subprocess.CompletedProcess[str]:
    return _run("verify", str(d.REPORT), "--certs", str(d.CHAIN), "--rim", str(d.RIM_DIR), *extra)


def _one_line_error(done: subprocess.CompletedProcess[str], rc: int, text: str) -> None:
    assert done.returncode == rc, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pha-quote: ") and text in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_real_sample_json_with_the_default_nvidia_roots() -> None:
    done = _sample("--at", "2024-06-01", "--nonce", d.SAMPLE_NONCE.hex(), "--no-measurements", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (
        out["signature_verified"] and out["chain_verified"] and out["rims_verified"] and out["nonce_checked"]
    )
    assert out["model"] == "GH100 A01 GSP BROM" and out["driver_version"] == "550.90.07"
    assert out["revocation"] == "revocation not checked"
    assert "measurements against the RIMs" in out["not_checked"]


def test_default_roots_are_nvidias() -> None:
    roots = REPO / "pha" / "gpu" / "roots"
    assert (roots / "nvidia_device_root.pem").read_bytes() == d.DEVICE_ROOT.read_bytes()
    assert (roots / "nvidia_rim_root.pem").read_bytes() == d.RIM_ROOT.read_bytes()


def test_refusals_are_one_line_with_exit_1(tmp_path: Path) -> None:
    _one_line_error(_sample("--at", "2024-06-01"), 1, "20 measurements differ from the RIM golden values")
    _one_line_error(
        _sample("--at", "2024-06-01", "--nonce", "00" * 32, "--no-measurements"), 1, "is not the expected 0x"
    )
    _one_line_error(_sample("--no-measurements", "--at", "2026-01-01"), 1, "expired at 2025-06-26T06:10:12Z")
    _one_line_error(_sample("--root", str(d.RIM_ROOT), "--at", "2024-06-01"), 1, "not the trusted root")
    revoked = tmp_path / "revoked.json"
    revoked.write_text(json.dumps({"revoked_serials": [hex(d.chain()[1].serial_number)]}))
    _one_line_error(_sample("--revoked", str(revoked), "--at", "2024-06-01"), 1, "is revoked")


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    _one_line_error(_sample("--nonce", "zz"), 1, "--nonce is not hex")
    _one_line_error(_sample("--nonce", "00"), 1, "--nonce must be 32 bytes, got 1")
    _one_line_error(_sample("--at", "yesterday"), 1, "neither Unix seconds nor ISO 8601")
    _one_line_error(
        _run("verify", str(tmp_path / "x"), "--certs", str(d.CHAIN), "--rim", str(d.RIM_DIR)),
        1,
        "cannot read",
    )
    _one_line_error(
        _run("verify", str(d.REPORT), "--certs", str(d.REPORT), "--rim", str(d.RIM_DIR)), 1, "not PEM"
    )
    _one_line_error(
        _run("verify", str(d.REPORT), "--certs", str(d.CHAIN), "--rim", str(tmp_path)), 1, "no .swidtag"
    )
    bad = tmp_path / "revoked.json"
    bad.write_text("[1]")
    _one_line_error(_sample("--revoked", str(bad)), 1, "revoked_serials")
    assert _run("verify", str(d.REPORT)).returncode == 2  # click usage error: missing --certs


def test_simulated_evidence_end_to_end_needs_a_dev_chain(tmp_path: Path) -> None:
    nonce = gpu_nonce(31337, REGISTRY, WORKER, bytes(range(32)), 1)
    done = _run(
        "nonce",
        "--chain-id",
        "31337",
        "--registry",
        REGISTRY,
        "--worker",
        WORKER,
        "--encryption-key",
        bytes(range(32)).hex(),
        "--pool-id",
        "1",
    )
    assert done.returncode == 0 and done.stdout.strip() == "0x" + nonce.hex()
    ev = simulated_evidence(
        chain_id=31337,
        nonce=nonce,
        measurements=golden_measurements(d.DRIVER_RIM.read_bytes(), d.VBIOS_RIM.read_bytes()),
    )
    (tmp_path / "report.hex").write_text(ev.report_hex)
    (tmp_path / "chain.pem").write_bytes(ev.chain_pem)
    (tmp_path / "root.pem").write_bytes(SIMULATOR_ROOT.public_bytes(Encoding.PEM))
    args = [
        "verify",
        str(tmp_path / "report.hex"),
        "--certs",
        str(tmp_path / "chain.pem"),
        "--rim",
        str(d.RIM_DIR),
        "--root",
        str(tmp_path / "root.pem"),
        "--nonce",
        nonce.hex(),
        "--at",
        "2024-06-01",
    ]
    _one_line_error(_run(*args), 1, "accepted only for a development chain")
    done = _run(*args, "--dev-chain-id", "31337", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["simulated"] and out["measurements_verified"] and out["measurements_checked"] == 33
