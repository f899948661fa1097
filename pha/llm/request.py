"""A chat job's request: the subset of OpenAI's chat-completions request that a chat worker runs.

One validator, `parse_chat_request`, is run by the client before it encrypts and posts, and by the
worker after it decrypts and before it calls the engine; both refuse with the same one-line
message. What it takes:

    model        string, 1..128 characters: the name of the model the worker serves, or "default"
    messages     1..32 objects {"role": "system" | "user" | "assistant", "content": string}
    max_tokens   integer 1..512 (default 128): the most tokens the answer may have
    temperature  number 0..2 (default 1)
    seed         integer 0..2^32-1 (optional): the engine's sampling seed

and nothing else (no streaming, tools or n>1). The whole request, as canonical JSON, is at most
MAX_REQUEST_BYTES so that once encrypted it fits the escrow's input limit. The normalised form
(defaults filled in, fields in a fixed order) is what the request hash commits to.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from pha.envelope import canonical_json

FIELDS = ("model", "messages", "max_tokens", "temperature", "seed")
ROLES = ("system", "user", "assistant")
DEFAULT_MODEL = "default"
"""Asks for whatever model the worker serves (the signed result still names it)."""
MAX_MODEL_CHARS = 128
MAX_MESSAGES = 32
MAX_TOKENS = 512
DEFAULT_MAX_TOKENS = 128
MAX_TEMPERATURE = 2.0
DEFAULT_TEMPERATURE = 1.0
MAX_SEED = 2**32 - 1
MAX_REQUEST_BYTES = 7_680
"""Canonical JSON bytes of the request: with the input envelope around it and its encryption
(about 200 bytes) it stays under JobEscrow.MAX_INPUT_BYTES (8,192)."""

EXAMPLE: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "messages": [{"role": "user", "content": "Hello"}],
    "max_tokens": 32,
}


class ChatRequestError(ValueError):
    """A request a chat worker refuses; the message is one line a user can act on."""


@dataclass(frozen=True)
class ChatRequest:
    """A validated, normalised chat request."""

    model: str
    messages: tuple[tuple[str, str], ...]
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The normalised request (what is encrypted, sent to the engine, and hashed)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": role, "content": content} for role, content in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        return body

    @property
    def request_hash(self) -> bytes:
        """sha256 of the normalised request's canonical JSON."""
        return hashlib.sha256(canonical_json(self.as_json())).digest()


def _refuse(problem: str) -> ChatRequestError:
    return ChatRequestError(f"chat request: {problem}; e.g. {json.dumps(EXAMPLE, separators=(',', ':'))}")


def _integer(data: dict[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = data.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _messages(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_MESSAGES:
        count = f"{len(value)} of them" if isinstance(value, list) else type(value).__name__
        raise _refuse(f"messages must be a list of 1 to {MAX_MESSAGES} messages, got {count}")
    out = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            keys = sorted(message) if isinstance(message, dict) else type(message).__name__
            raise _refuse(f'messages[{index}] must be {{"role", "content"}} and nothing else, got {keys}')
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise _refuse(f"messages[{index}].role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise _refuse(f"messages[{index}].content must be a string, got {type(content).__name__}")
        out.append((role, content))
    return tuple(out)


def parse_chat_request(data: Any) -> ChatRequest:
    """The request in `data` (a JSON value), checked and normalised; ChatRequestError otherwise."""
    if not isinstance(data, dict):
        raise _refuse(f"must be a JSON object, got {type(data).__name__}")
    extra = sorted(set(data) - set(FIELDS))
    if extra:
        raise _refuse(f"unknown fields {', '.join(extra)} (a chat job takes {', '.join(FIELDS)})")
    try:
        size = len(canonical_json(data))
    except (TypeError, ValueError) as error:
        raise _refuse(f"not plain JSON: {error}") from None
    if size > MAX_REQUEST_BYTES:
        raise _refuse(f"{size} bytes, at most {MAX_REQUEST_BYTES} (the escrow's input limit, encrypted)")
    model = data.get("model")
    if not isinstance(model, str) or not 1 <= len(model) <= MAX_MODEL_CHARS:
        raise _refuse(f"model must be a string of 1 to {MAX_MODEL_CHARS} characters, got {model!r}")
    if "messages" not in data:
        raise _refuse("messages is missing")
    messages = _messages(data["messages"])
    max_tokens = _integer(data, "max_tokens", 1, MAX_TOKENS, DEFAULT_MAX_TOKENS)
    temperature = data.get("temperature", DEFAULT_TEMPERATURE)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not math.isfinite(temperature)
        or not 0 <= temperature <= MAX_TEMPERATURE
    ):
        raise _refuse(f"temperature must be a number from 0 to {MAX_TEMPERATURE:g}, got {temperature!r}")
    seed = _integer(data, "seed", 0, MAX_SEED, None)
    assert max_tokens is not None
    return ChatRequest(model, messages, max_tokens, float(temperature), seed)


def chat_request_problem(data: Any) -> str | None:
    """Why a chat worker refuses `data`, or None when it takes it."""
    try:
        parse_chat_request(data)
    except ChatRequestError as error:
        return str(error)
    return None
