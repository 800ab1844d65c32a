"""Generate the derived sink table the pickle scanner ships: which library callables reach a sink.

    python scripts/gen_sink_table.py                                   # stdlib + ML libraries of this venv
    python scripts/gen_sink_table.py --site-packages /work/bench-venvs/torch/lib/python3.11/site-packages
    python scripts/gen_sink_table.py --check                           # regenerate, compare, exit 1 on drift

Analyses the source of the running Python's standard library (private modules and ``test.support`` included)
and of the ML libraries found on the given site-packages folders (default: numpy, scipy, scikit-learn, joblib,
torch) with ``opentrust.scan.callgraph`` — parsed with ``ast``, never imported — and writes
``src/opentrust/data/scan/sinks.zip``: for every analysed module, the callables whose call graph reaches
a code-execution or system sink (each with the next hop of a shortest chain) and the names the module
defines. The Python version and each library's version are recorded in the file; the output depends only on
those sources (sorted, fixed zip timestamps), so running the script again on the same versions gives the
same bytes. The zip holds ``index.json`` (versions, sinks, statistics, which chunk holds which package) and
one JSON chunk per package (split further where a package is large), so a lookup reads only its chunk.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from opentrust.scan import callgraph as cg  # noqa: E402

DEFAULT_OUT = REPO / "src" / "opentrust" / "data" / "scan" / "sinks.zip"
CHUNK_BYTES = 400_000  # a chunk larger than this is split by the next package level (fast lookups)
DEFAULT_PACKAGES = ("numpy", "scipy", "sklearn", "joblib", "torch")
#: import name -> distribution name (for the version recorded in the table)
DIST_NAMES = {"sklearn": "scikit_learn"}


def enumerate_modules(root: Path, package: str | None = None) -> list[str]:
    """Module names under ``root`` (the stdlib folder, or site-packages restricted to ``package``)."""
    out: list[str] = []
    start = root / package if package else root
    if package and (root / f"{package}.py").is_file():
        return [package]
    for dirpath, dirnames, filenames in os.walk(start):
        rel = Path(dirpath).relative_to(root)
        parts = list(rel.parts)
        if any(not p.isidentifier() for p in parts) or (not package and parts[:1] == ["site-packages"]):
            dirnames[:] = []
            continue
        if parts and not (Path(dirpath) / "__init__.py").exists():
            dirnames[:] = []  # not a package: data folders, vendored trees
            continue
        dirnames.sort()
        for fn in sorted(filenames):
            stem = fn[:-3]
            if not fn.endswith(".py") or not stem.isidentifier():
                continue
            out.append(".".join(parts) if stem == "__init__" else ".".join([*parts, stem]))
    return sorted(m for m in out if m)


def dist_version(site: Path, package: str) -> str | None:
    """The installed version, read from the ``*.dist-info`` folder name (never by importing)."""
    dist = DIST_NAMES.get(package, package).lower().replace("-", "_")
    for entry in sorted(os.listdir(site)):
        if entry.endswith(".dist-info"):
            name, _, rest = entry[: -len(".dist-info")].partition("-")
            if name.lower().replace("-", "_") == dist:
                return rest
    return None


def generate(stdlib: Path, sites: list[Path], packages: list[str], quiet: bool = False) -> dict:
    t0 = time.perf_counter()
    modules = enumerate_modules(stdlib)
    libraries: dict[str, str] = {}
    for pkg in packages:
        for site in sites:
            if (site / pkg).is_dir() or (site / f"{pkg}.py").is_file():
                version = dist_version(site, pkg)
                libraries[pkg] = version or "unknown"
                modules.extend(enumerate_modules(site, pkg))
                break
        else:
            print(f"  ! {pkg} not found in {', '.join(map(str, sites)) or 'no site-packages'}: left out",
                  file=sys.stderr)
    graph = cg.CallGraph(cg.SourceFinder([str(stdlib), *map(str, sites)]))
    for i, m in enumerate(modules):
        graph.module(m)
        if not quiet and i % 500 == 0:
            print(f"  parsed {i}/{len(modules)} modules ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    entries, via = cg.table_for(graph, modules)
    n_dangerous = sum(len(e["d"]) for e in entries.values())
    n_names = sum(len(e["k"].split()) for e in entries.values())
    return {
        "format": 1,
        "generated_by": "scripts/gen_sink_table.py",
        "python": platform.python_version(),
        "libraries": dict(sorted(libraries.items())),
        "sinks": dict(sorted(cg.SINKS.items())),
        "stats": {"modules": len(entries), "callables": n_names, "dangerous": n_dangerous,
                  "unparsable": sorted(graph.errors)},
        "modules": dict(sorted(entries.items())),
        "via": via,
    }


def _chunks(modules: dict[str, dict], level: int = 1) -> dict[str, dict[str, dict]]:
    """Group modules by package prefix; split a group larger than CHUNK_BYTES by the next level."""
    groups: dict[str, dict[str, dict]] = {}
    for m, e in modules.items():
        groups.setdefault(".".join(m.split(".")[:level]), {})[m] = e
    out: dict[str, dict[str, dict]] = {}
    for prefix, members in sorted(groups.items()):
        size = len(json.dumps(members))
        deeper = {m for m in members if m.count(".") >= level}
        if size > CHUNK_BYTES and deeper:
            own = {m: e for m, e in members.items() if m not in deeper}
            if own:
                out[prefix] = own
            out.update(_chunks({m: members[m] for m in deeper}, level + 1))
        else:
            out[prefix] = members
    return out


def dump(doc: dict) -> bytes:
    """The table as a zip of JSON chunks, byte-for-byte reproducible."""
    import zipfile

    chunks = _chunks(doc["modules"])
    via_by_chunk: dict[str, dict[str, str]] = {}
    prefixes = sorted(chunks, key=len, reverse=True)
    for k, v in doc["via"].items():
        owner = next((p for p in prefixes if k == p or k.startswith(p + ".")), "")
        via_by_chunk.setdefault(owner, {})[k] = v
    index = {k: v for k, v in doc.items() if k not in ("modules", "via")}
    index["chunks"] = {prefix: f"c/{prefix}.json" for prefix in chunks}
    if "" in via_by_chunk:
        index["via"] = via_by_chunk.pop("")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        def put(name: str, obj: object) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, json.dumps(obj, sort_keys=True, separators=(",", ":")), compresslevel=9)

        put("index.json", index)
        for prefix, members in sorted(chunks.items()):
            put(f"c/{prefix}.json", {"modules": members, "via": via_by_chunk.get(prefix, {})})
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--site-packages", type=Path, action="append", default=[],
                    help="folders holding the libraries to analyse (default: this interpreter's purelib)")
    ap.add_argument("--packages", default=",".join(DEFAULT_PACKAGES))
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args()
    sites = args.site_packages or [Path(sysconfig.get_paths()["purelib"])]
    doc = generate(args.stdlib, sites, [p for p in args.packages.split(",") if p])
    data = dump(doc)
    st = doc["stats"]
    print(f"python {doc['python']}, libraries {doc['libraries']}: {st['modules']} modules, {st['callables']} "
          f"callables, {st['dangerous']} reach a sink; {len(data) / 1e6:.2f} MB")
    if args.check:
        if not args.out.exists() or args.out.read_bytes() != data:
            print(f"{args.out} differs from a fresh generation", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
