"""State shared by the gateway's worker processes (``guard serve --workers N``): rate-limit buckets in one SQLite
file, and /metrics summed over every worker."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from opentrust.backends.local_server import free_port
from opentrust.guard.metrics import Metrics
from opentrust.guard.shared import MetricsFiles, SharedBuckets, reset
from tests.guard.test_kill import stop_gateway, wait_ready


def test_two_connections_share_one_bucket(tmp_path: Path) -> None:
    a, b = SharedBuckets(tmp_path / "r.sqlite"), SharedBuckets(tmp_path / "r.sqlite")  # as two workers would
    taken = [x.take("input.rate_limit", "key:1", rate=0.001, burst=3) for x in (a, b, a, b, a, b)]
    assert taken == [True, True, True, False, False, False]
    assert a.take("input.rate_limit", "key:2", rate=0.001, burst=3)  # another client, its own bucket
    assert b.take("other-rule", "key:1", rate=0.001, burst=3)


def test_metrics_sum_over_worker_files(tmp_path: Path) -> None:
    reset(tmp_path)
    one, two = Metrics(), Metrics()
    one.inc("opentrust_guard_requests_total", endpoint="chat", decision="allow")
    two.inc("opentrust_guard_requests_total", 2, endpoint="chat", decision="allow")
    two.observe("opentrust_guard_upstream_seconds", 0.003)
    files = MetricsFiles(tmp_path)
    other = tmp_path / "metrics-999999.json"
    files.own = other
    files.write(two.snapshot())
    files.own = tmp_path / "metrics-1.json"
    text = one.merged(files.others()).render()
    assert 'opentrust_guard_requests_total{decision="allow",endpoint="chat"} 3' in text
    assert "opentrust_guard_upstream_seconds_count 1" in text


@pytest.mark.slow
def test_workers_share_rate_limit_and_metrics(tmp_path: Path) -> None:
    up_port, gw_port = free_port(), free_port()
    policy = tmp_path / "guard.yml"
    policy.write_text("input:\n  - {check: rate_limit, requests_per_minute: 1, burst: 3, action: block}\n")
    upstream = subprocess.Popen([sys.executable, "-m", "opentrust.guard.fixed_upstream", "--port", str(up_port),
                                 "--delay-ms", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gw = subprocess.Popen([sys.executable, "-m", "opentrust", "guard", "serve", "--upstream",
                           f"openai:http://127.0.0.1:{up_port}/v1#fixed", "--port", str(gw_port), "--log",
                           str(tmp_path / "guard.db"), "--policy", str(policy), "--workers", "2"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{gw_port}"
    try:
        wait_ready(f"http://127.0.0.1:{up_port}/v1/models", upstream)
        wait_ready(base + "/healthz", gw)

        async def burst() -> list[int]:
            async def one() -> int:  # a connection each, so that both workers take requests
                async with httpx.AsyncClient(timeout=30) as client:
                    r = await client.post(base + "/v1/chat/completions", headers={"authorization": "Bearer k1"},
                                          json={"messages": [{"role": "user", "content": "hi"}]})
                    return r.status_code
            return await asyncio.gather(*(one() for _ in range(12)))

        codes = asyncio.run(burst())
        assert sorted(codes) == [200] * 3 + [429] * 9, codes  # one bucket of 3 for the key, not one per worker
        time.sleep(1.5)  # every worker has written its metrics
        for _ in range(3):  # whichever worker answers the scrape, the sum is the same
            # the other workers' numbers are up to a second old (README) — later under load: a scrape may wait
            deadline = time.monotonic() + 15
            while True:
                text = httpx.get(base + "/metrics").text
                total = sum(float(v) for v in re.findall(r"^opentrust_guard_requests_total\{[^}]*\} (\S+)$", text,
                                                         re.M))
                blocks = re.findall(r"^opentrust_guard_blocks_total\{.*$", text, re.M)
                if (total == 12 and blocks == ['opentrust_guard_blocks_total{rule="input.rate_limit"} 9']) \
                        or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert total == 12, text
            assert 'opentrust_guard_blocks_total{rule="input.rate_limit"} 9' in text, blocks
    finally:
        stop_gateway(gw, upstream)
