"""`ape run demo`, the README's main command, as a newcomer runs it: it prints what it shows (no
compiler or npm noise) and says when it lists only part of the results and how to see them all."""

import os

from tests.scripts import ape_run, ok


def test_demo__prints_six_results_and_says_how_to_see_all(tmp_path):
    env = {**os.environ, "PHA_DEPLOYMENTS_DIR": str(tmp_path)}
    result = ape_run("demo", "--jobs", "8", "--block-time", "0.5", env=env)
    out = ok(result)
    plain = [line for line in out.splitlines() if line.startswith("  job ") and "encrypted" not in line]
    assert len(plain) == 6
    assert "  ... 6 of 8 plain results shown; `ape run demo --show-all` prints every one" in out
    assert "[encrypted both ways]" in out and "demo finished" in out
    noise = [line for line in (out + result.stderr).splitlines() if "ompil" in line or "npm" in line]
    assert noise == []
