"""Load figures of `opentrust ui` (issue 19): the inventory and model pages on a store with 100 models and 1,000
audits, target < 200 ms per page.

1. Templates from real runs (seconds): an audit of ``fake:coin=0.3`` (smoke, behaviour, red team: the sections
   with figures) and an audit of smollm2's file checks (model facts, scan, openness). Their sections are merged
   into one audit document, checked by ``opentrust.results.parse_result``.
2. A synthetic store written through the Store API (``record_model``, ``start_run``, ``put_sample``,
   ``link_sample``, ``save_results``, ``finish_run``, ``record_gate``): MODELS models × AUDITS audits, each audit
   the template with its own model, time (spread over days) and figures (attack success, pass rate, intervals),
   SAMPLES samples with latencies, and a gate verdict on every third audit.
3. The real app (``opentrust.ui.app.create_app``) served by uvicorn on 127.0.0.1 in its own process; httpx asks
   each URL REQUESTS times (after one warm-up request each) and the table gives p50 / p95 / max. The very first
   request (the inventory's run summaries computed from 1,000 results and kept, as ``opentrust models`` does)
   is reported apart as "cold".
4. The queries alone (``opentrust.ui.queries``), in this process, timed the same way.

No peer is run: the issue sets an absolute target (< 200 ms), and the tools it names as inspiration (MLflow, W&B)
are not installed offline here; their UIs would need their own stores of the same data, which this does not build.

    .venv/bin/python benchmarks/ui_load.py [--models 100] [--audits 10] [--samples 20] [--requests 50]

Writes benchmarks/results/ui_load.json.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 200.0


def cli(*args: str, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "opentrust", *args], env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"opentrust {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def template(work: Path) -> dict[str, Any]:
    """One audit document with every section the inventory and model page read, from two real audits."""
    env = {**os.environ, "OPENTRUST_DB": str(work / "template.db"), "OPENTRUST_CACHE": str(work / "cache")}
    cli("audit", "fake:coin=0.3", "--check", "smoke", "--check", "behaviour", "--check", "redteam", "--out",
        str(work / "t"), "--fail-on", "none", env=env)
    cli("audit", "smollm2", "--check", "model_facts", "--check", "scan", "--check", "openness", "--out",
        str(work / "t"), "--fail-on", "none", env=env)
    fake = json.loads(next((work / "t").glob("fake*/report.json")).read_text())
    real = json.loads((work / "t" / "smollm2" / "report.json").read_text())
    doc = copy.deepcopy(real)
    doc["sections"] = real["sections"] + fake["sections"]
    doc["findings"] = real.get("findings", []) + fake.get("findings", [])
    from opentrust.results import parse_result

    parse_result(doc, source="the benchmark's template")
    return doc


def vary(doc: dict[str, Any], model: int, audit: int, fp: str, spec: str, when: str, rng: random.Random
         ) -> dict[str, Any]:
    """The template as audit ``audit`` of model ``model``: its target, time and figures."""
    out = copy.deepcopy(doc)
    out["target"].update({"name": spec, "fingerprint": fp, "location": f"/models/{spec}"})
    out["created_at"] = when
    base_asr = (model % 10) / 12
    for s in out["sections"]:
        data = s.get("data") or {}
        if s["check"] == "redteam":
            a = data["summary"]["attack_success"]
            rate = min(1.0, max(0.0, base_asr + rng.uniform(-0.05, 0.05)))
            a.update({"asr": round(rate, 4), "ci": [round(max(0.0, rate - 0.06), 4), round(min(1.0, rate + 0.06), 4)]})
        if s["check"] == "behaviour":
            rate = min(1.0, max(0.0, 0.6 + (model % 7) / 20 + rng.uniform(-0.05, 0.05) + audit / 100))
            data["suite"].update({"pass_rate": round(rate, 4),
                                  "ci": [round(max(0.0, rate - 0.1), 4), round(min(1.0, rate + 0.1), 4)]})
    return out


def build_store(db: Path, doc: dict[str, Any], models: int, audits: int, samples: int, seed: int = 0
                ) -> dict[str, Any]:
    from opentrust.backends.base import Completion
    from opentrust.findings import Finding, Measurement
    from opentrust.store import Store

    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    findings = {s["check"]: [Finding.model_validate(f) for f in s.get("findings") or []] for s in doc["sections"]}
    measurements = {s["check"]: [Measurement.model_validate(m) for m in s.get("measurements") or []]
                    for s in doc["sections"]}
    gate = {"policy": "minimal", "policy_sha256": "0" * 64, "tier": "minimal", "use_case": None,
            "counts": {"pass": 5, "fail": 0}}
    fingerprints = []
    t0 = time.perf_counter()
    with Store(db) as store:
        for m in range(models):
            fp = hashlib.sha256(f"bench-model-{m}".encode()).hexdigest()
            spec = f"bench-model-{m:03d}"
            fingerprints.append(fp)
            for a in range(audits):
                when = (start + timedelta(days=a * 7, minutes=m)).isoformat(timespec="seconds")
                with mock.patch("opentrust.store.utc_now", return_value=when):
                    store.record_model(fp, "gguf", f"/models/{spec}.gguf", spec, f"/models/{spec}.gguf")
                    run_id, _ = store.start_run("audit", spec, fp, {"profile": "quick", "seed": a})
                    for i in range(samples):
                        completion = Completion(text=f"answer {i} of audit {a}", prompt_tokens=20,
                                                completion_tokens=30, latency_s=rng.uniform(0.2, 0.6), seed=i)
                        request = json.dumps({"messages": [{"role": "user", "content": f"q{i}"}], "a": a})
                        sid = store.put_sample(fp, hashlib.sha256(request.encode()).hexdigest(), 0, request,
                                               completion, run_id, {"backend": "bench"})
                        if sid:
                            store.link_sample(run_id, sid, reused=False)
                    for check in findings:
                        store.save_results(run_id, check, findings[check], measurements[check])
                    store.finish_run(run_id, "done", json.dumps(vary(doc, m, a, fp, spec, when, rng)))
                    if a % 3 == 0:
                        store.record_gate({**gate, "verdict": "pass" if (m + a) % 4 else "fail"}, fp, run_id)
    return {"fingerprints": fingerprints, "seconds": round(time.perf_counter() - t0, 1)}


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1),
            "max_ms": round(ordered[-1], 1)}


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    code = ("import sys, uvicorn\nfrom pathlib import Path\nfrom opentrust.ui.app import create_app\n"
            "uvicorn.run(create_app(Path(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]), "
            "log_level='warning', access_log=False)\n")
    return subprocess.Popen([sys.executable, "-c", code, str(db), str(port)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--audits", type=int, default=10, help="audits per model")
    ap.add_argument("--samples", type=int, default=20, help="samples per audit")
    ap.add_argument("--requests", type=int, default=50, help="requests per URL")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "ui_load.json")
    ap.add_argument("--keep", type=Path, help="build the store here and keep it")
    args = ap.parse_args()

    import httpx
    from rich.console import Console
    from rich.table import Table

    from opentrust.backends.local_server import free_port
    from opentrust.store import Store
    from opentrust.ui import queries as Q

    console = Console()
    work = Path(tempfile.mkdtemp(prefix="ui-load-"))
    db = (args.keep or work) / "opentrust.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    with console.status("templates from two real audits..."):
        doc = template(work)
    with console.status(f"writing {args.models} models × {args.audits} audits through the Store API..."):
        built = build_store(db, doc, args.models, args.audits, args.samples)
    with Store(db) as store:
        counts = {t: store._exec(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("models", "runs", "samples", "findings", "gate_results")}
    console.print(f"store: {counts} (written in {built['seconds']} s), {db.stat().st_size / 1e6:.0f} MB")

    rng = random.Random(1)
    fps = built["fingerprints"]
    port = free_port()
    proc = serve(db, port)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/static/ui.js")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("the UI server did not start")
                    time.sleep(0.1)
            t = time.perf_counter()
            r = client.get("/models")
            cold = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, r.text[:500]
            urls = {
                "inventory /models": lambda: "/models",
                "inventory sorted by attack success": lambda: "/models?sort=attack_success",
                "inventory filtered (q, scan)": lambda: "/models?q=model-0&scan=clean",
                "inventory page 2 (JSON API)": lambda: "/api/models?page=2",
                "model page /models/FP": lambda: f"/models/{rng.choice(fps)}",
                "model JSON /api/models/FP": lambda: f"/api/models/{rng.choice(fps)}",
            }
            for name, url in urls.items():
                check = client.get(url())
                assert check.status_code == 200, (url(), check.status_code, check.text[:300])
                ms = []
                for _ in range(args.requests):
                    u = url()
                    t = time.perf_counter()
                    resp = client.get(u)
                    ms.append((time.perf_counter() - t) * 1000)
                    assert resp.status_code == 200
                results[name] = {**percentiles(ms), "bytes": len(check.content)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    direct: dict[str, Any] = {}
    with Store(db) as store:
        calls = {
            "queries.inventory()": lambda: Q.inventory(store),
            "queries.inventory(sort=attack_success)": lambda: Q.inventory(store, sort="attack_success"),
            "queries.model_detail(FP)": lambda: Q.model_detail(store, rng.choice(fps)),
        }
        for name, fn in calls.items():
            fn()
            ms = []
            for _ in range(args.requests):
                t = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t) * 1000)
            direct[name] = percentiles(ms)

    table = Table(title=f"opentrust ui on {counts['models']} models, {counts['runs']} audits, "
                        f"{counts['samples']} samples (target < {TARGET_MS:.0f} ms)", title_justify="left")
    for col in ("request", "n", "p50 ms", "p95 ms", "max ms", "under target"):
        table.add_column(col, justify="left" if col == "request" else "right")
    table.add_row(f"first /models (cold: {counts['runs']:,} run summaries computed and kept)", "1",
                  f"{cold:.0f}", "", "", "yes" if cold < TARGET_MS else "no")
    for name, r in {**results, **direct}.items():
        table.add_row(name, str(r["n"]), f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['max_ms']:.1f}",
                      "yes" if r["max_ms"] < TARGET_MS else f"p95 {'yes' if r['p95_ms'] < TARGET_MS else 'no'}")
    console.print(table)
    out = {"benchmark": "ui_load", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "command": "python benchmarks/ui_load.py " + " ".join(sys.argv[1:]),
           "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
           "store": {**counts, "bytes": db.stat().st_size, "build_seconds": built["seconds"]},
           "target_ms": TARGET_MS, "cold_first_inventory_ms": round(cold, 1), "http": results, "queries": direct,
           "peers": "none run: the issue sets an absolute target; MLflow / W&B are not installed offline"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # the templates, and the store unless --keep


if __name__ == "__main__":
    main()
