"""Off-chain verification with dcap-qvl against stored collateral and an explicit time."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pha.quote.errors import QuoteError, VerificationError
from pha.quote.layout import ParsedQuote, parse_quote
from pha.quote.tcb import TcbStatus


@dataclass(frozen=True)
class Verdict:
    """What dcap-qvl concluded about a quote at time `verified_at`."""

    parsed: ParsedQuote
    status: TcbStatus
    advisory_ids: list[str]
    tcb_date: int
    """Earliest `tcbDate` of the matched platform and QE TCB levels (Intel's date for that level)."""
    verified_at: int
    collateral_expires_at: int
    """Earliest expiry (nextUpdate) among the collateral used: the verdict is void after it."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.name,
            "status_code": int(self.status),
            "advisory_ids": self.advisory_ids,
            "tcb_date": self.tcb_date,
            "verified_at": self.verified_at,
            "collateral_expires_at": self.collateral_expires_at,
            "measurement_id": "0x" + self.parsed.measurement_id.hex(),
            "quote_hash": "0x" + self.parsed.quote_hash.hex(),
        }


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def load_collateral_json(path: Path) -> str:
    """Read a collateral JSON file (the form `dcap_qvl.QuoteCollateralV3.from_json` reads)."""
    try:
        text = path.read_text()
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise QuoteError(f"cannot read collateral {path}: {error}") from None
    if not isinstance(data, dict) or "tcb_info" not in data or "qe_identity" not in data:
        raise QuoteError(f"{path} is not DCAP collateral JSON (no tcb_info / qe_identity)")
    return text


def collateral_dates(collateral_json: str) -> dict[str, tuple[int, int | None]]:
    """{part: (issued, next update)} for TCB info, QE identity and, when readable, the PCK and root
    CA CRLs (Unix seconds; a CRL's next update may be absent)."""
    try:
        data = json.loads(collateral_json)
        tcb = json.loads(data["tcb_info"])
        qe = json.loads(data["qe_identity"])
        dates: dict[str, tuple[int, int | None]] = {
            "TCB info": (_ts(tcb["issueDate"]), _ts(tcb["nextUpdate"])),
            "QE identity": (_ts(qe["issueDate"]), _ts(qe["nextUpdate"])),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise QuoteError(f"collateral has no readable issue/next-update dates: {error}") from None
    try:
        from cryptography import x509

        for key, name in (("pck_crl", "PCK CRL"), ("root_ca_crl", "root CA CRL")):
            raw = bytes.fromhex(data[key]) if isinstance(data[key], str) else bytes(data[key])
            crl = x509.load_der_x509_crl(raw)
            upcoming = crl.next_update_utc
            dates[name] = (int(crl.last_update_utc.timestamp()), upcoming and int(upcoming.timestamp()))
    except (ImportError, KeyError, ValueError):
        pass
    return dates


def collateral_window(collateral_json: str) -> tuple[int, int]:
    """(not_before, not_after): the latest issue date and earliest next update of TCB info, QE
    identity and both CRLs. Verification is only meaningful for a time inside this window."""
    dates = collateral_dates(collateral_json).values()
    return max(issued for issued, _ in dates), min(end for _, end in dates if end is not None)


# Intel reissues these often (the PCS serves fresh ones daily); the root CA CRL only about yearly, so
# its age says nothing and it is left out of the freshness rule (its next update still bounds it).
FRESHNESS_PARTS = ("TCB info", "QE identity", "PCK CRL")


def oldest_collateral(collateral_json: str) -> tuple[str, int]:
    """(part, issued): the least recently issued of the collateral parts that must be fresh."""
    dates = collateral_dates(collateral_json)
    name = min((n for n in FRESHNESS_PARTS if n in dates), key=lambda n: dates[n][0])
    return name, dates[name][0]


def check_collateral_age(collateral_json: str, now: int, max_age: int) -> None:
    """Refuse collateral one of whose parts (TCB info, QE identity, PCK CRL) was issued more than
    `max_age` seconds before `now`: old collateral may predate a TCB recovery or a revocation."""
    name, issued = oldest_collateral(collateral_json)
    age = now - issued
    if age > max_age:
        raise VerificationError(
            f"collateral too old: its {name} was issued {datetime.fromtimestamp(issued, UTC):%Y-%m-%d %H:%M} "
            f"UTC, {age / 86400:.1f} days before the verification time (at most {max_age / 86400:g} "
            "days allowed): fetch fresh collateral"
        )


def verify_quote(raw: bytes, collateral_json: str, now: int | None = None) -> Verdict:
    """Verify with dcap-qvl (signature chain, QE identity, TCB) at `now` (default: the clock).

    Raises QuoteFormatError if the bytes are not a quote our contracts accept, VerificationError
    if dcap-qvl refuses it (including a `now` outside the collateral's validity window).
    """
    import dcap_qvl

    parsed = parse_quote(raw)
    now = int(time.time()) if now is None else int(now)
    try:
        collateral = dcap_qvl.QuoteCollateralV3.from_json(collateral_json)
    except (ValueError, TypeError) as error:
        raise QuoteError(f"collateral is not valid: {error}") from None
    try:
        claims = dcap_qvl.QuoteVerifier().verify_with_policy(
            bytes(raw), collateral, now, dcap_qvl.QuotePolicy.claims_only(now)
        )
        report = dcap_qvl.verify(bytes(raw), collateral, now)
    except (ValueError, RuntimeError) as error:
        raise VerificationError(f"dcap-qvl refused the quote: {error}") from None
    data = json.loads(claims.to_json())
    status = TcbStatus.from_name(report.status)
    dates = [
        _ts(level["tcbDate"])
        for level in (data.get("platform", {}).get("tcb_level"), data.get("qe", {}).get("tcb_level"))
        if isinstance(level, dict) and level.get("tcbDate")
    ]
    expiries = [
        int(data[k]) for k in ("earliest_expiration_date", "qe_iden_earliest_expiration_date") if data.get(k)
    ]
    _, window_end = collateral_window(collateral_json)
    return Verdict(
        parsed=parsed,
        status=status,
        advisory_ids=sorted(set(report.advisory_ids)),
        tcb_date=min(dates) if dates else 0,
        verified_at=now,
        collateral_expires_at=min([*expiries, window_end]),
    )
