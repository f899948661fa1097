"""Damage figures the attack tests measured, printed at the end of the session (conftest's
terminal summary), so that a run shows how close each attack came, not only that it failed."""

from __future__ import annotations

FIGURES: dict[str, str] = {}


def record(name: str, text: str) -> None:
    """Keeps the latest figure under `name`."""
    FIGURES[name] = text
