"""Attester: verify a quote with dcap-qvl and sign the committee statement for it.

Given a dstack event log (and optionally the app compose), the attester also replays the log
against the quote (`pha.quote.eventlog.verify_event_log`) and signs the compose hash it proves; the
statement then yields the app's measurement id on chain. Without a log the compose hash is zero
and the id is the plain TDX one. Collateral older than `max_collateral_age` is refused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address

from pha.quote.committee import Statement, sign_statement
from pha.quote.errors import QuoteError, VerificationError
from pha.quote.eventlog import AppIdentity, parse_event_log, verify_event_log
from pha.quote.verify import Verdict, check_collateral_age, verify_quote

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 24 * 3600
# How far apart two attesters' verification times may be for one to co-sign the other's statement.
DEFAULT_COSIGN_TOLERANCE = 10 * 60
# Collateral issued longer ago than this is refused (Intel's PCS reissues it daily).
DEFAULT_MAX_COLLATERAL_AGE = 7 * 24 * 3600
EventLog = str | bytes | list[Any] | None


@dataclass(frozen=True)
class SignedStatement:
    """One attester's signature over one statement."""

    statement: Statement
    attester: str
    signature: bytes
    chain_id: int
    verifier: str
    signed_part: bytes
    app: AppIdentity | None = None
    """What the replayed event log proved (None: no log given, compose hash zero)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement.as_json(),
            "attester": self.attester,
            "signature": "0x" + self.signature.hex(),
            "chainId": self.chain_id,
            "verifier": self.verifier,
            "quote": "0x" + self.signed_part.hex(),
            "app": None if self.app is None else self.app.as_json(),
        }


class Attester:
    """Holds one attester key, bound to one CommitteeQuoteVerifier on one chain."""

    def __init__(
        self,
        private_key: bytes | str,
        chain_id: int,
        verifier: str,
        lifetime: int = DEFAULT_LIFETIME,
        max_collateral_age: int = DEFAULT_MAX_COLLATERAL_AGE,
    ) -> None:
        if lifetime <= 0:
            raise QuoteError("statement lifetime must be positive")
        if max_collateral_age <= 0:
            raise QuoteError("the maximum collateral age must be positive")
        self._key = private_key
        self.address = Account.from_key(private_key).address
        self.chain_id = chain_id
        self.verifier = to_checksum_address(verifier)
        self.lifetime = lifetime
        self.max_collateral_age = max_collateral_age

    def verify(
        self, raw: bytes, collateral_json: str, now: int | None, event_log: EventLog, app_compose: str | None
    ) -> tuple[Verdict, AppIdentity | None]:
        """dcap-qvl's verdict, the collateral's freshness, and the app the event log proves (if given)."""
        verdict = verify_quote(raw, collateral_json, now)
        check_collateral_age(collateral_json, verdict.verified_at, self.max_collateral_age)
        if event_log is None:
            if app_compose is not None:
                raise QuoteError("an app compose needs the event log that proves it")
            return verdict, None
        return verdict, verify_event_log(parse_event_log(event_log), verdict.parsed, app_compose)

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

    def attest(
        self,
        raw: bytes,
        collateral_json: str,
        now: int | None = None,
        event_log: EventLog = None,
        app_compose: str | None = None,
    ) -> SignedStatement:
        """Verify `raw` with dcap-qvl at `now` (and replay `event_log` against it) and sign the
        resulting statement, with the compose hash the log proves (zero without a log)."""
        verdict, app = self.verify(raw, collateral_json, now, event_log, app_compose)
        statement = self.statement_for(verdict, bytes(32) if app is None else app.compose_hash)
        signature = sign_statement(statement, self._key, self.chain_id, self.verifier)
        log.info(
            "attested quote %s: %s, %d advisories, compose 0x%s",
            statement.quote_hash.hex()[:16],
            statement.tcb_status.name,
            len(statement.advisory_ids),
            statement.compose_hash.hex()[:16],
        )
        return SignedStatement(
            statement, self.address, signature, self.chain_id, self.verifier, verdict.parsed.signed_part, app
        )

    def attest_gpu(
        self,
        evidence: Any,
        trust: Any,
        now: int | None = None,
        proposed: Any = None,
        tolerance: int = DEFAULT_COSIGN_TOLERANCE,
    ) -> tuple[Any, bytes]:
        """Verify GPU evidence (pha.gpu.attest.verify_gpu, at `now`) and sign its GpuStatement, or,
        given another attester's `proposed` statement, co-sign it only if it says what this
        attester's own verdict says. Returns (statement, signature)."""
        from pha.gpu.attest import check_cosign, verify_gpu
        from pha.gpu.statement import sign_statement as sign_gpu

        at = int(time.time()) if now is None else now
        _, mine = verify_gpu(evidence, trust, self.chain_id, at, self.lifetime)
        if proposed is not None:
            check_cosign(mine, proposed, self.lifetime, tolerance)
            mine = proposed
        log.info("attested GPU %s (model %s)", mine.device_id.hex()[:16], mine.model.rstrip(b"\0").decode())
        return mine, sign_gpu(mine, self._key, self.chain_id, self.verifier)

    def cosign(
        self,
        raw: bytes,
        collateral_json: str,
        proposed: Statement,
        now: int | None = None,
        tolerance: int = DEFAULT_COSIGN_TOLERANCE,
        event_log: EventLog = None,
        app_compose: str | None = None,
    ) -> SignedStatement:
        """Verify `raw` independently and sign `proposed` (another attester's statement) only if it
        says what this attester's own verdict says.

        An M-of-N committee needs M signatures over one identical statement; each attester still
        verifies the quote itself and refuses a statement that differs from its verdict in the quote,
        TCB status, advisories or TCB date, whose compose hash is not the one its own replay of
        `event_log` proves (zero without a log), that was made more than `tolerance` seconds from
        its own verification, or that lives longer than this attester's lifetime or the collateral.
        """
        verdict, app = self.verify(raw, collateral_json, now, event_log, app_compose)
        mine = self.statement_for(verdict, bytes(32) if app is None else app.compose_hash)
        problems = []
        if proposed.quote_hash != mine.quote_hash:
            problems.append("it names another quote")
        if proposed.tcb_status != mine.tcb_status:
            problems.append(f"TCB status {proposed.tcb_status.name}, mine is {mine.tcb_status.name}")
        if sorted(proposed.advisory_ids) != sorted(mine.advisory_ids):
            problems.append("advisory ids differ")
        if proposed.tcb_date != mine.tcb_date:
            problems.append("TCB date differs")
        if proposed.compose_hash != mine.compose_hash:
            problems.append(
                f"compose hash 0x{proposed.compose_hash.hex()} is not the one my replay of the event log "
                f"proves (0x{mine.compose_hash.hex()})"
                if app is not None
                else "it names a compose hash but no event log was given to prove it"
            )
        if abs(proposed.verified_at - mine.verified_at) > tolerance:
            problems.append(f"verified {abs(proposed.verified_at - mine.verified_at)} s from my verification")
        if proposed.expires_at > min(proposed.verified_at + self.lifetime, verdict.collateral_expires_at):
            problems.append("it expires later than my lifetime or the collateral allow")
        if problems:
            raise VerificationError("refusing to co-sign: " + "; ".join(problems))
        signature = sign_statement(proposed, self._key, self.chain_id, self.verifier)
        log.info("co-signed statement for quote %s", proposed.quote_hash.hex()[:16])
        return SignedStatement(
            proposed, self.address, signature, self.chain_id, self.verifier, verdict.parsed.signed_part, app
        )
