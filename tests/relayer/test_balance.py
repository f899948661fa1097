"""pha_relayer_balance_wei follows the relayer key's balance, read every balance_interval_s (not
every step), and a low balance is logged as a warning at each check."""

from __future__ import annotations

import logging
import time

from pha.fmt import format_pha
from tests.relayer.conftest import RelayerThread, make_settings, wait_until


def _gauge(r: RelayerThread) -> float:
    assert r.relayer is not None
    return r.relayer.metrics.balance._value.get()


def _low_warnings(caplog) -> list[logging.LogRecord]:
    records = caplog.records
    return [r for r in records if r.levelno == logging.WARNING and "relayer balance low" in r.message]


def test_balance__gauge_set_once_per_interval_and_low_balance_warned(net, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="relayer.service")
    address = net.relayers[1].address
    balance = net.w3.eth.get_balance(address)
    settings = make_settings(
        net, tmp_path, [], key_index=1, poll_interval=0.1, balance_interval_s=3_600,
        min_balance_wei=balance + 1,
    )  # fmt: skip
    with RelayerThread(settings) as r:
        steps0 = r.relayer.last_step_ok
        wait_until(lambda: _gauge(r) > 0, 10, "balance gauge set")
        assert _gauge(r) == float(balance)
        time.sleep(1.0)  # ~10 more steps
        assert r.relayer.last_step_ok > steps0
        net.w3.provider.make_request("anvil_setBalance", [address, hex(balance * 2)])
        time.sleep(0.5)
        assert _gauge(r) == float(balance)  # not re-read within the interval
        warnings = _low_warnings(caplog)
        assert len(warnings) == 1 and address in warnings[0].message
        assert f"has {format_pha(balance, unit='ETH')}, below" in warnings[0].message  # ETH, not wei


def test_balance__re_read_each_interval_no_warning_when_funded(net, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="relayer.service")
    address = net.relayers[2].address
    settings = make_settings(
        net, tmp_path, [], key_index=2, poll_interval=0.1, balance_interval_s=0.3, min_balance_wei=1
    )
    with RelayerThread(settings) as r:
        wait_until(lambda: _gauge(r) > 0, 10, "balance gauge set")
        net.w3.provider.make_request("anvil_setBalance", [address, hex(12345 * 10**18)])
        wait_until(lambda: _gauge(r) == float(12345 * 10**18), 10, "gauge follows the new balance")
        assert _low_warnings(caplog) == []
