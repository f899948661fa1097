"""Attester: verify a quote with dcap-qvl and sign the committee statement for it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address

from pha.quote.committee import Statement, sign_statement
from pha.quote.errors import QuoteError, VerificationError
from pha.quote.verify import Verdict, verify_quote

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 24 * 3600
# How far apart two attesters' verification times may be for one to co-sign the other's statement.
DEFAULT_COSIGN_TOLERANCE = 10 * 60


@dataclass(frozen=True)
class SignedStatement:
    """One attester's signature over one statement."""

    statement: Statement
    attester: str
    signature: bytes
    chain_id: int
    verifier: str
    signed_part: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement.as_json(),
            "attester": self.attester,
            "signature": "0x" + self.signature.hex(),
            "chainId": self.chain_id,
            "verifier": self.verifier,
            "quote": "0x" + self.signed_part.hex(),
        }


class Attester:
    """Holds one attester key, bound to one CommitteeQuoteVerifier on one chain."""

    def __init__(
        self, private_key: bytes | str, chain_id: int, verifier: str, lifetime: int = DEFAULT_LIFETIME
    ) -> None:
        if lifetime <= 0:
            raise QuoteError("statement lifetime must be positive")
        self._key = private_key
        self.address = Account.from_key(private_key).address
        self.chain_id = chain_id
        self.verifier = to_checksum_address(verifier)
        self.lifetime = lifetime

    def statement_for(self, verdict: Verdict, compose_hash: bytes = bytes(32)) -> Statement:
        """The statement for a verdict: expires at the earlier of lifetime and collateral expiry."""
        expires = min(verdict.verified_at + self.lifetime, verdict.collateral_expires_at)
        if expires <= verdict.verified_at:
            raise QuoteError("the collateral expires before the statement could be used")
        return Statement(
            quote_hash=verdict.parsed.quote_hash,
            tcb_status=verdict.status,
            advisory_ids=list(verdict.advisory_ids),
            tcb_date=verdict.tcb_date,
            verified_at=verdict.verified_at,
            expires_at=expires,
            compose_hash=compose_hash,
        )

    def attest(self, raw: bytes, collateral_json: str, now: int | None = None) -> SignedStatement:
        """Verify `raw` with dcap-qvl at `now` and sign the resulting statement."""
        verdict = verify_quote(raw, collateral_json, now)
        statement = self.statement_for(verdict)
        signature = sign_statement(statement, self._key, self.chain_id, self.verifier)
        log.info(
            "attested quote %s: %s, %d advisories",
            statement.quote_hash.hex()[:16],
            statement.tcb_status.name,
            len(statement.advisory_ids),
        )
        return SignedStatement(
            statement, self.address, signature, self.chain_id, self.verifier, verdict.parsed.signed_part
        )

    def cosign(
        self,
        raw: bytes,
        collateral_json: str,
        proposed: Statement,
        now: int | None = None,
        tolerance: int = DEFAULT_COSIGN_TOLERANCE,
    ) -> SignedStatement:
        """Verify `raw` independently and sign `proposed` (another attester's statement) only if it
        says what this attester's own verdict says.

        An M-of-N committee needs M signatures over one identical statement; each attester still
        verifies the quote itself and refuses a statement that differs from its verdict in the quote,
        TCB status, advisories or TCB date, that was made more than `tolerance` seconds from its own
        verification, or that lives longer than this attester's lifetime or the collateral.
        """
        verdict = verify_quote(raw, collateral_json, now)
        mine = self.statement_for(verdict)
        problems = []
        if proposed.quote_hash != mine.quote_hash:
            problems.append("it names another quote")
        if proposed.tcb_status != mine.tcb_status:
            problems.append(f"TCB status {proposed.tcb_status.name}, mine is {mine.tcb_status.name}")
        if sorted(proposed.advisory_ids) != sorted(mine.advisory_ids):
            problems.append("advisory ids differ")
        if proposed.tcb_date != mine.tcb_date:
            problems.append("TCB date differs")
        if proposed.compose_hash != bytes(32):
            problems.append("this attester does not vouch for compose hashes")
        if abs(proposed.verified_at - mine.verified_at) > tolerance:
            problems.append(f"verified {abs(proposed.verified_at - mine.verified_at)} s from my verification")
        if proposed.expires_at > min(proposed.verified_at + self.lifetime, verdict.collateral_expires_at):
            problems.append("it expires later than my lifetime or the collateral allow")
        if problems:
            raise VerificationError("refusing to co-sign: " + "; ".join(problems))
        signature = sign_statement(proposed, self._key, self.chain_id, self.verifier)
        log.info("co-signed statement for quote %s", proposed.quote_hash.hex()[:16])
        return SignedStatement(
            proposed, self.address, signature, self.chain_id, self.verifier, verdict.parsed.signed_part
        )
