"""Servers for the gateway tests: real uvicorn servers on 127.0.0.1 in background threads (the gateway, and the
purpose-built fixed upstream of ``opentrust.guard.fixed_upstream``, which can script where chunk boundaries fall)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from opentrust.backends.local_server import free_port


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    from opentrust.guard.fixed_upstream import make_app

    with serve(make_app(delay_s=0.0)) as base:
        yield base + "/v1"


@contextmanager
def gateway(upstream_base: str, log: Path | None, policy: dict | None = None, retries: int = 1,
            timeout_s: float = 10.0) -> Iterator[tuple[str, Any]]:
    """A gateway in front of ``upstream_base`` with ``policy`` (default: the built-in one)."""
    from opentrust.guard.log import GuardLog
    from opentrust.guard.policy import GuardPolicy, default_policy
    from opentrust.guard.server import Gateway, Upstream

    pol = GuardPolicy.model_validate(policy) if policy is not None else default_policy()
    audit = GuardLog(log) if log else None
    gw = Gateway(pol, Upstream(upstream_base, "fixed", None, timeout_s, retries, backoff_base_s=0.01), audit)
    try:
        with serve(gw.app) as base:
            yield base, gw
    finally:
        if audit:
            audit.close()


def post(base: str, path: str, body: Any, **kw: Any) -> httpx.Response:
    return httpx.post(base + path, json=body, timeout=30, **kw)


def sse_events(resp: httpx.Response) -> list[Any]:
    import json

    out = []
    for line in resp.text.splitlines():
        if line.startswith("data: "):
            data = line[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def streamed_text(events: list[Any]) -> str:
    text = ""
    for e in events:
        if isinstance(e, dict) and e.get("choices"):
            for c in e["choices"]:
                text += (c.get("delta") or {}).get("content") or c.get("text") or ""
    return text
