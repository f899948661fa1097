"""What a job's input must look like: the format of each built-in handler, defined once, and the
one validator that `ape run client post` / `status` and the worker both run.

Plaintext input bytes are the envelope of `pha.envelope` (`{"handler": name, "data": ...,
"reply_to"?}`); each built-in handler takes a `data` of the format below. A mistake raises
`JobInputError` whose message is one line: what is wrong, what was expected, and an example
input to post instead. The worker answers a refused job with exactly that message, so a client
that checks before posting sees what the worker would say.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pha import envelope
from pha.envelope import EnvelopeError, JobInput
from pha.llm.request import EXAMPLE as CHAT_EXAMPLE
from pha.llm.request import chat_request_problem


class JobInputError(ValueError):
    """Input a worker refuses; the message is one line a user can act on."""


@dataclass(frozen=True)
class InputFormat:
    """What a handler takes as `data`: said in words, checked by `accepts`, shown by `example`."""

    handler: str
    takes: str
    example: Any
    accepts: Callable[[Any], bool]
    explain: Callable[[Any], str | None] | None = None
    """For formats with many rules: why `data` is refused (its own one-line message), or None."""

    def example_input(self) -> str:
        """A whole input for this handler, as a user types it after `--input`."""
        return compact({"handler": self.handler, "data": self.example})


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_text(data: Any) -> bool:
    return isinstance(data, str) or (isinstance(data, dict) and isinstance(data.get("text"), str))


def _any_json(data: Any) -> bool:
    return True  # parsed from JSON, so it is a JSON value


TEXT = 'a string or {"text": string}'

FORMATS: dict[str, InputFormat] = {
    f.handler: f
    for f in (
        InputFormat("echo", "any JSON value (returned unchanged)", {"any": ["json", 1]}, _any_json),
        InputFormat("sentiment", TEXT, "I love this", _is_text),
        InputFormat("sha256", TEXT, "hello", _is_text),
        InputFormat("wordcount", TEXT, {"text": "one two\nthree"}, _is_text),
        InputFormat(
            "chat",
            "an OpenAI chat-completions request (pha.llm.request)",
            CHAT_EXAMPLE,
            lambda data: chat_request_problem(data) is None,
            chat_request_problem,
        ),
    )
}
"""The built-in handlers' input formats (worker/handlers.py implements them; `chat` is
worker/chat.py, present on workers configured with an engine)."""

ENVELOPE = '{"handler": name, "data": ...} (UTF-8 JSON)'
EXAMPLE = FORMATS["echo"].example_input()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object with keys " + ", ".join(sorted(map(str, value))) if value else "an empty object"
    return type(value).__name__


def check_data(handler: str, data: Any, formats: Mapping[str, InputFormat] = FORMATS) -> None:
    """JobInputError unless `data` has the format of `handler` (handlers without one pass)."""
    fmt = formats.get(handler)
    problem = fmt.explain(data) if fmt is not None and fmt.explain is not None else None
    if problem:
        raise JobInputError(problem)
    if fmt is not None and not fmt.accepts(data):
        raise JobInputError(
            f'handler {handler!r} takes {fmt.takes} as "data", got {_kind(data)}; e.g. {fmt.example_input()}'
        )


def text_of(handler: str, data: Any) -> str:
    """The text a text handler works on (`check_data` first: the same message when it is not)."""
    check_data(handler, data)
    return data if isinstance(data, str) else data["text"]


def parse_job_input(
    plaintext: bytes,
    handlers: Collection[str] | None = FORMATS.keys(),
    formats: Mapping[str, InputFormat] = FORMATS,
) -> JobInput:
    """The job input in `plaintext`, checked: the envelope, the handler among `handlers` (None:
    any name), its data in the handler's format (when `formats` has one). JobInputError otherwise."""
    try:
        job = envelope.parse_input(plaintext)
    except EnvelopeError as error:
        raise JobInputError(f"bad input: {error}; expected {ENVELOPE}, e.g. {EXAMPLE}") from None
    if handlers is not None and job.handler not in handlers:
        known = ", ".join(sorted(handlers))
        raise JobInputError(f"unknown handler {job.handler!r} (known: {known}); e.g. {EXAMPLE}")
    check_data(job.handler, job.data, formats)
    return job


def input_problem(raw: bytes) -> str | None:
    """Why a worker with the built-in handlers refuses these posted input bytes, or None when it
    would take them or cannot be judged here (encrypted to the worker's key)."""
    if envelope.is_envelope(raw):
        return None
    try:
        parse_job_input(raw)
    except JobInputError as error:
        return str(error)
    return None
