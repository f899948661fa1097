"""`make test`: the test suite, one pytest session per component folder, two at a time.

Each folder of tests/ runs in its own `ape test` process with its own anvil. Ape's chain
isolation (snapshot and revert around every test) cannot keep session-scoped deployments of one
folder apart from the overrides of another in a single session, so one session per folder keeps
every folder's world its own; two run at once to use both cores.

    python tools/run_tests.py [FOLDER ...]     (default: every tests/<folder> with test files,
                                                except the OPTIONAL ones, run only when named)

Prints each folder's pytest summary, the failures in full, and a last line
"N passed, M failed" over all folders. Exits non-zero if anything failed or no test ran.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
LOGS = ROOT / ".build" / "test-logs"
# Longest first, so that the two lanes finish together.
ORDER = [
    "deploy",
    "registry",
    "relayer",
    "governance",
    "escrow",
    "newcomer",
    "migration",
    "staking",
    "attacks",
    "attestation",
    "gpu",
    "worker",
    "log",
    "token",
    "cli",
]
# Folders that need something `make setup` does not install, run only when named:
# llm needs the inference engine (`make setup-llm`; `make test-llm` runs it).
OPTIONAL = {"llm": "make test-llm"}
SUMMARY = re.compile(r"^=*\s*(?P<body>(\d+ \w+(, )?)+) in [\d.]+s")
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")


def folders(selected: list[str]) -> list[str]:
    found = {p.parent.name for p in TESTS.glob("*/test_*.py")}
    default = found - set(OPTIONAL)
    names = selected or sorted(default, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    unknown = [n for n in names if n not in found]
    if unknown:
        sys.exit(f"run_tests: no test folder {', '.join(unknown)} under tests/")
    return names


def run(folder: str) -> tuple[str, int, str, float]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{folder}.log"
    ape = str(Path(sys.executable).with_name("ape"))
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(
            [ape, "test", f"tests/{folder}", "--network", "ethereum:local:foundry", "-q", "-rfE"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )  # fmt: skip
    return folder, code, log.read_text(), time.monotonic() - started


def summary_of(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if SUMMARY.match(line.strip("= ")) or (
            " in " in line and COUNT.search(line) and line.startswith("=")
        ):
            for number, kind in COUNT.findall(line):
                kind = "errors" if kind.startswith("error") else kind
                counts[kind] = int(number)
    return counts


def main() -> int:
    names = folders(sys.argv[1:])
    skipped = sorted(set(OPTIONAL) - set(names))
    if skipped:
        print("optional, not run: " + ", ".join(f"tests/{n} ({OPTIONAL[n]})" for n in skipped), flush=True)
    total: dict[str, int] = {}
    failed_folders = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for folder, code, text, seconds in pool.map(run, names):
            counts = summary_of(text)
            for kind, number in counts.items():
                total[kind] = total.get(kind, 0) + number
            shown = (
                ", ".join(f"{n} {k}" for k, n in counts.items() if not k.startswith("warning"))
                or "no summary"
            )
            print(f"tests/{folder:<12} {shown} in {seconds:.0f} s (exit {code})", flush=True)
            if code != 0 or counts.get("passed", 0) == 0:
                failed_folders.append(folder)
                print(text[-6000:] if code not in (0, 5) else f"  exit {code}: no test ran", flush=True)
    passed, failed = total.get("passed", 0), total.get("failed", 0) + total.get("errors", 0)
    if failed_folders:
        print(f"failing folders: {', '.join(failed_folders)} (full logs in {LOGS.relative_to(ROOT)})")
    print(
        f"{passed} passed, {failed} failed"
        + (f", {total['skipped']} skipped" if total.get("skipped") else "")
    )
    return 1 if failed_folders or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
