"""Scale-out on Ray: the same red-team campaign serially, with the local executor and on Ray at 1-16 workers,
against a purpose-built OpenAI-compatible server that answers after a fixed delay; and a synthetic model
registry scanned locally and on Ray.

Why a simulated endpoint: throughput is then limited by the endpoint's latency (as with a remote GPU server),
not by this machine's cores, so the figures show what the executors add, not how fast SmolLM2 runs here.

The server (this script with ``--serve``, in its own process on 127.0.0.1) answers ``/v1/chat/completions``
after ``--delay-ms`` (default 200 ms), any number of requests at once, with an answer derived from the request
alone: a refusal when the first byte of the SHA-256 of the messages is even, else a compliant answer that
repeats the start of the prompt. So every executor must produce the same result counts; the script checks it,
and checks that the server answered exactly as many completions as the campaign generated (no sample lost or
generated twice). ``/bench/count`` reports the completions served.

Configurations (each with a fresh --db, so no sample is reused between them; seed 0):
  serial      the local executor at --concurrency 1 (the reference rate)
  local N     the local executor (this process's event loop) at --concurrency N
  ray N       the Ray executor with --ray-workers N --concurrency N (one slot per worker), on a local Ray
              instance started here with --ray-cpus logical CPUs (16)
  ray WxS     --ray-workers W --concurrency W*S (S slots per worker; --ray-shared, default 4x4 and 2x8): the same
              16 requests in flight from fewer worker processes
local N and ray N run back to back, --repeat times (2) for N >= 2, and the best of each is reported: this
machine is shared, and runs minutes apart would compare two loads rather than two executors (all runs are in
the JSON, ``redteam_all_runs``).
For each: generations/s (steady: from the campaign's start, less the time its Ray workers took to start; and
end to end), scaling efficiency = rate / (N x serial rate), p50/p95 sample latency as the campaign's sampler
saw it (request to answer, in the driver: it includes Ray's round trip), the Ray workers' start-up, and the
local-vs-Ray ratio at equal concurrency. Ray's fixed start-up cost is the Ray instance's start (once) plus the
workers' start (per run).

Scan: a registry of --scan-folders (2,000) model folders (config.json, a small safetensors or pickle file, a
README; every 100th pickle hostile) scanned in this process and on a Ray instance with 2 CPUs (2 task slots);
files/s, and the two reports compared (they must be identical but for timings).

Run (2 cores here, shared: always niced):
    nice -n 10 .venv/bin/python benchmarks/scale_out.py
    nice -n 10 .venv/bin/python benchmarks/scale_out.py --profile quick --workers 1,2,4 --skip-scan   # shorter
Results: benchmarks/results/scale_out.json (--out).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pickle
import platform
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

MODEL = "scale-out-sim"
REFUSAL = "I'm sorry, but I can't help with that request."
RESULTS = Path(__file__).resolve().parent / "results"


# -- the simulated endpoint ------------------------------------------------------------------------------------

def answer_for(messages: list[dict[str, Any]]) -> str:
    """The server's answer: a function of the messages only (never of the seed, the time or the executor)."""
    key = json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()
    if hashlib.sha256(key).digest()[0] % 2 == 0:
        return REFUSAL
    last = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"Sure, here is how: first, {' '.join(last.split()[:12])}; then follow the steps."


async def serve(port: int, delay_s: float) -> None:
    state = {"completions": 0}

    async def route(method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0]
        if method == "GET" and path == "/v1/models":
            return 200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "benchmark"}]}
        if method == "GET" and path == "/bench/count":
            return 200, dict(state)
        if method == "POST" and path in ("/v1/chat/completions", "/v1/completions"):
            req = json.loads(body or b"{}")
            messages = req.get("messages") or [{"role": "user", "content": req.get("prompt", "")}]
            await asyncio.sleep(delay_s)
            text = answer_for(messages)
            state["completions"] += 1
            prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages)
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if path.endswith("chat/completions"):
                choice["message"] = {"role": "assistant", "content": text}
            else:
                choice["text"] = text
            return 200, {"id": f"sim-{state['completions']}", "object": "chat.completion", "model": MODEL,
                         "choices": [choice], "usage": {"prompt_tokens": prompt_tokens,
                                                        "completion_tokens": len(text.split())}}
        return 404, {"error": {"message": f"no route {method} {path}"}}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, doc = await route(method, path, body)
                data = json.dumps(doc).encode()
                writer.write(f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\nContent-Type: "
                             f"application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


class Endpoint:
    """The server in its own process (so it never competes with the driver for this process's GIL)."""

    def __init__(self, delay_ms: float):
        from opentrust.backends.local_server import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(self.port),
                                      "--delay-ms", str(delay_ms)])
        deadline = time.monotonic() + 30
        while True:
            try:
                self.count()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise SystemExit("the simulated endpoint did not start")
                time.sleep(0.1)

    @property
    def spec(self) -> str:
        return f"openai:{self.base}#{MODEL}"

    def count(self) -> int:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/bench/count", timeout=5) as r:
            return int(json.loads(r.read())["completions"])

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- timing the campaign's samples -----------------------------------------------------------------------------

def timed_executor(inner: Any, latencies: list[float]) -> Any:
    """An executor that hands out its inner executor's backends, timing every generation where the campaign's
    sampler awaits it (in the driver), and timing how long each backend took to build (Ray: its workers)."""
    from opentrust.backends.base import Backend
    from opentrust.executor.base import Executor

    class TimedBackend(Backend):
        def __init__(self, backend: Any):
            self.inner = backend
            self.name = backend.name
            self.max_concurrency = backend.max_concurrency

        async def generate(self, request: Any, seed: int | None = None) -> Any:
            t0 = time.perf_counter()
            out = await self.inner.generate(request, seed)
            latencies.append(time.perf_counter() - t0)
            return out

        def provenance(self) -> dict[str, object]:
            return self.inner.provenance()  # type: ignore[no-any-return]

        def describe(self) -> dict[str, object]:
            return self.inner.describe()  # type: ignore[no-any-return]

        async def aclose(self) -> None:
            await self.inner.aclose()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    class TimedExecutor(Executor):
        def __init__(self) -> None:
            self.name = inner.name
            self.backend_start_s = 0.0

        def backend(self, target: Any, concurrency: int | None = None) -> Any:
            t0 = time.perf_counter()
            backend = inner.backend(target, concurrency)
            self.backend_start_s += time.perf_counter() - t0
            return TimedBackend(backend)

        def map(self, fn: Any, items: Any, units: Any = None) -> Any:
            return inner.map(fn, items, units)

        def nodes(self) -> Any:
            return inner.nodes()

        def describe(self) -> dict[str, Any]:
            return inner.describe()  # type: ignore[no-any-return]

        def close(self) -> None:
            inner.close()

    return TimedExecutor()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def result_counts(result: Any) -> dict[str, Any]:
    """What must not depend on the executor: samples and attack successes per category, and a digest of every
    probe's outcome."""
    per: dict[str, dict[str, int]] = {}
    rows = []
    for o in result.outcomes:
        c = per.setdefault(o.probe.category, {"probes": 0, "samples": 0, "attack_successes": 0})
        c["probes"] += 1
        c["samples"] += o.result.samples
        c["attack_successes"] += o.attack_successes
        rows.append((o.probe.id, o.result.samples, o.attack_successes, o.result.verdict))
    digest = hashlib.sha256(json.dumps(sorted(rows)).encode()).hexdigest()[:16]
    return {"by_category": dict(sorted(per.items())), "outcomes_digest": digest}


def run_config(label: str, kind: str, n: int, plan: Any, endpoint: Endpoint, workdir: Path,
               workers: int | None = None) -> dict[str, Any]:
    """One campaign at concurrency ``n``; on Ray with ``workers`` workers (default ``n``: one slot each)."""
    from opentrust.executor import make_executor
    from opentrust.redteam.campaign import run_campaign

    latencies: list[float] = []
    # a fresh store for every run: nothing cached from another configuration or repeat
    db = Path(tempfile.mkdtemp(prefix=label.replace(" ", "-") + "-", dir=workdir)) / "store.db"
    before = endpoint.count()
    t0, cpu0 = time.perf_counter(), time.process_time()
    workers = (workers or n) if kind == "ray" else None
    inner = make_executor(kind, None, workers)
    ex = timed_executor(inner, latencies)
    try:
        result = run_campaign(plan, endpoint.spec, db=db, seed=0, concurrency=n, executor=ex)
        nodes = [{"node": s.node, "workers": s.workers, "samples": s.samples, "per_s": round(s.per_s, 2)}
                 for s in ex.nodes()]
    finally:
        ex.close()
    total_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    served = endpoint.count() - before
    generated = result.stats.generated
    steady_s = max(result.stats.wall_s - ex.backend_start_s, 1e-9)
    return {"config": label, "executor": kind, "concurrency": n, "workers": workers,
            "generated": generated, "served_by_endpoint": served, "campaign_wall_s": round(result.stats.wall_s, 3),
            "worker_start_s": round(ex.backend_start_s, 3) if kind == "ray" else 0.0,
            "end_to_end_s": round(total_s, 3), "gen_per_s": round(generated / steady_s, 3),
            "gen_per_s_end_to_end": round(generated / total_s, 3),
            "p50_latency_ms": round(1000 * percentile(latencies, 0.5), 1),
            "p95_latency_ms": round(1000 * percentile(latencies, 0.95), 1), "nodes": nodes,
            "driver_cpu_ms_per_gen": round(1000 * cpu_s / max(generated, 1), 2),
            "load_1min_after": round(os.getloadavg()[0], 2),
            "counts": result_counts(result)}


# -- the scan part ---------------------------------------------------------------------------------------------

def _safetensors(path: Path, i: int) -> None:
    data = struct.pack("<16f", *[float(i % 7 + k) for k in range(16)])
    header = json.dumps({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]},
                         "__metadata__": {"format": "pt"}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)


def build_registry(root: Path, folders: int) -> Path:
    """``folders`` model folders: config.json, README.md and a small weights file (safetensors for two
    folders in three, else a pickle; every 100th pickle calls os.system: it is scanned, never loaded)."""
    for i in range(folders):
        d = root / f"org{i % 20:02d}" / f"model-{i:05d}"
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64 + i % 5,
                                                   "architectures": ["LlamaForCausalLM"]}))
        (d / "README.md").write_text(f"# model {i}\n\nA small synthetic model for the scale-out benchmark.\n")
        if i % 3:
            _safetensors(d / "model.safetensors", i)
        elif i % 100 == 0:
            (d / "pytorch_model.bin").write_bytes(b"cos\nsystem\n(S'echo scanned-never-run'\ntR.")
        else:
            (d / "pytorch_model.bin").write_bytes(pickle.dumps({"w": [float(i)] * 8, "step": i}, protocol=2))
    return root


def run_scan_part(folders: int, workdir: Path, ray_mod: Any) -> dict[str, Any]:
    from opentrust.executor import make_executor
    from opentrust.scan.dispatch import scan_paths
    from opentrust.scan.report import to_json_dict

    registry = build_registry(workdir / "registry", folders)

    def stable(doc: dict[str, Any]) -> dict[str, Any]:
        for f in doc["files"]:
            f.pop("seconds")
        doc["summary"].pop("seconds")
        return doc

    t0 = time.perf_counter()
    local = scan_paths([registry])
    local_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ray_mod.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 object_store_memory=128 * 1024 * 1024)
    ray_start_s = time.perf_counter() - t0
    try:
        times = []
        for _ in range(2):  # the first scan starts Ray's worker processes (and their imports), the second reuses them
            with make_executor("ray") as ex:
                t0 = time.perf_counter()
                on_ray = scan_paths([registry], executor=ex)
                times.append(time.perf_counter() - t0)
                nodes = [{"node": s.node, "files": s.samples, "files_per_s": round(s.per_s, 1)} for s in ex.nodes()]
    finally:
        ray_mod.shutdown()
    t0 = time.perf_counter()
    scan_paths([registry])
    local_s = min(local_s, time.perf_counter() - t0)
    files = len([f for f in local.files if not f.format.startswith("folder:")])
    same = stable(to_json_dict(local)) == stable(to_json_dict(on_ray))
    cold, warm = times
    return {"folders": folders, "files": files, "findings": len(local.records),
            "critical": sum(1 for f in local.records if f.severity.value == "critical"),
            "local_s": round(local_s, 3), "local_files_per_s": round(files / local_s, 1),
            "ray_cpus": 2, "ray_start_s": round(ray_start_s, 3), "ray_cold_s": round(cold, 3),
            "ray_s": round(warm, 3), "ray_cold_files_per_s": round(files / cold, 1),
            "ray_files_per_s": round(files / warm, 1), "ray_vs_local": round(local_s / warm, 3),
            "ray_nodes": nodes, "reports_identical": same}


# -- main --------------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--delay-ms", type=float, default=200.0, help="the endpoint's answer delay (200)")
    ap.add_argument("--profile", default="standard", help="red-team profile of the campaign (standard)")
    ap.add_argument("--workers", default="1,2,4,8,16", help="Ray worker counts (= concurrency)")
    ap.add_argument("--local", default="1,2,4,8,16", help="local executor concurrencies (1 = serial)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each local/Ray pair at N >= 2; the best is shown")
    ap.add_argument("--ray-shared", default="4x4,2x8",
                    help="extra Ray runs as WORKERSxSLOTS (--concurrency WORKERS*SLOTS); '' for none")
    ap.add_argument("--ray-cpus", type=int, default=16, help="logical CPUs of the local Ray instance (16)")
    ap.add_argument("--scan-folders", type=int, default=2000)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-scan", action="store_true")
    ap.add_argument("--skip-redteam", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "scale_out.json")
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.port, args.delay_ms / 1000))
        return 0

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, width=max(160, Console(stderr=True).width))
    doc: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "load_before": os.getloadavg()},
                           "delay_ms": args.delay_ms, "profile": args.profile}
    workers = [int(x) for x in args.workers.split(",") if x]
    local_ns = [int(x) for x in args.local.split(",") if x]
    ok = True
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        workdir = Path(tmp)
        if not args.skip_redteam:
            ok &= redteam_part(args, doc, workers, local_ns, workdir, console, Table)
        if not args.skip_scan and not args.skip_ray:
            import ray

            console.print(f"[bold]scan[/]: {args.scan_folders} synthetic model folders, locally and on Ray (2 CPUs)")
            scan = run_scan_part(args.scan_folders, workdir, ray)
            doc["scan"] = scan
            t = Table(title="scan: synthetic registry", title_justify="left")
            for col in ("executor", "files", "seconds", "files/s"):
                t.add_column(col, justify="left" if col == "executor" else "right")
            t.add_row("local (this process)", str(scan["files"]), f"{scan['local_s']:.2f}",
                      f"{scan['local_files_per_s']:.0f}")
            t.add_row("ray, 2 CPUs, first scan", str(scan["files"]), f"{scan['ray_cold_s']:.2f}",
                      f"{scan['ray_cold_files_per_s']:.0f}")
            t.add_row("ray, 2 CPUs, workers warm", str(scan["files"]), f"{scan['ray_s']:.2f}",
                      f"{scan['ray_files_per_s']:.0f}")
            console.print(t)
            console.print(f"scan: Ray (warm) / local files/s = {scan['ray_vs_local']:.2f} (Ray instance start "
                          f"{scan['ray_start_s']:.1f} s, not included; the local figure is the faster of two "
                          f"scans); reports identical: "
                          f"{'OK' if scan['reports_identical'] else 'DIFFERENT'}")
            ok &= scan["reports_identical"]
    doc["machine"]["load_after"] = os.getloadavg()
    doc["checks_passed"] = ok
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(f"results: {args.out}")
    return 0 if ok else 1


def redteam_part(args: Any, doc: dict[str, Any], workers: list[int], local_ns: list[int], workdir: Path,
                 console: Any, Table: Any) -> bool:
    from opentrust.redteam.campaign import Plan
    from opentrust.redteam.catalogue import load_catalogue
    from opentrust.redteam.profiles import get_profile

    prof = get_profile(args.profile)
    plan = Plan.from_profile(prof, load_catalogue(), None, None)
    endpoint = Endpoint(args.delay_ms)
    runs: list[dict[str, Any]] = []
    try:
        console.print(f"[bold]redteam[/]: profile {args.profile} ({len(plan.probes)} probes) against a simulated "
                      f"endpoint answering after {args.delay_ms:.0f} ms")
        # warm-up, not recorded: imports, detector models and the endpoint's first connections are one-time
        # costs of this process that would otherwise all fall on the first (serial) configuration
        run_config("warm-up", "local", 16, plan, endpoint, workdir)
        runs.append(run_config("serial", "local", 1, plan, endpoint, workdir))
        console.print(f"  serial: {runs[-1]['gen_per_s']:.2f} gen/s")
        ray = None
        if not args.skip_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=args.ray_cpus, include_dashboard=False, logging_level="ERROR",
                     log_to_driver=False, object_store_memory=128 * 1024 * 1024)
            doc["ray_instance_start_s"] = round(time.perf_counter() - t0, 3)
            doc["ray_version"] = ray.__version__
        try:
            # local N and Ray N back to back (and --repeat times for N >= 2): this machine is shared, and a pair
            # run minutes apart would compare two loads rather than two executors
            for n in sorted(set(local_ns) | set(workers)):
                for rep in range(args.repeat if n >= 2 else 1):
                    pair = ([("local", n)] if n in local_ns and n > 1 else []) + \
                           ([("ray", n)] if n in workers and ray is not None else [])
                    for kind, k in pair:
                        runs.append(run_config(f"{kind} {k}", kind, k, plan, endpoint, workdir))
                        runs[-1]["repeat"] = rep + 1
                        extra = f" (workers started in {runs[-1]['worker_start_s']:.1f} s)" if kind == "ray" else ""
                        console.print(f"  {kind} {k} #{rep + 1}: {runs[-1]['gen_per_s']:.2f} gen/s{extra}")
            # fewer workers with several slots each: at 16 one-slot workers this 2-core machine runs 16 worker
            # processes besides the driver and the endpoint; these rows show what that costs
            for spec in [x for x in args.ray_shared.split(",") if x] if ray is not None else []:
                w, slots = (int(v) for v in spec.split("x"))
                for rep in range(args.repeat):
                    runs.append(run_config(f"ray {w}x{slots}", "ray", w * slots, plan, endpoint, workdir, workers=w))
                    runs[-1]["repeat"] = rep + 1
                    console.print(f"  ray {w} workers x {slots} slots #{rep + 1}: {runs[-1]['gen_per_s']:.2f} gen/s "
                                  f"(workers started in {runs[-1]['worker_start_s']:.1f} s)")
        finally:
            if ray is not None:
                ray.shutdown()
    finally:
        endpoint.close()
    all_runs = runs
    best: dict[str, dict[str, Any]] = {}
    for r in runs:  # the best of the repeats: the run least disturbed by other jobs on this machine
        if r["config"] not in best or r["gen_per_s"] > best[r["config"]]["gen_per_s"]:
            best[r["config"]] = r
    order = sorted(best.values(), key=lambda r: (r["config"] != "serial", r["executor"] != "local",
                                                 r["workers"] != r["concurrency"], r["concurrency"]))
    runs = order
    serial = runs[0]["gen_per_s"]
    local_rate = {r["concurrency"]: r["gen_per_s"] for r in runs if r["executor"] == "local"}
    # the campaign's own critical path: multi-turn probes first generate their open assistant turns one after
    # another (greedy, cached), and only then are the probes sampled; at N slots the best possible wall time is
    # delay x (lead rounds + ceil(probes / N)), below N x serial once N is large
    turns = [sum(1 for m in p.messages if m.role == "assistant" and m.content is None) for p in plan.probes]
    lead_gens = runs[0]["generated"] - len(plan.probes)
    for r in runs:
        n = r["concurrency"]
        rounds = (max(max(turns), -(-lead_gens // n)) if lead_gens > 0 else 0) + -(-len(plan.probes) // n)
        r["campaign_bound_gen_per_s"] = round(min(r["generated"] / (rounds * args.delay_ms / 1000),
                                                  n * serial), 3)
        r["efficiency"] = round(r["gen_per_s"] / (n * serial), 3)
        r["efficiency_vs_campaign_bound"] = round(r["gen_per_s"] / r["campaign_bound_gen_per_s"], 3)
        if r["executor"] == "ray" and r["concurrency"] in local_rate:
            r["ray_vs_local"] = round(r["gen_per_s"] / local_rate[r["concurrency"]], 3)
    doc["redteam"] = runs
    doc["redteam_all_runs"] = [{k: r[k] for k in ("config", "repeat", "gen_per_s", "worker_start_s", "p50_latency_ms",
                                                  "p95_latency_ms", "load_1min_after") if k in r} for r in all_runs]
    table = Table(title=f"redteam scale-out: {len(plan.probes)} probes, endpoint delay {args.delay_ms:.0f} ms, "
                        f"{os.cpu_count()} CPUs here; N >= 2: best of {args.repeat} runs", title_justify="left")
    for col in ("config", "gen", "gen/s", "gen/s e2e", "efficiency", "ray/local", "p50 ms", "p95 ms", "start s",
                "bound", "vs bound", "CPU ms/gen", "load", "counts"):
        table.add_column(col, justify="left" if col in ("config", "counts") else "right")
    reference, reference_gen = runs[0]["counts"], runs[0]["generated"]
    for r in runs:
        table.add_row(r["config"], str(r["generated"]), f"{r['gen_per_s']:.2f}", f"{r['gen_per_s_end_to_end']:.2f}",
                      f"{r['efficiency']:.2f}", f"{r['ray_vs_local']:.2f}" if "ray_vs_local" in r else "-",
                      f"{r['p50_latency_ms']:.0f}", f"{r['p95_latency_ms']:.0f}", f"{r['worker_start_s']:.1f}",
                      f"{r['campaign_bound_gen_per_s']:.1f}", f"{r['efficiency_vs_campaign_bound']:.2f}",
                      f"{r['driver_cpu_ms_per_gen']:.1f}", f"{r['load_1min_after']:.1f}",
                      r["counts"]["outcomes_digest"][:8] + (" =" if r["counts"] == reference else " DIFFERENT"))
    console.print(table)
    same = all(r["counts"] == reference for r in all_runs)
    exact = all(r["served_by_endpoint"] == r["generated"] == reference_gen for r in all_runs)
    doc["counts_identical"] = same
    doc["served_equals_generated"] = exact
    console.print(f"result counts identical across all {len(all_runs)} runs: {'OK' if same else 'NO'} "
                  f"({json.dumps(reference['by_category'])})")
    console.print(f"every run generated all {reference_gen} samples (fresh store) and the endpoint served exactly "
                  f"that many completions (none lost or duplicated): "
                  f"{'OK' if exact else 'NO'}")
    if "ray_instance_start_s" in doc:
        starts = [r["worker_start_s"] for r in all_runs if r["executor"] == "ray"]
        console.print(f"Ray fixed start-up: instance {doc['ray_instance_start_s']:.1f} s (once), workers "
                      f"{min(starts):.1f}-{max(starts):.1f} s per run (steady gen/s excludes both; 'e2e' includes "
                      f"the workers' start)")
    top = max([n for n in workers] + local_ns + [1])
    console.print("efficiency = gen/s / (N x serial gen/s); bound = the best this campaign allows at N slots (its "
                  "multi-turn probes' greedy turns come first, one round per turn), 'vs bound' = gen/s / bound; "
                  "CPU ms/gen: this driver process's CPU per generation; load: the machine's 1-minute load average "
                  "after the run")
    console.print(f"note: throughput is endpoint-bound by design: every answer takes {args.delay_ms:.0f} ms, so N slots "
                  f"can at best reach N x serial (ideal at {top}: {top * 1000 / args.delay_ms:.0f} gen/s). This "
                  f"machine has {os.cpu_count()} cores, shared by the driver, the endpoint, every Ray worker process "
                  f"and other jobs (load {os.getloadavg()[0]:.1f}); where efficiency falls short at high N, the "
                  f"local executor at the same concurrency (ray/local) separates this machine's CPU from Ray's cost")
    return same and exact


if __name__ == "__main__":
    sys.exit(main())
