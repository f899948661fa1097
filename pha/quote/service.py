"""The attester's HTTP service (aiohttp).

    POST /attest   {"quote": "0x..." (full quote), "collateral": {...} (optional),
                    "event_log": [...] or "[...]" (optional: dstack's RTMR event log),
                    "app_compose": "..." (optional, with event_log: the app-compose.json text),
                    "statement": {...} (optional: co-sign another attester's statement)}
                   -> 200 {"statement": {...}, "attester", "signature", "chainId", "verifier", "quote",
                           "app": {...} (what the replayed log proves) or null}
                   -> 400 {"error": "one line"} for bad input (an event log that does not replay
                      to the quote included), 422 when dcap-qvl refuses the quote or the
                      collateral is older than the attester's maximum age
    POST /attest-gpu {"evidence": {"report": "hex", "certs": "PEM"} (pha.gpu.evidence),
                    "statement": {...} (optional: co-sign another attester's GPU statement)}
                   -> 200 {"statement": {...} (pha.gpu.statement.GpuStatement), "attester", "signature"}
                   -> 400 malformed input, 422 when pha.gpu refuses the evidence (one line)
    GET  /health   -> 200 {"attester", "chainId", "verifier"}

Collateral: the request's, else the service's configured provider (a file, or a PCCS fetch). The
verification time is always the service's clock, never the client's; collateral is signed by
Intel and checked by dcap-qvl, so client-supplied collateral cannot forge a verdict.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pha.quote.attester import Attester
from pha.quote.committee import Statement
from pha.quote.errors import QuoteError, QuoteFormatError, VerificationError
from pha.quote.io import QuoteInputError, decode_quote

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
CollateralProvider = Callable[[bytes], Awaitable[str]]
Clock = Callable[[], int]


def pccs_provider(pccs_url: str) -> CollateralProvider:
    """Fetch collateral for a quote from a PCCS / Intel PCS with dcap-qvl."""

    async def provide(raw: bytes) -> str:
        import dcap_qvl

        collateral = await dcap_qvl.get_collateral(pccs_url, raw)
        return str(collateral.to_json())

    return provide


def make_app(
    attester: Attester,
    provider: CollateralProvider | None = None,
    clock: Clock | None = None,
    gpu_trust: Any = None,
) -> web.Application:
    """Build the aiohttp application (`gpu_trust`: pha.gpu.attest.GpuTrust; default: the NVIDIA
    roots and no RIMs, which verifies simulated evidence on a development chain only)."""
    from pha.gpu.attest import GpuTrust

    app = web.Application(client_max_size=MAX_BODY)
    trust = gpu_trust or GpuTrust()

    async def attest_gpu(request: web.Request) -> web.Response:
        from pha.gpu.errors import GpuEvidenceError
        from pha.gpu.evidence import GpuEvidence
        from pha.gpu.statement import GpuStatement

        try:
            body: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, 'expected {"evidence": {"report": "hex", "certs": "PEM"}}')
        try:
            evidence = GpuEvidence.from_json(body.get("evidence"))
            proposed = None
            if body.get("statement") is not None:
                try:
                    proposed = GpuStatement.from_json(body["statement"])
                except (KeyError, TypeError, ValueError) as error:
                    return _error(400, f"GPU statement is malformed: {error}")
            now = clock() if clock else None
            statement, signature = await asyncio.to_thread(
                attester.attest_gpu, evidence, trust, now, proposed
            )
        except GpuEvidenceError as error:
            return _error(400 if error.code == "format" else 422, str(error))
        except VerificationError as error:
            return _error(422, str(error))
        return web.json_response(
            {
                "statement": statement.as_json(),
                "attester": attester.address,
                "signature": "0x" + signature.hex(),
            }
        )

    async def health(_: web.Request) -> web.Response:
        return web.json_response(
            {"attester": attester.address, "chainId": attester.chain_id, "verifier": attester.verifier}
        )

    async def attest(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("quote"), str):
            return _error(400, 'expected {"quote": "0x..."}')
        try:
            raw = decode_quote(body["quote"].encode())
        except (QuoteInputError, UnicodeEncodeError) as error:
            return _error(400, f"quote: {error}")
        collateral = body.get("collateral")
        try:
            if collateral is None:
                if provider is None:
                    return _error(400, "no collateral given and none configured")
                collateral_json = await provider(raw)
            else:
                collateral_json = collateral if isinstance(collateral, str) else json.dumps(collateral)
            now = clock() if clock else None
            event_log, app_compose = body.get("event_log"), body.get("app_compose")
            if event_log is not None and not isinstance(event_log, str | list):
                return _error(400, "event_log must be dstack's event list (or its JSON text)")
            if app_compose is not None and not isinstance(app_compose, str):
                return _error(400, "app_compose must be the app-compose.json text")
            proposed = body.get("statement")
            if proposed is None:
                signed = await asyncio.to_thread(
                    attester.attest, raw, collateral_json, now, event_log, app_compose
                )
            else:
                statement = _statement(proposed)
                signed = await asyncio.to_thread(
                    attester.cosign,
                    raw,
                    collateral_json,
                    statement,
                    now,
                    event_log=event_log,
                    app_compose=app_compose,
                )
        except QuoteFormatError as error:
            return _error(400, str(error))
        except VerificationError as error:
            return _error(422, str(error))
        except QuoteError as error:
            return _error(400, str(error))
        except ValueError as error:  # collateral fetch problems from dcap-qvl
            return _error(502, f"collateral: {error}")
        return web.json_response(signed.as_json())

    app.router.add_get("/health", health)
    app.router.add_post("/attest", attest)
    app.router.add_post("/attest-gpu", attest_gpu)
    return app


def _statement(data: Any) -> Statement:
    try:
        return Statement.from_json(data)
    except (KeyError, TypeError, ValueError) as error:
        raise QuoteError(f"statement is malformed: {error}") from None


def _error(status: int, message: str) -> web.Response:
    log.info("attest refused (%d): %s", status, message)
    return web.json_response({"error": message}, status=status)
