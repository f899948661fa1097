"""Errors of the GPU-evidence tooling: each carries a one-line message and a stable `code`."""

from __future__ import annotations

from pha.quote.errors import QuoteError


class GpuEvidenceError(QuoteError):
    """GPU evidence could not be parsed or was refused.

    `code` names the failed check (e.g. "nonce", "signature", "chain", "expired", "revoked",
    "measurement", "rim-signature") so tests and callers can tell the reasons apart.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
