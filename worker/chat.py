"""The `chat` handler: an OpenAI chat-completions request run by an inference engine in the same TEE.

The request is checked by pha.llm.request (the client's own check) and against this worker's
limits, sent to the engine's OpenAI-compatible API (`[chat] engine_url`), and the answer comes
back as a chat result (pha.llm.result) that names the model and its digest and commits to the
request and the response by hash. The worker then signs it like any result (and encrypts it to
the client's `reply_to`).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import httpx

from pha.jobs import JobInputError
from pha.llm.request import DEFAULT_MODEL, ChatRequestError, parse_chat_request
from pha.llm.result import build_chat_result, normalise_response
from worker.settings import ChatSettings

log = logging.getLogger(__name__)


class EngineError(RuntimeError):
    """The engine did not answer (or not with a chat completion): not the client's fault."""


def file_digest(path: Path) -> str:
    """0x-sha256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(1 << 20):
            digest.update(piece)
    return "0x" + digest.hexdigest()


def check_model_file(settings: ChatSettings) -> None:
    """ValueError unless the configured model file exists and hashes to `model_digest`."""
    if settings.model_file is None:
        return
    path = Path(settings.model_file)
    if not path.is_file():
        raise ValueError(f"chat model_file {path} does not exist")
    actual = file_digest(path)
    if actual != settings.model_digest:
        raise ValueError(
            f"chat model_file {path} has sha256 {actual}, not the configured model_digest "
            f"{settings.model_digest}: the worker will not declare a model it does not run"
        )


class ChatHandler:
    """Callable handler(data) -> chat result; one per worker (it holds the engine's connection
    pool). Every worker has one: without `[chat]` settings it checks the request, then refuses
    it (so a client and any worker agree on what "chat" takes)."""

    def __init__(self, settings: ChatSettings | None) -> None:
        self.settings = settings
        self._client = (
            None if settings is None else httpx.Client(base_url=settings.engine_url, timeout=settings.timeout)
        )
        self._engine_checked = False

    def metadata(self) -> dict[str, Any] | None:
        """What /attestation reports about the model (None: no chat model here)."""
        s = self.settings
        if s is None:
            return None
        return {
            "model": s.model,
            "model_digest": s.model_digest,
            "max_tokens": s.max_tokens,
            "model_file_checked": s.model_file is not None,
        }

    def __call__(self, data: Any) -> dict[str, Any]:
        try:
            request = parse_chat_request(data)
        except ChatRequestError as error:
            raise JobInputError(str(error)) from None
        s = self.settings
        if s is None or self._client is None:
            raise JobInputError("chat request: this worker runs no chat model (no [chat] engine configured)")
        if request.model not in (s.model, DEFAULT_MODEL):
            raise JobInputError(
                f"chat request: model {request.model!r} is not served here (this worker serves "
                f"{s.model!r}; ask for it or for {DEFAULT_MODEL!r})"
            )
        if request.max_tokens > s.max_tokens:
            raise JobInputError(
                f"chat request: max_tokens {request.max_tokens} is above this worker's limit {s.max_tokens}"
            )
        self._check_engine_model()
        reply = self._call(
            "POST", "/v1/chat/completions", {**request.as_json(), "model": s.model, "stream": False}
        )
        try:
            raw = reply.json()
            response = normalise_response(raw, s.model)
        except ValueError as error:
            raise EngineError(f"the inference engine's answer is not a chat completion: {error}") from None
        engine_model = raw.get("model")
        if engine_model not in (None, s.model):
            raise EngineError(f"the inference engine serves {engine_model!r}, not the configured {s.model!r}")
        log.info("chat: %d completion tokens", response["usage"]["completion_tokens"])
        return build_chat_result(request, response, s.model, s.model_digest)

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        assert self._client is not None and self.settings is not None
        try:
            reply = self._client.request(method, path, json=body)
        except httpx.TimeoutException:
            raise EngineError(
                f"the inference engine did not answer within {self.settings.timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise EngineError(f"the inference engine is unreachable: {error}") from None
        if reply.status_code != 200:
            raise EngineError(f"the inference engine answered {reply.status_code}: {reply.text[:200]}")
        return reply

    def _check_engine_model(self) -> None:
        """Once: the engine's /v1/models must list the configured model (an engine echoes the
        request's model name in its answers, so those prove nothing)."""
        assert self.settings is not None
        if self._engine_checked:
            return
        try:
            served = [str(m.get("id")) for m in self._call("GET", "/v1/models").json()["data"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EngineError("the inference engine's /v1/models is not an OpenAI model list") from None
        if self.settings.model not in served:
            raise EngineError(
                f"the inference engine serves {', '.join(map(repr, served)) or 'nothing'}, "
                f"not the configured {self.settings.model!r}"
            )
        self._engine_checked = True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
