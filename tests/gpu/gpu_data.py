"""Paths and loaders for the NVIDIA sample data (tests/data/nvidia, see its PROVENANCE.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from pha.gpu.certs import load_pem_chain
from pha.gpu.spdm import read_report

DATA = Path(__file__).resolve().parents[1] / "data" / "nvidia"
REPORT = DATA / "hopperAttestationReport.txt"
CHAIN = DATA / "hopperCertChain.txt"
DEVICE_ROOT = DATA / "verifier_device_root.pem"
RIM_ROOT = DATA / "verifier_RIM_root.pem"
RIM_DIR = DATA / "rim"
DRIVER_RIM = RIM_DIR / "Driver_RIM_test_no_gpu.swidtag"
VBIOS_RIM = RIM_DIR / "1010_0200_882_96005E0001_test_no_gpu.swidtag"
SAMPLE_NONCE = bytes.fromhex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
NVIDIA_TEST_NONCE = bytes.fromhex("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e")
WHILE_RIMS_VALID = datetime(2024, 6, 1, tzinfo=UTC)  # the RIM signer certificates expired in June 2025
SAMPLE_DRIVER_MISMATCH = [7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40]
SAMPLE_VBIOS_MISMATCH = [1, 2, 3, 9, 11]


def report() -> bytes:
    return read_report(REPORT.read_bytes())


def chain() -> list[x509.Certificate]:
    return load_pem_chain(CHAIN.read_bytes(), "chain")


def cert(path: Path) -> x509.Certificate:
    return load_pem_chain(path.read_bytes(), path.name)[0]
