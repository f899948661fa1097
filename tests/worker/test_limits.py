"""Timeouts and graceful shutdown: a slow body gets 408, a slow handler 504, stop lets work finish."""

import socket
import threading
import time

import httpx

from pha import envelope
from tests.worker.conftest import job_request, make_settings
from worker.server import BackgroundWorker

SLOW = ["tests.worker.custom_handlers:slow"]


def test_body_that_never_arrives__408():
    running = BackgroundWorker(make_settings(body_timeout=0.5)).start()
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(
                b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
            reply = sock.recv(4096)
    finally:
        running.stop()
    assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive in time" in reply


def test_handler_over_its_timeout__504():
    with BackgroundWorker(make_settings(handlers=SLOW, handler_timeout=0.3)) as running:
        response = httpx.post(
            running.url + "/jobs", json=job_request(1, envelope.build_input("slow", 1)), timeout=10
        )
    assert response.status_code == 504 and "did not finish" in response.json()["error"]


def test_stop__lets_an_in_flight_job_finish():
    running = BackgroundWorker(make_settings(handlers=SLOW)).start()
    results = {}

    def call():
        results["response"] = httpx.post(
            running.url + "/jobs", json=job_request(2, envelope.build_input("slow", 1)), timeout=10
        )

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)
    running.stop()
    thread.join(10)
    assert results["response"].status_code == 200
    assert results["response"].json()["job_id"] == 2
