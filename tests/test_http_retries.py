"""Retries of the HTTP backend against a purpose-built flaky server (the one fault a real server won't produce
on demand: failing the first N calls)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opentrust.backends.base import GenerationRequest
from opentrust.backends.openai_http import OpenAIBackend
from opentrust.errors import BackendError

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 3, "completion_tokens": 1}}


class FlakyTestServer:
    """Fails the first ``failures`` requests (HTTP ``status`` or a dropped connection), then answers."""

    def __init__(self, failures: int, mode: str, status: int = 503):
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.calls += 1
                if outer.calls <= failures:
                    if mode == "drop":
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.connection.close()
                        return
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"error": {"message": "overloaded"}}).encode())
                    return
                body = json.dumps(ANSWER).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _generate(url: str, retries: int) -> tuple[str, int]:
    async def go() -> tuple[str, int]:
        b = OpenAIBackend(url, "m", retries=retries, backoff_base_s=0.01, backoff_max_s=0.05)
        try:
            return (await b.generate(GenerationRequest.chat("hi"))).text, b.attempts
        finally:
            await b.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("mode,status", [("status", 503), ("status", 429), ("status", 500), ("drop", 0)])
def test_transient_failures_are_retried(mode: str, status: int) -> None:
    server = FlakyTestServer(failures=3, mode=mode, status=status)
    try:
        text, attempts = _generate(server.url, retries=5)
    finally:
        server.close()
    assert text == "ok"
    assert attempts == 4 and server.calls == 4


def test_gives_up_after_the_retry_budget() -> None:
    server = FlakyTestServer(failures=10, mode="status", status=503)
    try:
        with pytest.raises(BackendError, match="after 3 attempts"):
            _generate(server.url, retries=2)
    finally:
        server.close()
    assert server.calls == 3


def test_client_errors_are_not_retried() -> None:
    server = FlakyTestServer(failures=10, mode="status", status=401)
    try:
        with pytest.raises(BackendError, match="HTTP 401"):
            _generate(server.url, retries=5)
    finally:
        server.close()
    assert server.calls == 1


def test_backoff_grows_and_is_capped() -> None:
    b = OpenAIBackend("http://127.0.0.1:1/v1", "m", backoff_base_s=1.0, backoff_max_s=4.0)
    delays = [max(b._delay(attempt, None) for _ in range(200)) for attempt in range(6)]
    assert delays[0] <= 1.0 and delays[2] > 1.0 and max(delays) <= 4.0
    assert b._delay(0, "2") == 2.0  # Retry-After is honoured
