"""Reading a quote as people hand it over: raw bytes, hex or base64 (see docs/attestation.md).

Detection is by content, never by file name, and never guessed:

- raw: the bytes start with a DCAP version, little-endian u16 3, 4 or 5 (`03 00`, `04 00`,
  `05 00`); no text form can start so (text starts with a printable character);
- hex: after dropping a UTF-8 byte-order mark, all whitespace and one optional `0x`/`0X`, only
  `[0-9a-fA-F]`; an odd number of digits is refused, not padded;
- base64: standard (`+/`) or urlsafe (`-_`) alphabet, padding optional, whitespace anywhere,
  and the decoded bytes must start with a DCAP version (so a stray word is not read as base64).

Anything else is refused with a one-line `QuoteInputError`. Zero padding after the quote's end
(the real TDX sample has 70 bytes) is then dropped by `layout.strip_padding`.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from pathlib import Path

from pha.quote.errors import QuoteError
from pha.quote.layout import strip_padding

DCAP_VERSIONS = (3, 4, 5)
UTF8_BOM = b"\xef\xbb\xbf"  # some editors start a text file with it
_WHITESPACE = re.compile(rb"\s+")
_HEX = re.compile(rb"[0-9a-fA-F]*")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_BASE64_URLSAFE = re.compile(rb"[A-Za-z0-9_-]+={0,2}")


class QuoteInputError(QuoteError):
    """The input is none of the accepted quote encodings (raw, hex, base64)."""


def starts_like_quote(data: bytes) -> bool:
    """True if `data` begins with a DCAP quote version (u16 little-endian 3, 4 or 5)."""
    return len(data) >= 2 and data[1] == 0 and data[0] in DCAP_VERSIONS


def decode_quote(data: bytes) -> bytes:
    """The quote bytes from raw, hex (optional 0x, any whitespace) or base64 input; padding dropped."""
    if starts_like_quote(data):
        return strip_padding(data)
    text = _WHITESPACE.sub(b"", data.removeprefix(UTF8_BOM))
    if not text:
        raise QuoteInputError("empty input: no quote")
    if text[:2] in (b"0x", b"0X"):
        return strip_padding(_from_hex(text[2:]))
    if _HEX.fullmatch(text):
        return strip_padding(_from_hex(text))
    if not text.isascii() and len(data) >= 2:
        version = int.from_bytes(data[:2], "little")
        raise QuoteInputError(f"not a quote: binary input of version {version} (DCAP quotes are 3, 4 or 5)")
    decoded = _from_base64(text)
    if decoded is None or not starts_like_quote(decoded):
        raise QuoteInputError(
            "not a quote: expected raw DCAP bytes (version 3, 4 or 5), hex (optional 0x) or base64"
        )
    return strip_padding(decoded)


def _from_hex(digits: bytes) -> bytes:
    if not _HEX.fullmatch(digits):
        raise QuoteInputError("0x-prefixed input is not hex: only 0-9, a-f, A-F and whitespace may follow")
    if not digits:
        raise QuoteInputError("empty input: no hex digits after 0x")
    if len(digits) % 2:
        raise QuoteInputError(f"odd number of hex digits ({len(digits)}): the hex is truncated or mangled")
    return bytes.fromhex(digits.decode("ascii"))


def _from_base64(text: bytes) -> bytes | None:
    """Standard or urlsafe base64, padding optional; None if `text` is neither."""
    if _BASE64.fullmatch(text):
        altchars = b"+/"
    elif _BASE64_URLSAFE.fullmatch(text):
        altchars = b"-_"
    else:
        return None
    body = text.rstrip(b"=")
    if len(body) % 4 == 1:
        return None
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def read_quote(path: str | Path) -> bytes:
    """A quote file in any accepted encoding; '-' reads stdin. OSError is left to the caller."""
    data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    return decode_quote(data)
