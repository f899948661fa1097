"""Fixtures: a worker serving on a free loopback port in this process, and an HTTP client."""

from __future__ import annotations

import httpx
import pytest
from eth_utils import keccak

from worker.server import BackgroundWorker
from worker.settings import WorkerSettings

CHAIN_ID = 31337
REGISTRY = "0x" + "12" * 20
ESCROW = "0x" + "ab" * 20
POOL_ID = 3


def make_settings(**overrides) -> WorkerSettings:
    values = dict(
        host="127.0.0.1",
        port=0,
        chain_id=CHAIN_ID,
        registry=REGISTRY,
        pool_id=POOL_ID,
        escrow=ESCROW,
        simulate=True,
    )
    values.update(overrides)
    return WorkerSettings(**values)


@pytest.fixture
def settings_factory():
    return make_settings


@pytest.fixture(scope="module")
def worker():
    with BackgroundWorker(make_settings(max_body_bytes=64 * 1024, max_records=8)) as running:
        yield running


@pytest.fixture(scope="module")
def http(worker):
    with httpx.Client(base_url=worker.url, timeout=10) as client:
        yield client


def job_request(job_id: int, raw_input: bytes) -> dict:
    return {"job_id": job_id, "input_hash": "0x" + keccak(raw_input).hex(), "input": "0x" + raw_input.hex()}
