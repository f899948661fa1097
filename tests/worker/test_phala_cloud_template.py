"""deploy/phala-cloud/docker-compose.yml: the worker as a dstack app, configured as the worker reads it."""

from pathlib import Path

import yaml

from worker.settings import WorkerSettings

TEMPLATE = Path(__file__).parents[2] / "deploy" / "phala-cloud" / "docker-compose.yml"


def service() -> dict:
    return yaml.safe_load(TEMPLATE.read_text())["services"]["pha-worker"]


def test_template__mounts_dstacks_socket_and_pins_the_image_by_digest():
    worker = service()
    assert "/var/run/dstack.sock:/var/run/dstack.sock" in worker["volumes"]
    assert "@sha256:" in worker["image"]  # a tag could change the code under one compose hash


def test_template__environment_is_the_workers_settings_with_the_manifest_values():
    env = service()["environment"]
    fields = {f"PHA_WORKER_{name.upper()}" for name in WorkerSettings.model_fields}
    assert set(env) <= fields
    for key in ("PHA_WORKER_CHAIN_ID", "PHA_WORKER_REGISTRY", "PHA_WORKER_ESCROW", "PHA_WORKER_POOL_ID"):
        assert env[key] == "${" + key + "}"
    assert "PHA_WORKER_SIMULATE" not in env and "PHA_WORKER_APP_COMPOSE" not in env
