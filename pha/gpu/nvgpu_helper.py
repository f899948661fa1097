"""Runs INSIDE the nv-local-gpu-verifier virtualenv (.build/nvgpu), never imported by `pha`.

Its pins (cryptography 43, pyOpenSSL 24, signxml 3.2) clash with Ape's, so `pha.gpu.nvgpu` calls
this file as a subprocess. It imports nothing from `pha`. Two commands, each prints one JSON
object on stdout:

  xmldsig RIM CERT      verify the RIM's enveloped XML signature with the given signer
                        certificate (PEM) through signxml; print the signed XML it covers.
                        The signer's chain and dates are checked by the caller (pha.gpu.certs).
  nvidia REPORT CHAIN DRIVER_RIM VBIOS_RIM NONCE_HEX
                        run NVIDIA's own checks on the evidence, step by step (the ones that
                        work offline), and report each step's outcome.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any


def _xmldsig(rim_path: str, cert_path: str) -> dict[str, Any]:
    from lxml import etree
    from signxml import XMLVerifier

    with open(cert_path) as f:
        cert = f.read()
    with open(rim_path, "rb") as f:
        root = etree.fromstring(f.read(), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    try:
        result = XMLVerifier().verify(root, x509_cert=cert)
    except Exception as error:  # signxml raises several types; the caller gets the message
        return {"ok": False, "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    signed = etree.tostring(result.signed_xml, method="c14n")
    return {"ok": True, "signed_xml": base64.b64encode(signed).decode()}


def _step(steps: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    try:
        value = fn()
    except Exception as error:
        steps[name] = {"ok": False, "error": f"{type(error).__name__}: {str(error).strip()}".splitlines()[0]}
        return None
    steps[name] = {"ok": value is not False}
    return value


@contextlib.contextmanager
def _captured_info_log() -> Iterator[list[str]]:
    """The messages NVIDIA's verifier logs to 'gpu-verifier-info' meanwhile (nothing reaches stdout)."""
    import logging

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger("gpu-verifier-info")
    saved = (log.handlers[:], log.level, log.propagate)
    log.handlers[:] = [Collect()]
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.disable(logging.NOTSET)
    try:
        yield lines
    finally:
        logging.disable(logging.CRITICAL)
        log.handlers[:], log.level, log.propagate = saved


def _nvidia(
    report_path: str, chain_path: str, driver_rim: str, vbios_rim: str, nonce_hex: str
) -> dict[str, Any]:
    from verifier.attestation import AttestationReport
    from verifier.cc_admin_utils import CcAdminUtils
    from verifier.config import HopperSettings
    from verifier.nvml.nvmlHandlerTest import NvmlHandlerTest
    from verifier.rim import RIM
    from verifier.utils import convert_string_to_blob, format_vbios_version
    from verifier.verifier import Verifier

    settings = HopperSettings()
    with open(report_path) as f:
        data = convert_string_to_blob(f.read())
    with open(chain_path, "rb") as f:
        chain = NvmlHandlerTest.extract_cert_chain(None, f.read())
    steps = {}
    report = _step(steps, "parse", lambda: AttestationReport(data, settings))
    if report is None:
        return steps
    opaque = report.get_response_message().get_opaque_data()
    driver_version = opaque.get_data("OPAQUE_FIELD_ID_DRIVER_VERSION").decode().rstrip("\0")
    vbios_version = format_vbios_version(opaque.get_data("OPAQUE_FIELD_ID_VBIOS_VERSION")).lower()
    _step(
        steps,
        "device_chain",
        lambda: CcAdminUtils.verify_gpu_certificate_chain(
            chain, settings, opaque.get_data("OPAQUE_FIELD_ID_FWID").hex()
        )[0],
    )
    _step(
        steps,
        "report",  # nonce, driver/VBIOS versions (taken from the report itself), ECDSA signature
        lambda: CcAdminUtils.verify_attestation_report(
            report, chain[0], bytes.fromhex(nonce_hex), driver_version, vbios_version, settings
        ),
    )
    rims = {}
    for name, path in (("driver", driver_rim), ("vbios", vbios_rim)):
        rim = _step(
            steps, f"{name}_rim_parse", lambda n=name, p=path: RIM(rim_name=n, settings=settings, rim_path=p)
        )
        if rim is not None:
            _step(steps, f"{name}_rim_schema", rim.validate_schema)
            rims[name] = rim
    if len(rims) == 2:
        verifier = Verifier(report, rims["driver"], rims["vbios"], settings)
        with _captured_info_log() as lines:
            _step(steps, "measurements", lambda: verifier.verify(settings))
        # NVIDIA logs each mismatch as "<index> [Driver|Firmware]" (index from 0, as in the RIMs)
        found = (re.match(r"^\s*(\d+) \[(Driver|Firmware)\]$", line) for line in lines)
        steps["measurements"]["mismatched"] = [[int(m[1]), m[2]] for m in found if m]
    return steps


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.CRITICAL)
    if argv[:1] == ["xmldsig"] and len(argv) == 3:
        out = _xmldsig(*argv[1:])
    elif argv[:1] == ["nvidia"] and len(argv) == 6:
        out = _nvidia(*argv[1:])
    else:
        out = {"ok": False, "error": "usage: xmldsig RIM CERT | nvidia REPORT CHAIN DRIVER VBIOS NONCE"}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0 if "error" not in out else 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
