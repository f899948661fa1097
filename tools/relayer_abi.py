"""Write the relayer's packaged ABIs (relayer/abi/<Name>.json) from the compiled build.

    python tools/relayer_abi.py          # regenerate (run by `make` after every `ape compile`)
    python tools/relayer_abi.py --check  # exit 1 if a packaged ABI differs from the build

The relayer ships these JSON files so that `pha-relayer` runs without the project's build; they
are generated, never edited by hand, and tests/relayer/test_abi.py fails when they drift from
the compiled contracts (e.g. a contract changed and `ape compile` ran without `make`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".build" / "__local__.json"
TARGET = ROOT / "relayer" / "abi"
NAMES = ("IJobEscrow", "IWorkerRegistry")


def built_abis() -> dict[str, list[dict[str, Any]]]:
    types = json.loads(BUILD.read_text())["contractTypes"]
    return {name: types[name]["abi"] for name in NAMES}


def render(abi: list[dict[str, Any]]) -> str:
    return json.dumps(abi, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for name, abi in built_abis().items():
        path = TARGET / f"{name}.json"
        text = render(abi)
        if path.exists() and path.read_text() == text:
            continue
        if "--check" in argv:
            stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"packaged ABIs differ from the build: {', '.join(stale)} (run `make` or this tool)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
