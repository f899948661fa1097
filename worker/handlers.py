"""Job handlers: name -> callable(data) -> JSON-serialisable result.

The built-ins' input formats are defined in `pha.jobs.FORMATS` (the client checks them before
posting; the worker checks them before running a built-in). The `chat` handler (worker/chat.py)
runs requests when the worker is configured with an inference engine (`[chat]`). A handler raises
`HandlerInputError` (or ValueError/TypeError) for data it cannot take: the worker answers 400
with the message. Add handlers with `--handler module:function` (registered
under the function's name) or `--handler name=module:function`.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pha.jobs import FORMATS, InputFormat, JobInputError, text_of
from worker.chat import ChatHandler
from worker.settings import ChatSettings

Handler = Callable[[Any], Any]


class HandlerInputError(JobInputError):
    """The job's data is not what the handler takes."""


def echo(data: Any) -> Any:
    """Returns its data unchanged."""
    return data


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(data: Any) -> dict[str, Any]:
    """VADER sentiment: {"neg", "neu", "pos", "compound", "label"} for a text."""
    scores = _analyzer().polarity_scores(text_of("sentiment", data))
    compound = scores["compound"]
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    return {**{k: float(v) for k, v in scores.items()}, "label": label}


def sha256(data: Any) -> dict[str, str]:
    """SHA-256 of a text's UTF-8 bytes."""
    return {"sha256": "0x" + hashlib.sha256(text_of("sha256", data).encode()).hexdigest()}


def wordcount(data: Any) -> dict[str, int]:
    """Words, characters and lines of a text."""
    text = text_of("wordcount", data)
    return {"words": len(re.findall(r"\S+", text)), "chars": len(text), "lines": len(text.splitlines())}


BUILTIN: dict[str, Handler] = {"echo": echo, "sentiment": sentiment, "sha256": sha256, "wordcount": wordcount}


def formats_of(registry: dict[str, Handler]) -> dict[str, InputFormat]:
    """The input formats that apply in `registry`: a built-in's, unless a custom handler took its name."""

    def ours(name: str) -> bool:
        handler = registry.get(name)
        return isinstance(handler, ChatHandler) if name == "chat" else handler is BUILTIN.get(name)

    return {name: f for name, f in FORMATS.items() if ours(name)}


def load_handler(spec: str) -> tuple[str, Handler]:
    """Import "module:function" or "name=module:function"; ValueError with a clear message."""
    name, _, target = spec.rpartition("=")
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"handler {spec!r} is not module:function or name=module:function")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot load handler {spec!r}: {error}") from None
    if not callable(function):
        raise ValueError(f"handler {spec!r} is not callable")
    return name or attr, function


def build_registry(extra: list[str] | None = None, chat: ChatSettings | None = None) -> dict[str, Handler]:
    """The built-ins, `chat` (refusing every request unless configured), then the extra handlers
    (which may replace them)."""
    registry = {**BUILTIN, "chat": ChatHandler(chat)}
    for spec in extra or []:
        name, function = load_handler(spec)
        registry[name] = function
    return registry
