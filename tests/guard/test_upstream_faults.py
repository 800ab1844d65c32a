"""What the gateway does when its upstream misbehaves, over real sockets: the purpose-built upstream scripts a flaky
answer, a slow one, a stream that breaks halfway and an event longer than 64 KiB; the gateway's pooled client
(``guard.upstream``) retries, times out, passes errors through and records what it released."""

from __future__ import annotations

from pathlib import Path

import httpx

from opentrust.backends.local_server import free_port
from opentrust.guard.log import read, verify
from tests.guard.conftest import gateway, post, sse_events, streamed_text

USER = [{"role": "user", "content": "hello"}]


def test_a_flaky_upstream_is_retried_until_it_answers(upstream: str, tmp_path: Path) -> None:
    with gateway(upstream, tmp_path / "g.db", retries=2) as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": "fine", "x_status": 503,
                                                "x_key": "flaky-1", "x_fail_first": 2})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "fine"
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": "fine", "x_status": 429, "stream": True,
                                                "x_key": "flaky-2", "x_fail_first": 1})
        assert r.status_code == 200 and streamed_text(sse_events(r)) == "fine"
        # one retry too many: the upstream's own error reaches the client
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_status": 502, "x_key": "flaky-3",
                                                "x_fail_first": 3})
        assert r.status_code == 502 and r.json()["error"]["message"] == "scripted failure"
    seen = httpx.get(upstream.removesuffix("/v1") + "/x_seen").json()
    assert (seen["flaky-1"], seen["flaky-2"], seen["flaky-3"]) == (3, 2, 3)
    records = read(tmp_path / "g.db")
    assert [rec["upstream_status"] for rec in records if rec["direction"] == "output"] == [200, 200]
    assert records[-1]["direction"] == "input" and records[-1]["upstream_status"] == 502


def test_a_slow_upstream_times_out_with_504(upstream: str, tmp_path: Path) -> None:
    with gateway(upstream, tmp_path / "g.db", retries=1, timeout_s=0.3) as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_delay_ms": 1500})
        assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout", r.text
        # a stream that stops mid-way: its headers went out already, so the client gets an error event
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_delay_ms": 1500, "stream": True})
        events = sse_events(r)
        assert r.status_code == 200 and events[-1] == "[DONE]"
        assert events[-2]["error"]["code"] == "upstream_timeout" and streamed_text(events) == ""
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": "quick"})  # the pool still works
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "quick"
    assert verify(tmp_path / "g.db")["intact"]


def test_streamed_errors_and_an_unreachable_upstream(upstream: str, tmp_path: Path) -> None:
    with gateway(upstream, tmp_path / "g.db") as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_status": 400, "stream": True})
        assert r.status_code == 400 and r.json()["error"]["message"] == "scripted failure"
    with gateway(f"http://127.0.0.1:{free_port()}/v1", tmp_path / "g2.db", retries=1) as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "stream": True})
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
        assert read(tmp_path / "g2.db")[-1]["upstream_status"] == 502


def test_a_stream_broken_halfway_is_recorded_as_incomplete(upstream: str, tmp_path: Path) -> None:
    text = "word " * 200  # 1,000 characters in 8-character chunks; the connection drops after 60 of them
    with gateway(upstream, tmp_path / "g.db") as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": text, "stream": True, "x_break_after": 60})
        events = sse_events(r)
        released = streamed_text(events)
        assert len(released) < 480 and text.startswith(released)  # never more than the upstream sent
        assert events[-2]["error"]["code"] == "upstream_stream_broken" and events[-1] == "[DONE]"
    records = read(tmp_path / "g.db")
    out = [rec for rec in records if rec["direction"] == "output"]
    assert out and out[-1]["decision"] == "incomplete"
    assert verify(tmp_path / "g.db")["intact"]


def test_an_event_longer_than_64_kib_is_relayed_whole(upstream: str, tmp_path: Path) -> None:
    big = "x" * 100_000  # one chunk, one server-sent event line of ~100 KB
    with gateway(upstream, tmp_path / "g.db", {"output": [{"check": "regex", "pattern": "forbidden",
                                                           "action": "block"}]}) as (base, _):
        r = post(base, "/v1/chat/completions", {"messages": USER, "x_chunks": [big, " end"], "stream": True})
        assert r.status_code == 200 and streamed_text(sse_events(r)) == big + " end"


def test_the_upstream_is_reached_through_the_environments_proxy(upstream: str, tmp_path: Path, monkeypatch) -> None:
    """HTTP_PROXY applies to the upstream as it does to httpx elsewhere; NO_PROXY exempts a host. The proxy is a
    real forwarding proxy on loopback (absolute-form request line in, the fixed upstream's answer out)."""
    import asyncio
    import threading

    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        seen.append(head[0])
        size = next((int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:")), 0)
        body = await reader.readexactly(size)
        target = head[0].split(" ")[1].replace("http://upstream.invalid/v1", upstream)
        async with httpx.AsyncClient(trust_env=False) as client:
            r = await client.post(target, content=body, headers={"content-type": "application/json"})
        writer.write(b"HTTP/1.1 %d OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                     b"connection: close\r\n\r\n" % (r.status_code, len(r.content)) + r.content)
        await writer.drain()
        writer.close()

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with gateway("http://upstream.invalid/v1", tmp_path / "g.db") as (base, _):
            r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": "via the proxy"}, trust_env=False)
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "via the proxy"
        assert seen == ["POST http://upstream.invalid/v1/chat/completions HTTP/1.1"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # exempt: the gateway goes straight to the upstream
        with gateway(upstream, tmp_path / "g2.db") as (base, _):
            assert post(base, "/v1/chat/completions", {"messages": USER, "x_text": "direct"},
                        trust_env=False).status_code == 200
        assert len(seen) == 1
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_streams_reuse_the_upstream_connection(tmp_path: Path) -> None:
    """After a whole streamed answer the gateway reads the upstream's last bytes and keeps the connection: ten
    streams one after another use one connection (a TLS upstream would otherwise pay a handshake per stream)."""
    from opentrust.guard.fixed_upstream import make_app
    from tests.guard.conftest import serve

    with serve(make_app(delay_s=0.0)) as up, gateway(up + "/v1", tmp_path / "g.db") as (base, _):
        for i in range(10):
            r = post(base, "/v1/chat/completions", {"messages": USER, "x_text": f"answer {i}", "stream": True,
                                                    "x_end_delay_ms": 20})
            assert streamed_text(sse_events(r)) == f"answer {i}"
        assert httpx.get(up + "/x_seen").json()["connections"] == 1
