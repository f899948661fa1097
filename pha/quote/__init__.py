"""Intel DCAP quote tooling: parse (as the contracts do), measurement ids, worker bindings,
dcap-qvl verification, committee statements, simulated quotes for the development verifier.

CLI: `pha-quote` (pha.quote.cli). See docs/attestation.md.
"""

from pha.quote.binding import report_data, worker_binding
from pha.quote.committee import Statement, encode_evidence, sign_statement, statement_digest
from pha.quote.dev import (
    DEV_ADDRESS,
    DEV_PRIVATE_KEY,
    build_sgx_quote_body,
    build_tdx_quote_body,
    sign_simulated_quote,
    simulated_sgx_quote,
    simulated_tdx_quote,
)
from pha.quote.errors import QuoteError, QuoteFormatError, VerificationError
from pha.quote.layout import ParsedQuote, TeeType, parse_quote
from pha.quote.measurement import measurement_id, sgx_measurement_id, tdx_measurement_id
from pha.quote.tcb import TcbStatus, advisory_id_hash

__all__ = [
    "DEV_ADDRESS",
    "DEV_PRIVATE_KEY",
    "ParsedQuote",
    "QuoteError",
    "QuoteFormatError",
    "Statement",
    "TcbStatus",
    "TeeType",
    "VerificationError",
    "advisory_id_hash",
    "build_sgx_quote_body",
    "build_tdx_quote_body",
    "encode_evidence",
    "measurement_id",
    "parse_quote",
    "report_data",
    "sgx_measurement_id",
    "sign_simulated_quote",
    "sign_statement",
    "simulated_sgx_quote",
    "simulated_tdx_quote",
    "statement_digest",
    "tdx_measurement_id",
    "worker_binding",
]
