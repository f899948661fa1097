"""Pluggable handlers: --handler module:function and name=module:function, and their failures."""

import json

import httpx
import pytest

from pha import envelope
from tests.worker.conftest import job_request, make_settings
from worker.handlers import BUILTIN, build_registry, load_handler
from worker.server import BackgroundWorker

EXTRA = [
    "tests.worker.custom_handlers:reverse",
    "shout=tests.worker.custom_handlers:upper",
    "tests.worker.custom_handlers:broken",
    "tests.worker.custom_handlers:not_json",
]


@pytest.fixture(scope="module")
def http():
    with (
        BackgroundWorker(make_settings(handlers=EXTRA)) as running,
        httpx.Client(base_url=running.url) as client,
    ):
        yield client


def output_of(response):
    assert response.status_code == 200, response.text
    return json.loads(bytes.fromhex(response.json()["output"][2:]))


def test_added_handlers__run_under_their_names(http):
    assert output_of(http.post("/jobs", json=job_request(1, envelope.build_input("reverse", "abc")))) == {
        "handler": "reverse",
        "result": "cba",
    }
    assert (
        output_of(http.post("/jobs", json=job_request(2, envelope.build_input("shout", "hi"))))["result"]
        == "HI"
    )


def test_added_handler__value_error__400(http):
    response = http.post("/jobs", json=job_request(3, envelope.build_input("reverse", 5)))
    assert response.status_code == 400 and "reverse takes a string" in response.json()["error"]


def test_added_handler__bug_or_non_json_result__500_without_traceback(http):
    for job_id, name in ((4, "broken"), (5, "not_json")):
        response = http.post("/jobs", json=job_request(job_id, envelope.build_input(name, 1)))
        assert response.status_code == 500
        assert response.json() == {"error": "internal error"}
        assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "not module:function"),
        ("tests.worker.nope:f", "cannot load handler"),
        ("tests.worker.custom_handlers:missing", "cannot load handler"),
        ("tests.worker.custom_handlers:NOT_CALLABLE", "not callable"),
    ],
)
def test_load_handler__bad_spec__clear_value_error(spec, message):
    with pytest.raises(ValueError, match=message):
        load_handler(spec)


def test_build_registry__keeps_builtins_and_can_override_one():
    registry = build_registry(["echo=tests.worker.custom_handlers:upper"])
    assert set(BUILTIN) <= set(registry)
    assert registry["echo"]("a") == "A"
