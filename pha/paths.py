"""Where the project's own files live, resolved from this package (never from the working directory)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
# Where manifests are written; PHA_DEPLOYMENTS_DIR overrides it (tests, several deployments side by side).
DEPLOYMENTS = Path(os.environ.get("PHA_DEPLOYMENTS_DIR") or ROOT / "deployments")
BUILD = ROOT / ".build"
