"""`pha-quote` reads the real quotes in every accepted encoding and refuses the rest in one line."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pha.quote.io import QuoteInputError, decode_quote

from .conftest import DATA


def _wrap(text: str, width: int = 64, newline: str = "\r\n") -> str:
    return newline.join(text[i : i + width] for i in range(0, len(text), width)) + newline


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "raw": lambda q: q,
    "hex": lambda q: q.hex().encode(),
    "hex-upper-newline": lambda q: q.hex().upper().encode() + b"\n",
    "0x": lambda q: b"0x" + q.hex().encode(),
    "0X": lambda q: b"0X" + q.hex().encode(),
    "0x-wrapped-64-crlf": lambda q: _wrap("0x" + q.hex()).encode(),
    "hex-odd-whitespace": lambda q: (
        b"\t " + b" \n ".join(q.hex().encode()[i : i + 10] for i in range(0, 2 * len(q), 10)) + b"\r\n\n"
    ),
    "0x-utf8-bom": lambda q: b"\xef\xbb\xbf0x" + q.hex().encode() + b"\n",
    "base64": lambda q: base64.b64encode(q),
    "base64-wrapped-76": lambda q: _wrap(base64.b64encode(q).decode(), 76, "\n").encode(),
    "base64-no-padding": lambda q: base64.b64encode(q).rstrip(b"="),
    "urlsafe": lambda q: base64.urlsafe_b64encode(q),
    "urlsafe-no-padding": lambda q: base64.urlsafe_b64encode(q).rstrip(b"="),
}


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pha.quote.cli", *args], capture_output=True, input=stdin, timeout=60
    )


def _parse_json(path: Path | str, stdin: bytes | None = None) -> dict:
    out = _cli("parse", str(path), "--json", stdin=stdin)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    """`pha-quote parse --json` of each real quote file as shipped (raw bytes)."""
    return {name: _parse_json(DATA / name) for name in ("tdx_quote", "sgx_quote")}


def test_encodings__real_quotes__the_padding_survives_every_text_form():
    """The TDX sample's 70 zero bytes of padding are part of what gets encoded (and then dropped)."""
    raw = (DATA / "tdx_quote").read_bytes()
    assert len(raw) == 5006 and not any(raw[-70:])
    for name, encode in ENCODINGS.items():
        assert decode_quote(encode(raw)) == raw[:-70], name


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_cli_parse__tdx_quote_each_encoding__same_output(encoding, reference, tmp_path):
    path = tmp_path / f"quote.{encoding}"
    path.write_bytes(ENCODINGS[encoding]((DATA / "tdx_quote").read_bytes()))
    assert _parse_json(path) == reference["tdx_quote"]


@pytest.mark.parametrize("encoding", ["0x-wrapped-64-crlf", "urlsafe-no-padding"])
def test_cli_parse__sgx_quote_text_encodings__same_output(encoding, reference, tmp_path):
    path = tmp_path / f"quote.{encoding}"
    path.write_bytes(ENCODINGS[encoding]((DATA / "sgx_quote").read_bytes()))
    assert _parse_json(path) == reference["sgx_quote"]


def test_cli_parse__stdin_base64__same_output(reference):
    stdin = base64.b64encode((DATA / "sgx_quote").read_bytes())
    assert _parse_json("-", stdin=stdin) == reference["sgx_quote"]


def test_cli_measurement_id__wrapped_hex__same_as_raw():
    wrapped = _wrap("0x" + (DATA / "tdx_quote").read_bytes().hex())
    a = _cli("measurement-id", str(DATA / "tdx_quote"))
    b = _cli("measurement-id", "-", stdin=wrapped.encode())
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    assert a.stdout == b.stdout and a.stdout.startswith(b"0x")


def _sgx() -> bytes:
    return (DATA / "sgx_quote").read_bytes()


REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "odd-hex": (lambda: _sgx().hex()[:-1].encode(), "odd number of hex digits (9199)"),
    "odd-0x-wrapped": (lambda: _wrap("0x" + _sgx().hex()[:-1]).encode(), "odd number of hex digits"),
    "0x-non-hex": (lambda: b"0x" + _sgx().hex().encode() + b"zz", "0x-prefixed input is not hex"),
    "0x-only": (lambda: b"0x\n", "no hex digits after 0x"),
    "garbage": (lambda: b"garbage\n", "not a quote: expected raw DCAP bytes"),
    "json": (lambda: (DATA / "sgx_quote_collateral.json").read_bytes(), "not a quote"),
    "mixed-base64-alphabets": (
        lambda: base64.b64encode(_sgx())[:100] + b"-_" + base64.b64encode(_sgx())[102:],
        "not a quote",
    ),
    "base64-of-non-quote": (lambda: base64.b64encode(b"\x07\x00" + _sgx()[2:]), "not a quote"),
    "empty": (lambda: b"", "empty input: no quote"),
    "whitespace-only": (lambda: b" \r\n\t\n", "empty input: no quote"),
    "truncated-raw": (lambda: _sgx()[:1000], "quote is 1000 bytes but its signature data length says 4600"),
    "truncated-hex": (lambda: _sgx()[:1000].hex().encode(), "quote is 1000 bytes but"),
    "binary-not-a-quote": (lambda: b"\x01\x00" + _sgx()[2:], "binary input of version 1"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_cli_parse__refused_input__one_line_and_exit_1(case, tmp_path):
    make, message = REFUSED[case]
    path = tmp_path / "quote"
    path.write_bytes(make())
    out = _cli("parse", str(path))
    assert out.returncode == 1
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pha-quote: "), out.stderr
    assert message in lines[0], lines[0]
    assert b"Traceback" not in out.stderr and out.stdout == b""


def test_decode__refusals_are_quote_input_errors_not_guesses():
    hexed = _sgx().hex()
    with pytest.raises(QuoteInputError, match="odd number of hex digits"):
        decode_quote(("0" + hexed).encode())
    with pytest.raises(QuoteInputError, match="not a quote"):
        decode_quote(base64.b64encode(_sgx())[:-3])  # a base64 length no encoder produces
    assert decode_quote(hexed.encode()) == decode_quote(_sgx()) == _sgx()
