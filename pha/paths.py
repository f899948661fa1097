"""Where the project's own files live, resolved from this package (never from the working directory)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
DEPLOYMENTS = ROOT / "deployments"
BUILD = ROOT / ".build"
