"""A misbehaving JSON-RPC endpoint for the relayer's fault tests: an asyncio TCP server on loopback
that speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) to forward requests to an
upstream node, with a switchable mode:

- "pass": forward everything;
- "down": an outage: open connections are dropped and new ones are closed at once;
- "429": every request is answered HTTP 429 Too Many Requests;
- "null_receipts": eth_getTransactionReceipt is answered null or {} (alternately), the rest forwarded;
- "no_simulate_v1": eth_simulateV1 is answered "Method not found" (a node without it), the rest forwarded.

    with RpcProxy(anvil_url) as proxy:
        proxy.mode = "down"
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import urlparse

import httpx


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.counts: dict[str, int] = {}
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()
        self._flip = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "down":
            self.loop.call_soon_threadsafe(self._drop_all)

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.loop.run_forever()

    async def _start(self) -> None:
        self.client = httpx.AsyncClient(timeout=30)
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "down":
            self._count("dropped")
            writer.transport.abort()
            return
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                status, payload = await self._answer(body)
                if status == 0:  # the outage began while this request was in flight
                    writer.transport.abort()
                    return
                reason = {200: "OK", 429: "Too Many Requests"}[status]
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, body: bytes) -> tuple[int, bytes]:
        mode = self.mode
        if mode == "down":
            self._count("dropped")
            return 0, b""
        if mode == "429":
            self._count("429")
            return 429, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limited"}}'
        request: Any = json.loads(body)
        if (
            mode == "no_simulate_v1"
            and isinstance(request, dict)
            and request.get("method") == "eth_simulateV1"
        ):
            self._count("no_simulate_v1")
            answer = {
                "jsonrpc": "2.0",
                "id": request.get("id"),
                "error": {"code": -32601, "message": "Method not found"},
            }
            return 200, json.dumps(answer).encode()
        if mode == "null_receipts":
            calls = request if isinstance(request, list) else [request]
            if all(c.get("method") == "eth_getTransactionReceipt" for c in calls):
                self._count("null_receipt")
                self._flip += 1
                answers = [{"jsonrpc": "2.0", "id": c.get("id"), "result": None if self._flip % 2 else {}}
                           for c in calls]  # fmt: skip
                return 200, json.dumps(answers if isinstance(request, list) else answers[0]).encode()
        self._count("forwarded")
        reply = await self.client.post(
            self.upstream, content=body, headers={"Content-Type": "application/json"}
        )
        return 200, reply.content

    def start(self) -> RpcProxy:
        assert urlparse(self.upstream).hostname in ("127.0.0.1", "localhost")
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._drop_all)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def __enter__(self) -> RpcProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
