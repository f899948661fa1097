"""Errors of the quote tooling: each carries a one-line message fit for a CLI."""

from __future__ import annotations


class QuoteError(ValueError):
    """Base class: a quote, collateral or statement could not be used."""


class QuoteFormatError(QuoteError):
    """The bytes are not a quote the on-chain parser accepts.

    `code` is the name of the matching Solidity custom error (e.g. "QuoteParserTooShort"), so
    tests can check that Python and the contract refuse the same bytes for the same reason.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class VerificationError(QuoteError):
    """dcap-qvl refused the quote (bad signature chain, QE identity, collateral outside its window...)."""
