"""Numbers as people and scripts read them: PHA amounts, pool shares, times, durations, tables.

People get PHA (never the base unit), a share of a pool as a percentage with its PHA value,
times as ISO-8601 UTC with how far they are from now ("in 3 h", "5 min ago"), and tables that
fit 80 columns. Scripts get `--json`, built from the `*_json` helpers here: an amount is
`{"wei": "<integer>", "pha": "<decimal>"}` (both strings, exact; `planck` instead of `wei` for
the parachain's 12-decimal balances in the migration) and a time is `{"unix": int, "iso": str}`.
See docs/cli.md.

Pure functions: nothing here reads the chain or the clock (callers pass the chain's `now`).
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import click

PHA_DECIMALS = 18
PHA = 10**PHA_DECIMALS
WIDTH = 80
"""The width every human table and status block fits."""

# ---------------------------------------------------------------------------------------- amounts


def pha_text(amount: int, decimals: int = PHA_DECIMALS) -> str:
    """The exact decimal value of `amount` base units, without grouping or unit: '1234.5'."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(int(amount)), 10**decimals)
    text = f"{sign}{whole}"
    if frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    return text


def format_pha(
    amount: int, decimals: int = PHA_DECIMALS, *, places: int | None = None, unit: str = "PHA"
) -> str:
    """`amount` base units as people read it: '1,234.5 PHA' (exact; trailing zeros dropped).

    `unit=""` leaves the unit out (a table whose header names it). With `places`, rounded half
    up to that many decimals ('≈' amounts); a non-zero amount that rounds to zero shows as
    '< 0.0001 PHA' rather than a misleading '0 PHA'.
    """
    amount = int(amount)
    if places is not None and places < decimals:
        step = 10 ** (decimals - places)
        rounded = (abs(amount) + step // 2) // step * step
        if amount and not rounded:
            return f"< {pha_text(step, decimals)} {unit}".rstrip()
        amount = rounded if amount >= 0 else -rounded
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    text = f"{sign}{whole:,}"
    if frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    return f"{text} {unit}" if unit else text


def amount_json(
    amount: int, base: str = "wei", decimals: int = PHA_DECIMALS, name: str = "pha"
) -> dict[str, str]:
    """An amount for `--json`: {"wei": "1500000000000000000", "pha": "1.5"} (strings: exact)."""
    return {base: str(int(amount)), name: pha_text(amount, decimals)}


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as '12.34 %', rounded down (never 100.00 % unless all of it); a non-zero
    part below 0.01 % is '< 0.01 %'. An empty whole is '0.00 %'."""
    if whole <= 0 or part <= 0:
        return "0.00 %"
    hundredths = min(part, whole) * 10_000 // whole
    if hundredths == 0:
        return "< 0.01 %"
    return f"{hundredths // 100}.{hundredths % 100:02d} %"


def format_share(shares: int, total_shares: int, value: int) -> str:
    """A position as people read it: '12.34 % of the pool (≈ 1,234.5678 PHA)'."""
    return f"{percent(shares, total_shares)} of the pool (≈ {format_pha(value, places=4)})"


# ------------------------------------------------------------------------------------------ times

_UNITS = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
_MAX_UNIX = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime can show


def iso(timestamp: int) -> str:
    """A Unix time as ISO-8601 UTC: '2026-12-02T19:00:00Z' ('unix N' past year 9999)."""
    timestamp = int(timestamp)
    if not -62_135_596_800 <= timestamp <= _MAX_UNIX:
        return f"unix {timestamp}"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: int) -> str:
    """A length of time in its two largest units: '45 s', '5 min', '3 h 25 min', '6 d 23 h'
    (truncated, never rounded up; the sign is dropped: callers say 'in' or 'ago')."""
    left = abs(int(seconds))
    if left == 0:
        return "0 s"
    parts: list[str] = []
    for name, size in _UNITS:
        count, left = divmod(left, size)
        if count and len(parts) < 2:
            parts.append(f"{count:,} {name}")
        elif parts:
            break  # the next unit down is zero: '3 h', not '3 h 0 min 12 s'
    return " ".join(parts)


def relative(timestamp: int, now: int, *, future: str = "in {}", past: str = "{} ago") -> str:
    """How far `timestamp` is from `now`: 'in 3 h', '5 min ago' (`past` may say
    'expired {} ago'), or 'now'."""
    delta = int(timestamp) - int(now)
    if delta == 0:
        return "now"
    return (future if delta > 0 else past).format(format_duration(delta))


def format_time(timestamp: int, now: int, *, future: str = "in {}", past: str = "{} ago") -> str:
    """'2026-12-02T19:00:00Z (in 6 d 23 h)': the ISO time and how far it is from `now`."""
    return f"{iso(timestamp)} ({relative(timestamp, now, future=future, past=past)})"


def time_json(timestamp: int) -> dict[str, Any]:
    """A time for `--json`: {"unix": 1796238000, "iso": "2026-12-02T19:00:00Z"}."""
    return {"unix": int(timestamp), "iso": iso(timestamp)}


# ------------------------------------------------------------------------------------------ text

_NBSP = "\u00a0"


def wrap(text: str, indent: str = "  ", width: int = WIDTH) -> str:
    """Free text within `width` columns, continuation lines indented two more spaces; a command in
    backticks is never split (a person copies it whole), nor is a word longer than a line."""
    parts = text.split("`")
    kept = "`".join(p.replace(" ", _NBSP) if i % 2 else p for i, p in enumerate(parts))
    lines = textwrap.wrap(
        kept, width, initial_indent=indent, subsequent_indent=indent + "  ",
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip
    return "\n".join(lines).replace(_NBSP, " ")


# ----------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One table column: its header, alignment, and how a cell too wide for it is cut.

    `cut="middle"` keeps both ends (addresses, hashes), `"end"` keeps the start (free text),
    None never cuts (numbers: a cut number is a wrong number).
    """

    header: str
    align: Literal["<", ">", "."] = "<"
    """Left, right, or right with the decimal points of the column's numbers in one line."""
    cut: Literal["middle", "end"] | None = "end"
    min_width: int = 8


def elide(text: str, width: int, where: Literal["middle", "end"] = "end") -> str:
    """`text` cut to `width` characters with '…' where it was cut."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    if where == "end":
        return text[: width - 1] + "…"
    kept = width - 1
    head, tail = kept - kept // 2, kept // 2
    return text[:head] + "…" + (text[-tail:] if tail else "")


def table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int = WIDTH, indent: int = 0
) -> str:
    """Rows under a header and a rule, columns two spaces apart, at most `width` characters a line.

    Columns that may be cut give up characters, the widest first, down to their `min_width`;
    numbers are never cut (a table of nothing but numbers wider than `width` stays wider).
    """
    rows = [list(r) for r in rows]
    for i, column in enumerate(columns):
        if column.align == ".":
            decimals = max((len(r[i].partition(".")[2]) for r in rows if "." in r[i]), default=0)
            for r in rows:  # '12' and '3.5' -> '12  ' and ' 3.5': the points line up
                whole, dot, frac = r[i].partition(".")
                r[i] = whole + (dot + frac).ljust(decimals + 1 if decimals else 0)
    sizes = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    gaps = indent + 2 * (len(columns) - 1)
    while sum(sizes) + gaps > width:
        cuttable = [i for i, c in enumerate(columns) if c.cut is not None and sizes[i] > max(c.min_width, 1)]
        if not cuttable:
            break
        widest = max(cuttable, key=lambda i: sizes[i])
        sizes[widest] -= 1

    def line(cells: Sequence[str]) -> str:
        parts = []
        for cell, column, size in zip(cells, columns, sizes, strict=True):
            text = elide(cell, size, column.cut or "end") if column.cut else cell
            parts.append(f"{text:{'>' if column.align == '.' else column.align}{size}}")
        return (" " * indent + "  ".join(parts)).rstrip()

    rule = " " * indent + "  ".join("-" * size for size in sizes)
    return "\n".join([line([c.header for c in columns]), rule, *(line(r) for r in rows)])


# ------------------------------------------------------------------------------------------- json


def json_option(func: Any) -> Any:
    """`--json`: the command prints one JSON document on stdout (docs/cli.md) and nothing else."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=_json_mode,
        help="Print one JSON document (amounts as base-unit and PHA strings, times as Unix and ISO).",
    )(func)


def _json_mode(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        logs_to_stderr()
    return value


def logs_to_stderr() -> None:
    """Send Ape's log lines to stderr. Its handler echoes every level, warnings included, on
    stdout; with --json, stdout carries the document alone (the relayer logs to stderr already)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", [])[:]:  # placeholders have no handlers
            if type(handler).__name__ == "ClickHandler":
                stderr = logging.StreamHandler(sys.stderr)
                stderr.setFormatter(handler.formatter)
                stderr.setLevel(handler.level)
                logger.removeHandler(handler)
                logger.addHandler(stderr)


def echo_json(document: Any) -> None:
    """The one document a `--json` command prints (keys in the order built, 2-space indent)."""
    click.echo(json.dumps(document, indent=2))
