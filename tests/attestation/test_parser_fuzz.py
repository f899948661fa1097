"""Hypothesis: random bytes never parse unless their header says so, and the on-chain parser
only ever reverts with its own custom errors, agreeing with the Python parser byte for byte.

Examples: 60 random byte strings + 60 mutated real quotes (one eth_call each; ~10 s on 2 cores).
"""

from __future__ import annotations

import struct

import ape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pha.quote.errors import QuoteFormatError
from pha.quote.layout import parse_quote

from .conftest import read_quote

TDX = read_quote("tdx_quote")
SGX = read_quote("sgx_quote")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _check(parser, raw: bytes) -> None:
    try:
        expected = parse_quote(raw)
    except QuoteFormatError as error:
        with ape.reverts(getattr(parser, error.code)):
            parser.parse(raw)
        return
    # Python accepted: the header must say so, and the chain must agree on every field
    version, key_type, tee = struct.unpack_from("<HHI", raw, 0)
    assert key_type == 2 and (version, tee) in {(3, 0), (4, 0x81), (5, 0x81)}
    q = parser.parse(raw)
    assert q.signedLength == expected.signed_length
    assert bytes(q.measurementId) == expected.measurement_id
    assert bytes(q.reportData[0]) + bytes(q.reportData[1]) == expected.report_data
    assert q.debug == expected.debug


@SETTINGS
@given(st.binary(min_size=0, max_size=800))
def test_random_bytes__never_parse_unless_header_says_so(parser, data):
    _check(parser, data)


@SETTINGS
@given(
    base=st.sampled_from([TDX, SGX, TDX[:632], SGX[:432]]),
    edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 40),
    extra=st.binary(max_size=8),
)
def test_mutated_real_quotes__only_custom_errors(parser, base, edits, cut, extra):
    raw = bytearray(base)
    for offset, value in edits:  # mutate the header / descriptor region
        raw[offset] = value
    raw = bytes(raw[: len(raw) - cut]) + extra
    _check(parser, raw)
