"""What a chat worker returns, and how its client checks it.

The job's output (before it is encrypted to the client's `reply_to` key) is the worker's usual
`{"handler": "chat", "result": ...}` with

    result = {"model": name, "model_digest": "0x" sha256 of the GGUF file,
              "request_hash": "0x" sha256 of the normalised request (pha.llm.request),
              "response_hash": "0x" sha256 of the canonical JSON of "response",
              "response": an OpenAI chat.completion object (the fields in RESPONSE_FIELDS)}

The worker signs Result(jobId, inputHash, outputHash = keccak256(output bytes)), so the
signature commits to all of it. `check_chat_output` is the client's side: after decrypting, the
request hash must be its own request's, the response hash the response's, and the model the one
it asked for (by name unless it asked for "default"; by digest when it pins one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pha.envelope import canonical_json
from pha.llm.request import DEFAULT_MODEL, ChatRequest

HANDLER = "chat"


class ChatVerificationError(ValueError):
    """A chat result that does not prove what the client needs; the message says what failed."""


def sha256_hex(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def response_hash(response: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(response))


def normalise_digest(value: str) -> str:
    """A model digest as 0x + 64 lowercase hex (accepts "sha256:" or no prefix); ValueError."""
    text = value.strip().lower().removeprefix("sha256:").removeprefix("0x")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"model digest must be 32 bytes of hex (sha256 of the model file), got {value!r}")
    return "0x" + text


def normalise_response(raw: Any, model: str) -> dict[str, Any]:
    """The engine's chat.completion reduced to what is signed: id, object, created, model (the
    served name), choices [{index, message {role, content}, finish_reason}], usage tokens.
    ValueError for an answer that is not a chat completion."""
    if not isinstance(raw, dict) or not isinstance(raw.get("choices"), list) or not raw["choices"]:
        raise ValueError("the engine's answer has no choices")
    choices = []
    for index, choice in enumerate(raw["choices"]):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str | None):
            raise ValueError(f"the engine's choice {index} has no message")
        choices.append(
            {
                "index": index,
                "message": {"role": "assistant", "content": message.get("content") or ""},
                "finish_reason": choice.get("finish_reason") or "stop",
            }
        )
    usage = raw.get("usage") if isinstance(raw.get("usage"), dict) else {}
    counts = {k: int(usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return {
        "id": str(raw.get("id") or ""),
        "object": "chat.completion",
        "created": int(raw.get("created") or 0),
        "model": model,
        "choices": choices,
        "usage": counts,
    }


def build_chat_result(
    request: ChatRequest, response: dict[str, Any], model: str, model_digest: str
) -> dict[str, Any]:
    return {
        "model": model,
        "model_digest": model_digest,
        "request_hash": "0x" + request.request_hash.hex(),
        "response_hash": response_hash(response),
        "response": response,
    }


@dataclass(frozen=True)
class ChatProof:
    """What a checked chat output proves about the answer."""

    model: str
    model_digest: str
    request_hash: str
    response_hash: str
    response: dict[str, Any]

    @property
    def answer(self) -> str:
        return str(self.response["choices"][0]["message"]["content"])


def check_chat_output(plaintext: bytes, request: ChatRequest, model_digest: str | None = None) -> ChatProof:
    """The decrypted output checked against the client's own request (and a pinned model
    digest); ChatVerificationError naming the first thing that does not hold."""
    try:
        message = json.loads(bytes(plaintext).decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ChatVerificationError("the output is not JSON") from None
    if not isinstance(message, dict) or message.get("handler") != HANDLER:
        raise ChatVerificationError("the output is not a chat result")
    result = message.get("result")
    fields = ("model", "model_digest", "request_hash", "response_hash", "response")
    if not isinstance(result, dict) or any(name not in result for name in fields):
        raise ChatVerificationError(f"the chat result lacks one of {', '.join(fields)}")
    response = result["response"]
    if not isinstance(response, dict):
        raise ChatVerificationError("the chat result's response is not an object")
    own = "0x" + request.request_hash.hex()
    if result["request_hash"] != own:
        raise ChatVerificationError(
            f"the result answers another request (its request hash {result['request_hash']}, ours {own})"
        )
    if response_hash(response) != result["response_hash"]:
        raise ChatVerificationError(
            f"the response does not match its signed hash {result['response_hash']} (tampered)"
        )
    if request.model != DEFAULT_MODEL and result["model"] != request.model:
        raise ChatVerificationError(f"answered by model {result['model']!r}, we asked for {request.model!r}")
    if response.get("model") != result["model"]:
        raise ChatVerificationError(
            f"the response names model {response.get('model')!r}, the result {result['model']!r}"
        )
    if model_digest is not None and result["model_digest"] != normalise_digest(model_digest):
        raise ChatVerificationError(
            f"answered by another model: digest {result['model_digest']}, "
            f"expected {normalise_digest(model_digest)}"
        )
    try:
        proof = ChatProof(
            str(result["model"]), str(result["model_digest"]), own, result["response_hash"], response
        )
        proof.answer  # noqa: B018  (the shape a client reads)
    except (KeyError, IndexError, TypeError):
        raise ChatVerificationError("the response has no answer text") from None
    return proof
