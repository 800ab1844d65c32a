"""Load benchmark of `opentrust guard`: what the gateway adds to latency, time to first token and CPU.

    .venv/bin/python benchmarks/guard_load.py                      # rates 50 100 200 300 400 /s, 8 s each
    .venv/bin/python benchmarks/guard_load.py --rates 100 200 --seconds 5 --json out.json
    .venv/bin/python benchmarks/guard_load.py --litellm /work/bench-venvs/litellm/bin/litellm

Everything runs on 127.0.0.1: a purpose-built upstream (``opentrust.guard.fixed_upstream``: a fixed 20 ms delay,
fixed text, streamed in 8-character chunks), the gateway with the default policy (input: prompt_injection,
jailbreak, adversarial_suffix, secrets, pii; output: secrets, pii, system_prompt_leak) and its audit log, and an asyncio
client that sends requests at a fixed rate (open loop: arrivals do not wait for answers), each rate once
directly to the upstream and once through the gateway, non-streaming. Reported per rate:

- p50 / p99 latency direct and through the gateway, and the **added** p50 / p99 (gateway quantile minus direct
  quantile: the requests are not paired, so this is the difference of distributions);
- the highest rate whose p99 added latency is under 10 ms, with every request answered;
- CPU per request: the gateway process's user+system CPU time over the run divided by the requests;
- streaming: time to first content token direct vs through the gateway (the hold-back window: the default
  policy's longest pattern is 256 characters, so the first token waits for 256 more characters of answer).

``--clients`` also measures the upstream client the gateway uses against the one it replaced: CPU per call of
aiohttp (``opentrust.guard.upstream``; also with aiohttp's ``trust_env``, which the gateway avoids) and httpx,
each making the same 2,000 calls to the fixed upstream from this
process (the reason for ``guard/upstream.py``'s choice).

With ``--litellm PATH`` the same non-streaming load also goes through LiteLLM's proxy (no guardrails configured:
its proxy overhead alone) when it starts offline. ``--cpus 0,1`` pins the gateway (and LiteLLM) to those cores (the
issue's target is 2 cores) and the upstream and client to the other cores; without it every process shares all
cores. Timings are for this machine.

Standalone (a fresh checkout, no opentrust install, no network): any Python >= 3.11 with the gateway's packages —
``pip install aiohttp httpx starlette uvicorn uvloop httptools pydantic phonenumbers pluggy google-re2 pyyaml`` — then
``python benchmarks/guard_load.py --cpus 0,1 --json out.json`` from the checkout's root (it puts ``src/`` on the path
of the processes it starts). ``taskset`` (util-linux) is needed for ``--cpus``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from opentrust.backends.local_server import free_port, wait_http  # noqa: E402

BODY = {"model": "fixed", "messages": [{"role": "user", "content": "What will the weather be like in Paris "
                                                                   "tomorrow? Please answer briefly."}]}
LITELLM_KEY = "sk-opentrust-load-benchmark-0001"  # LiteLLM's proxy refuses to start without a master key
LONG = ("The forecast for Paris tomorrow is mild and mostly dry. Morning temperatures start around eleven degrees "
        "and rise to eighteen by the afternoon, with a light westerly wind. ") * 8


def start(args: list[str], cpus: str | None, env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    if cpus:
        args = ["taskset", "-c", cpus, *args]
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})


def wait(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    wait_http(url, proc, timeout_s, str(proc.args[:4]))


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children that are still running (uvicorn's worker processes)."""
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            pids += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def q(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))] if v else float("nan")


async def drive(url: str, rate: float, seconds: float, stream: bool = False, body: dict | None = None,
                headers: dict | None = None) -> dict:
    """Open-loop load: one request every 1/rate s; latency (or time to first content token when streaming)."""
    body = {**(body or BODY), **({"stream": True} if stream else {})}
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(timeout=5, limits=limits, headers=headers) as client:
        async def one() -> None:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                if stream:
                    async with client.stream("POST", url, json=body) as r:
                        first = None
                        async for line in r.aiter_lines():
                            if first is None and '"content":"' in line and '"content":""' not in line:
                                first = time.perf_counter() - t0
                        if r.status_code != 200 or first is None:
                            errors += 1
                            return
                        lat.append(first)
                else:
                    r = await client.post(url, json=body)
                    if r.status_code != 200:
                        errors += 1
                        return
                    lat.append(time.perf_counter() - t0)
            except httpx.HTTPError:
                errors += 1

        for _ in range(max(3, int(rate // 10))):  # warm the connections (not measured)
            await one()
        lat.clear()
        errors = 0
        tasks = []
        n = int(rate * seconds)
        start_t = time.perf_counter()
        for i in range(n):
            delay = start_t + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        behind = time.perf_counter() - start_t - seconds
    return {"n": n, "ok": len(lat), "errors": errors, "p50_ms": q(lat, 0.5) * 1000, "p99_ms": q(lat, 0.99) * 1000,
            "finish_lag_s": round(behind, 3)}


def measure(name: str, url: str, pid: int | None, rate: float, seconds: float, stream: bool = False,
            body: dict | None = None) -> dict:
    c0 = cpu_seconds(pid) if pid else 0.0
    headers = {"authorization": f"Bearer {LITELLM_KEY}"} if name == "litellm" else None
    m = asyncio.run(drive(url, rate, seconds, stream, body, headers))
    if pid:
        m["cpu_ms_per_request"] = (cpu_seconds(pid) - c0) * 1000 / max(1, m["ok"] + m["errors"])
    m["target"], m["rate"] = name, rate
    return m


def client_cost(upstream: str, calls: int = 2000, rounds: int = 2) -> dict:
    """CPU per upstream call (ms) of aiohttp and httpx, same calls, same fixed upstream, best of ``rounds``."""
    import resource

    import aiohttp

    url, payload = upstream + "/chat/completions", json.dumps(BODY).encode()
    headers = {"content-type": "application/json"}

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    async def run(kind: str) -> float:
        if kind == "httpx":
            client = httpx.AsyncClient(limits=httpx.Limits(max_connections=512, max_keepalive_connections=128))

            async def one() -> None:
                r = await client.request("POST", url, content=payload, headers=headers)
                assert r.status_code == 200 and r.json()["choices"]
        else:
            # "aiohttp trust_env": what the environment's proxy settings cost when aiohttp reads them per request
            client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512), trust_env=kind.endswith("env"))

            async def one() -> None:
                async with client.request("POST", url, data=payload, headers=headers) as r:
                    assert r.status == 200 and json.loads(await r.read())["choices"]
        try:
            for _ in range(20):
                await one()
            c0 = cpu()
            for _ in range(calls // 10):  # ten in flight at a time, as under load
                await asyncio.gather(*[one() for _ in range(10)])
            return (cpu() - c0) * 1000 / calls
        finally:
            await (client.aclose() if kind == "httpx" else client.close())

    out = {k: min(asyncio.run(run(k)) for _ in range(rounds)) for k in ("aiohttp", "aiohttp trust_env", "httpx")}
    out["ratio_httpx_over_aiohttp"] = out["httpx"] / out["aiohttp"]
    return out


def litellm_proxy(path: str, upstream: str, port: int, cpus: str | None, tmp: Path) -> subprocess.Popen | None:
    cfg = tmp / "litellm.yaml"
    cfg.write_text(f"model_list:\n  - model_name: fixed\n    litellm_params:\n      model: openai/fixed\n"
                   f"      api_base: {upstream}\n      api_key: none\n")
    proc = start([path, "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                 cpus, {"LITELLM_MASTER_KEY": LITELLM_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "NO_DOCS": "True",
                        "DISABLE_ADMIN_UI": "True", "LITELLM_TELEMETRY": "False"}, tmp / "litellm.log")
    try:
        wait(f"http://127.0.0.1:{port}/health/liveliness", proc, 120)
        return proc
    except RuntimeError as exc:
        print(f"litellm: did not start ({exc}); see {tmp / 'litellm.log'}")
        proc.kill()
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description="opentrust guard load benchmark (loopback only)")
    ap.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 300, 400])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--delay-ms", type=float, default=20.0, help="the fixed upstream's answer delay")
    ap.add_argument("--stream-rate", type=float, default=20.0)
    ap.add_argument("--cpus", help="pin every process to these cores (taskset -c), e.g. 0,1")
    ap.add_argument("--workers", type=int, default=1, help="gateway processes (guard serve --workers)")
    ap.add_argument("--litellm", help="path to LiteLLM's `litellm` proxy command (optional)")
    ap.add_argument("--clients", action="store_true", help="also compare the upstream clients' CPU per call")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if args.cpus and not shutil.which("taskset"):
        sys.exit("--cpus needs taskset")
    others = None
    if args.cpus:  # the gateway (and LiteLLM) on these cores; the upstream and this client on the rest
        mine = {int(c) for c in args.cpus.split(",")}
        rest = sorted(set(os.sched_getaffinity(0)) - mine)
        if rest:
            others = ",".join(map(str, rest))
            os.sched_setaffinity(0, set(rest))
    tmp = Path(tempfile.mkdtemp(prefix="guard-load-"))
    up_port, gw_port, ll_port = free_port(), free_port(), free_port()
    py = sys.executable
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    procs = []
    results: dict = {"workers": args.workers, "machine": {"gateway_cpus": args.cpus or f"all ({os.cpu_count()})", "client_cpus": others,
                                 "load_average_at_start": os.getloadavg()}, "rows": [], "stream": []}
    try:
        up = start([py, "-m", "opentrust.guard.fixed_upstream", "--port", str(up_port), "--delay-ms",
                    str(args.delay_ms), "--chunk-chars", "8", "--chunk-delay-ms", "2"], others, env)
        procs.append(up)
        upstream = f"http://127.0.0.1:{up_port}/v1"
        wait(upstream + "/models", up)
        gw = start([py, "-m", "opentrust.guard.server", upstream, "fixed", str(gw_port), str(tmp / "guard.db"),
                    str(args.workers)],
                   args.cpus, env, tmp / "gateway.log")
        procs.append(gw)
        gateway = f"http://127.0.0.1:{gw_port}/v1"
        wait(f"http://127.0.0.1:{gw_port}/healthz", gw)
        ll = litellm_proxy(args.litellm, upstream, ll_port, args.cpus, tmp) if args.litellm else None
        if ll:
            procs.append(ll)
        print(f"{'rate/s':>7} {'target':10} {'ok':>6} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} "
              f"{'+p99 ms':>8} {'cpu ms/req':>10}")
        for rate in args.rates:
            direct = measure("direct", upstream + "/chat/completions", None, rate, args.seconds)
            targets = [("guard", gateway + "/chat/completions", gw.pid)]
            if ll:
                targets.append(("litellm", f"http://127.0.0.1:{ll_port}/v1/chat/completions", ll.pid))
            rows = [direct] + [measure(n, u, p, rate, args.seconds) for n, u, p in targets]
            for m in rows:
                if m["target"] != "direct":
                    m["added_p50_ms"] = m["p50_ms"] - direct["p50_ms"]
                    m["added_p99_ms"] = m["p99_ms"] - direct["p99_ms"]
                results["rows"].append(m)
                print(f"{rate:7.0f} {m['target']:10} {m['ok']:6d} {m['errors']:4d} {m['p50_ms']:8.2f} "
                      f"{m['p99_ms']:8.2f} {m.get('added_p50_ms', 0):8.2f} {m.get('added_p99_ms', 0):8.2f} "
                      f"{m.get('cpu_ms_per_request', float('nan')):10.2f}")
        for name in ["guard"] + (["litellm"] if ll else []):
            ok = [m["rate"] for m in results["rows"] if m["target"] == name and m["errors"] == 0
                  and m["added_p99_ms"] < 10.0]
            results[f"max_rate_p99_added_under_10ms_{name}"] = max(ok) if ok else None
            print(f"{name}: highest rate with p99 added < 10 ms and no errors: {max(ok) if ok else 'none'} /s")
        stream_body = {**BODY, "x_text": LONG}
        sd = measure("direct", upstream + "/chat/completions", None, args.stream_rate, args.seconds, True, stream_body)
        sg = measure("guard", gateway + "/chat/completions", gw.pid, args.stream_rate, args.seconds, True, stream_body)
        results["stream"] = [sd, sg]
        print(f"streaming ({len(LONG)} characters in 8-character chunks every 2 ms, {args.stream_rate:g}/s): time to "
              f"first token p50 direct {sd['p50_ms']:.1f} ms, guard {sg['p50_ms']:.1f} ms (added "
              f"{sg['p50_ms'] - sd['p50_ms']:.1f} ms); p99 added {sg['p99_ms'] - sd['p99_ms']:.1f} ms")
        if args.litellm and not ll:
            results["litellm"] = "did not start offline"
        if args.clients:
            # the upstream's delay would only add idle time: the clients' CPU per call does not depend on it
            c = results["upstream_clients"] = client_cost(upstream)
            print(f"upstream client CPU per call: aiohttp {c['aiohttp']:.3f} ms (with trust_env "
                  f"{c['aiohttp trust_env']:.3f} ms), httpx {c['httpx']:.3f} ms "
                  f"(httpx / aiohttp = {c['ratio_httpx_over_aiohttp']:.1f})")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
