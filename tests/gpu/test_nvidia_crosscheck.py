"""NVIDIA's own verifier (nv-local-gpu-verifier 2.7.3, its venv, as a subprocess) and ours agree.

Its CLI's --test_no_gpu mode cannot be used offline (it stops at its OCSP request) and compares the
report with its fixed config nonce 4cff7f53..., not the sample's; so pha.gpu.nvgpu_helper runs its
checks one by one with the nonce we give (see docs/gpu.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pha.gpu.errors import GpuEvidenceError
from pha.gpu.nvgpu import nvidia_verify
from pha.gpu.spdm import REQUEST_LENGTH

from . import gpu_data as d
from .test_verify import _real

OFFLINE_STEPS = [
    "parse",
    "device_chain",
    "report",
    "driver_rim_parse",
    "driver_rim_schema",
    "vbios_rim_parse",
    "vbios_rim_schema",
    "measurements",
]


def _steps(report: Path, nonce: bytes = d.SAMPLE_NONCE) -> dict[str, dict]:
    steps = nvidia_verify(report, d.CHAIN, d.DRIVER_RIM, d.VBIOS_RIM, nonce)
    assert list(steps) == OFFLINE_STEPS
    return steps


def _nvidia(report: Path, nonce: bytes = d.SAMPLE_NONCE) -> dict[str, bool]:
    return {name: step["ok"] for name, step in _steps(report, nonce).items()}


def _ours_code(report: bytes, nonce: bytes = d.SAMPLE_NONCE, measurements: bool = False) -> str | None:
    try:
        _real(report=report, expected_nonce=nonce, check_rim_measurements=measurements)
    except GpuEvidenceError as error:
        return error.code
    return None


def test_both_accept_the_sample_report_and_both_find_the_rims_do_not_match() -> None:
    nvidia = _nvidia(d.REPORT)
    assert nvidia == dict.fromkeys(OFFLINE_STEPS, True) | {"measurements": False}
    assert _ours_code(d.report()) is None
    assert _ours_code(d.report(), measurements=True) == "measurement"


def test_both_name_the_same_mismatched_measurements() -> None:
    nvidia = _steps(d.REPORT)["measurements"]["mismatched"]
    expected = sorted(
        [[i, "Driver"] for i in d.SAMPLE_DRIVER_MISMATCH] + [[i, "Firmware"] for i in d.SAMPLE_VBIOS_MISMATCH]
    )
    assert sorted(nvidia) == expected
    with pytest.raises(GpuEvidenceError) as info:
        _real(check_rim_measurements=True)
    driver = ", ".join(map(str, d.SAMPLE_DRIVER_MISMATCH))
    vbios = ", ".join(map(str, d.SAMPLE_VBIOS_MISMATCH))
    assert str(info.value).endswith(f"(driver RIM {driver}; vbios RIM {vbios})")


def test_both_refuse_a_tampered_copy(tmp_path: Path) -> None:
    raw = bytearray(d.report())
    raw[REQUEST_LENGTH + 8 + 7] ^= 1  # a measurement byte
    bad = tmp_path / "tampered.txt"
    bad.write_text(bytes(raw).hex())
    nvidia = _nvidia(bad)
    assert nvidia["parse"] and nvidia["device_chain"] and not nvidia["report"]
    assert _ours_code(bytes(raw)) == "signature"


def test_both_refuse_a_wrong_nonce() -> None:
    assert not _nvidia(d.REPORT, d.NVIDIA_TEST_NONCE)["report"]
    assert _ours_code(d.report(), d.NVIDIA_TEST_NONCE) == "nonce"


@pytest.mark.parametrize("rim", [d.DRIVER_RIM, d.VBIOS_RIM])
def test_signxml_via_the_helper_accepts_nvidias_rims(rim: Path) -> None:
    from pha.gpu.rim import load_rim

    loaded = load_rim(rim, d.cert(d.RIM_ROOT), d.WHILE_RIMS_VALID, None)
    assert loaded.golden
