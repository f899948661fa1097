"""`make bench`: run every bench module on a project-started anvil, write bench/results.json.

    python -m bench.run [--only token,staking] [--out bench/results.json]

Modules are `bench/<component>.py` exposing `measure(env) -> list[Row]`; each runs from a
fresh chain snapshot. Rows are merged into the existing results file by name, so running one
module updates its rows and keeps the others (their commit is kept per row in `note`-free form
by the file's top-level `git_commit`, which is the commit of the latest run).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BenchEnv, Row
from pha.anvil import find_anvil
from pha.deploy import git_commit
from pha.paths import ROOT

log = logging.getLogger("bench")
BENCH_DIR = Path(__file__).resolve().parent
SKIP = {"__init__", "common", "run"}


def discover() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem not in SKIP)


def machine() -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    anvil = subprocess.run([str(find_anvil()), "--version"], capture_output=True, text=True).stdout
    anvil_version = anvil.splitlines()[0] if anvil else "?"
    import os

    return f"nproc={os.cpu_count()}, python={platform.python_version()}, node={node}, {anvil_version}"


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"{'row':<{width}}  {'value':>14}  {'unit':<8}  {'goal':>12}  ok")
    for r in rows:
        goal = "" if r.goal is None else f"{r.goal:,.0f}" if r.goal >= 100 else f"{r.goal:g}"
        value = f"{r.value:,.0f}" if abs(r.value) >= 100 else f"{r.value:.3g}"
        ok = {True: "yes", False: "NO", None: ""}[r.meets_goal]
        print(f"{r.name:<{width}}  {value:>14}  {r.unit:<8}  {goal:>12}  {ok}")


def format_number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def readme_table(rows: list[dict]) -> str:
    lines = ["| row | value | unit | goal | note |", "| --- | ---: | --- | ---: | --- |"]
    for r in rows:
        goal = "" if r["goal"] is None else format_number(r["goal"])
        lines.append(f"| {r['name']} | {format_number(r['value'])} | {r['unit']} | {goal} | {r['note']} |")
    return "\n".join(lines)


def update_readme(rows: list[dict]) -> None:
    """Replace the table between the bench markers in README.md with the current figures."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench-table -->", "<!-- /bench-table -->"
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{readme_table(rows)}\n{end}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="comma-separated bench modules (default: all)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results.json"), help="results file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    modules = [m for m in args.only.split(",") if m] or discover()
    unknown = set(modules) - set(discover())
    if unknown:
        print(f"bench: no such module: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    from ape import accounts, chain, networks, project
    from ape.logging import logger as ape_logger

    ape_logger.set_level("WARNING")

    rows: list[Row] = []
    with networks.parse_network_choice("ethereum:local:foundry"):
        env = BenchEnv(project=project, chain=chain, accounts=accounts.test_accounts)
        for name in modules:
            started = time.monotonic()
            module = importlib.import_module(f"bench.{name}")
            snapshot = chain.snapshot()
            try:
                rows.extend(module.measure(env))
            finally:
                chain.restore(snapshot)
            log.info("bench.%s done in %.1f s", name, time.monotonic() - started)

    out = Path(args.out)
    previous = json.loads(out.read_text())["rows"] if out.exists() else []
    measured = {r.name for r in rows}
    merged = [r for r in previous if r["name"] not in measured] + [r.as_dict() for r in rows]
    order = {m: i for i, m in enumerate(discover())}
    merged.sort(key=lambda r: (order.get(r["name"].split(".")[0], 99), r["name"]))
    result = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "machine": machine(),
        "rows": merged,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    update_readme(merged)
    print_table([Row(**r) for r in merged])
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
