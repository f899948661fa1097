"""pha.fmt: how amounts, shares, times and tables are shown (issue 18 item 7). Pure Python."""

import json

import click
import pytest
from click.testing import CliRunner

from pha.fmt import (
    PHA,
    WIDTH,
    Column,
    amount_json,
    echo_json,
    elide,
    format_duration,
    format_pha,
    format_share,
    format_time,
    iso,
    json_option,
    percent,
    pha_text,
    relative,
    table,
    time_json,
)

NOW = 1_796_238_000  # 2026-12-02T19:00:00Z
MAX_UINT256 = 2**256 - 1


def test_format_pha__exact_from_zero_and_one_wei_to_huge():
    assert format_pha(0) == "0 PHA"
    assert format_pha(1) == "0.000000000000000001 PHA"
    assert format_pha(1_234_500_000_000_000_000_000) == "1,234.5 PHA"
    assert format_pha(-PHA // 2) == "-0.5 PHA"
    huge = format_pha(MAX_UINT256)
    assert huge.startswith("115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457.")
    assert huge.endswith(" PHA") and int(pha_text(MAX_UINT256).replace(".", "")) == MAX_UINT256


def test_format_pha__planck_decimals_and_other_units():
    assert format_pha(1, 12) == "0.000000000001 PHA"
    assert format_pha(5 * 10**12, 12) == "5 PHA"
    assert format_pha(25 * 10**16, unit="ETH") == "0.25 ETH"


def test_format_pha__places_rounds_half_up_and_never_shows_a_nonzero_amount_as_zero():
    assert format_pha(1_234_567_890_000_000_000_000, places=4) == "1,234.5679 PHA"
    assert format_pha(1_234_567_840_000_000_000_000, places=4) == "1,234.5678 PHA"
    assert format_pha(PHA - 1, places=4) == "1 PHA"
    assert format_pha(1, places=4) == "< 0.0001 PHA"
    assert format_pha(0, places=4) == "0 PHA"
    assert format_pha(-3 * PHA // 2, places=0) == "-2 PHA"


def test_pha_text_and_amount_json__strings_round_trip_exactly():
    assert pha_text(0) == "0" and pha_text(1) == "0.000000000000000001"
    assert pha_text(-1) == "-0.000000000000000001"
    assert amount_json(15 * PHA // 10) == {"wei": "1500000000000000000", "pha": "1.5"}
    assert amount_json(7, "planck", 12) == {"planck": "7", "pha": "0.000000000007"}
    assert amount_json(10**18, name="eth") == {"wei": "1000000000000000000", "eth": "1"}
    for value in (0, 1, PHA, 123456789 * PHA + 987, MAX_UINT256):
        document = json.loads(json.dumps(amount_json(value)))
        assert int(document["wei"]) == value
        whole, _, frac = document["pha"].partition(".")
        assert int(whole) * PHA + int(frac.ljust(18, "0") or 0) == value


def test_percent__rounds_down_and_marks_tiny_shares():
    assert percent(0, 100) == "0.00 %"
    assert percent(5, 0) == "0.00 %"  # an empty pool
    assert percent(1, 3) == "33.33 %"
    assert percent(2, 3) == "66.66 %"  # down, never up
    assert percent(99_999, 100_000) == "99.99 %"  # not 100.00 % while someone else holds some
    assert percent(100, 100) == "100.00 %"
    assert percent(1, 10**24) == "< 0.01 %"
    assert percent(-1, 100) == "0.00 %"


def test_format_share__percentage_and_approximate_value():
    text = format_share(10**24, 4 * 10**24, 1_234_567_890_123_456_789_000)
    assert text == "25.00 % of the pool (≈ 1,234.5679 PHA)"
    assert format_share(0, 0, 0) == "0.00 % of the pool (≈ 0 PHA)"


def test_iso__utc_and_out_of_range_values():
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(NOW) == "2026-12-02T19:00:00Z"
    assert iso(2**64 - 1) == f"unix {2**64 - 1}"  # past year 9999: still a value, no crash
    assert iso(-1) == "1969-12-31T23:59:59Z"


def test_format_duration__two_largest_units_truncated():
    assert format_duration(0) == "0 s"
    assert format_duration(1) == "1 s"
    assert format_duration(59) == "59 s"
    assert format_duration(60) == "1 min"
    assert format_duration(3 * 3600) == "3 h"
    assert format_duration(3 * 3600 + 25 * 60 + 59) == "3 h 25 min"
    assert format_duration(3 * 3600 + 12) == "3 h"  # not '3 h 0 min 12 s'
    assert format_duration(7 * 86_400 - 1) == "6 d 23 h"  # never rounded up to 7 d
    assert format_duration(-300) == "5 min"  # callers say 'in' or 'ago'
    assert format_duration(10**12) == "11,574,074 d 1 h"


def test_relative_and_format_time__future_past_and_now():
    assert relative(NOW + 3 * 3600, NOW) == "in 3 h"
    assert relative(NOW - 300, NOW) == "5 min ago"
    assert relative(NOW, NOW) == "now"
    assert relative(NOW - 2 * 86_400, NOW, past="expired {} ago") == "expired 2 d ago"
    assert format_time(NOW + 90, NOW) == "2026-12-02T19:01:30Z (in 1 min 30 s)"
    assert format_time(NOW - 1, NOW, past="passed {} ago") == "2026-12-02T18:59:59Z (passed 1 s ago)"
    assert time_json(NOW) == {"unix": NOW, "iso": "2026-12-02T19:00:00Z"}


def test_elide__keeps_ends_or_start():
    address = "0x" + "ab" * 20
    assert elide(address, 42, "middle") == address
    cut = elide(address, 15, "middle")
    assert len(cut) == 15 and cut.startswith("0xabab") and cut.endswith("abab") and "…" in cut
    assert elide("binding rejected: bad signature", 12) == "binding rej…"
    assert elide("abc", 1) == "…"


def test_table__fits_80_columns_cutting_text_not_numbers():
    columns = [
        Column("account", cut="middle"),
        Column("PHA", ">", cut=None),
        Column("status", min_width=6),
    ]
    rows = [
        ["4" * 48, "1,234,567.123456789012", "binding rejected: bad sr25519 signature for this chain"],
        ["5" * 48, "0.000000000001", "unbound"],
    ]
    text = table(columns, rows)
    lines = text.splitlines()
    assert all(len(line) <= WIDTH for line in lines), text
    assert lines[0].startswith("account") and set(lines[1]) <= {"-", " "}
    assert "1,234,567.123456789012" in lines[2] and "0.000000000001" in lines[3]  # numbers whole
    assert lines[2].endswith("…")  # the long status is cut at its end
    assert lines[3].split()[-1] == "unbound"
    # right-aligned: both numbers end in the same column
    assert lines[2].index("9012") + 4 == lines[3].index("0001") + 4


def test_table__small_tables_are_untouched_and_indented():
    text = table([Column("pool", ">"), Column("state")], [["1", "open"], ["12", "claimed"]], indent=2)
    assert text.splitlines() == ["  pool  state", "  ----  -------", "     1  open", "    12  claimed"]


def test_json_option_and_echo_json__one_document_on_stdout():
    @click.command()
    @json_option
    def show(as_json: bool) -> None:
        if as_json:
            echo_json({"amount": amount_json(PHA), "at": time_json(NOW)})
        else:
            click.echo(format_pha(PHA))

    assert CliRunner().invoke(show, []).output == "1 PHA\n"
    out = CliRunner().invoke(show, ["--json"]).output
    assert json.loads(out) == {"amount": {"wei": str(PHA), "pha": "1"}, "at": time_json(NOW)}


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 86_399, 86_400, 10**9])
def test_format_duration__never_claims_more_time_than_there_is(seconds):
    units = {"d": 86_400, "h": 3_600, "min": 60, "s": 1}
    words = format_duration(seconds).replace(",", "").split()
    shown = sum(int(n) * units[u] for n, u in zip(words[::2], words[1::2], strict=True))
    assert shown <= seconds and (seconds == 0 or shown > 0)


def test_json_option__moves_apes_log_lines_off_stdout():
    """Ape's log handler echoes every level on stdout ('INFO: Connecting to ...'): with --json
    they go to stderr, so stdout parses."""
    import logging

    from ape.logging import CLICK_ECHO_KWARGS, ClickHandler

    logger = logging.getLogger("pha-test-ape-like")
    logger.addHandler(ClickHandler(echo_kwargs=CLICK_ECHO_KWARGS))
    logger.setLevel(logging.INFO)

    @click.command()
    @json_option
    def show(as_json: bool) -> None:
        logger.warning("Connecting to a node.")
        if as_json:
            echo_json({"ok": True})

    try:
        result = CliRunner(mix_stderr=False).invoke(show, ["--json"])
        assert json.loads(result.stdout) == {"ok": True}
        assert "Connecting to a node." in result.stderr
    finally:
        logger.handlers.clear()


def test_table__decimal_column_lines_up_the_points():
    text = table(
        [Column("", cut=None), Column("PHA", ".", cut=None)], [["a", "1,200.5"], ["b", "3"], ["c", "0.125"]]
    )
    rows = text.splitlines()[2:]
    assert [r.index(".") for r in rows if "." in r] == [rows[0].index("."), rows[0].index(".")]
    assert rows[1].rstrip().endswith("3") and rows[1].index("3") == rows[0].index(".") - 1


def test_wrap__fits_80_columns_and_never_splits_a_command_or_a_json_example():
    from pha.fmt import wrap

    example = '{"handler":"echo","data":{"any":["json",1]}}'
    text = (
        'refused by workers: handler \'sentiment\' takes a string or {"text": string} as "data", '
        f"got a number; e.g. {example}; claimed, so the payment comes back after the deadline "
        "2026-12-02T19:00:00Z (passed 5 min ago): `ape run client expire 12345`"
    )
    lines = wrap(text).splitlines()
    assert len(lines) > 1 and all(len(line) <= WIDTH for line in lines), lines
    assert lines[0].startswith("  refused") and all(line.startswith("    ") for line in lines[1:])
    assert any(example in line for line in lines)
    assert any("`ape run client expire 12345`" in line for line in lines)
    assert " ".join(" ".join(lines).split()) == text  # nothing lost, only line breaks added
