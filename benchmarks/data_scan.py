"""`opentrust data` throughput, peak memory and recall of planted items on a generated corpus, with peers.

    .venv/bin/python benchmarks/data_scan.py                     # 1 GB corpus (JSONL + Parquet), all passes
    .venv/bin/python benchmarks/data_scan.py --size-mb 100 --peers-mb 5

The corpus (written to --dir, reused when it exists with the same size and seed): half JSONL, half Parquet,
rows of 300-900 characters of ordinary English-like text with dates, prices, versions, order numbers and
times (the look-alikes that make prefilters work), and one planted item every ~150 rows at a known field and
offset: e-mails, phones (US/UK/DE/FR formats), cards (Luhn-valid), IBANs (mod-97-valid), US SSNs, IPv4, and
secrets (GitHub, AWS, Slack, Stripe tokens, JWTs, private keys, passwords in connection strings).

Each pass runs in a fresh subprocess; wall and CPU seconds come from that process, peak memory is its maximum
resident set size (``ru_maxrss``). MB/s counts characters of text scanned (the input files are larger: JSON keys
and Parquet encoding). "per core" divides by CPU seconds. Recall: planted items reported with the right entity
or kind at the right row, field and offsets. Passes:
  * pii+secrets — personal data and secrets only;
  * full — plus exact/near duplicates and contamination against the built-in suites and probes.

Peers on the same text (a --peers-mb slice of the corpus as plain text):
  * detect-secrets 1.5 (its default plugins, ``scan_file``), if installed (the ``bench-data`` extra);
  * Presidio's default AnalyzerEngine, if it and its spaCy model import: its default needs ``en_core_web_lg``,
    which is not on PyPI, so offline it normally does not run — the script says so;
  * datasketch MinHash + MinHashLSH with our settings (64 permutations, word 5-grams, threshold 0.8) against our
    batched MinHash, on the same rows (exact duplicates included in both), if installed.
Prints a table and the ratios; writes benchmarks/results/data_scan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
         "they you were her she there been one all we their has would when if so no will more time people year way "
         "day man thing woman life child world school state family student group country problem hand part place "
         "case week company system program question work government number night point home water room mother area "
         "money story fact month lot right study book eye job word business issue side kind head house service friend "
         "father power hour game line end member law car city community name president team minute idea kid body "
         "information back parent face others level office door health person art war history party result change "
         "morning reason research girl guy moment air teacher force education").split()


def _sentence(rng: random.Random) -> str:
    n = rng.randint(8, 22)
    words = [rng.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    r = rng.random()
    if r < 0.25:
        words.insert(rng.randint(1, n - 1), f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    elif r < 0.4:
        words.insert(rng.randint(1, n - 1), f"${rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}")
    elif r < 0.5:
        words.insert(rng.randint(1, n - 1), f"version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}")
    elif r < 0.6:
        words.insert(rng.randint(1, n - 1), f"order #{rng.randint(10000, 999999)}")
    elif r < 0.65:
        words.insert(rng.randint(1, n - 1), f"at {rng.randint(0, 23)}:{rng.randint(0, 59):02d}")
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def _luhn_card(rng: random.Random) -> str:
    from opentrust.detectors.pii import luhn_ok

    prefix = rng.choice(["4", "51", "55", "37"])
    while True:
        body = prefix + "".join(str(rng.randint(0, 9)) for _ in range((15 if prefix == "37" else 16) - len(prefix) - 1))
        for d in "0123456789":
            if luhn_ok(body + d):
                num = body + d
                return " ".join(num[i:i + 4] for i in range(0, len(num), 4)) if rng.random() < 0.5 else num


def _iban(rng: random.Random) -> str:
    country, bban_len = rng.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20)])
    if country == "GB":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
               "".join(str(rng.randint(0, 9)) for _ in range(14))
    elif country == "NL":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
               "".join(str(rng.randint(0, 9)) for _ in range(10))
    else:
        bban = "".join(str(rng.randint(0, 9)) for _ in range(bban_len))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - num % 97:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _phone(rng: random.Random) -> str:
    d = lambda k: "".join(str(rng.randint(0, 9)) for _ in range(k))  # noqa: E731
    return rng.choice([
        f"+1 {rng.choice(['212', '415', '303', '617'])}-{rng.randint(200, 999)}-{d(4)}",
        f"({rng.choice(['212', '415', '303', '617'])}) {rng.randint(200, 999)}-{d(4)}",
        f"+44 20 7946 {d(4)}", f"020 7946 {d(4)}",
        f"+49 30 {rng.randint(2, 9)}{d(6)}", f"+33 1 {rng.randint(40, 49)} {d(2)} {d(2)} {d(2)}",
    ])


def _secret(rng: random.Random) -> tuple[str, str, str]:
    """(kind, text containing it, the value) — values are random, never real credentials."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    r = lambda k, a=alnum: "".join(rng.choice(a) for _ in range(k))  # noqa: E731
    kind = rng.choice(["github_token", "aws_access_key_id", "slack_token", "stripe_key", "jwt",
                       "connection_string_password", "generic_secret_assignment"])
    if kind == "github_token":
        v = "ghp_" + r(36)
        return kind, f"export GH={v}", v
    if kind == "aws_access_key_id":
        v = "AKIA" + r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return kind, f"aws key {v} in the config", v
    if kind == "slack_token":
        v = f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**10, 10**11)}-{r(24)}"
        return kind, f"SLACK_BOT_TOKEN={v}", v
    if kind == "stripe_key":
        v = "sk_live_" + r(24)
        return kind, f"stripe.api_key = '{v}'", v
    if kind == "jwt":
        import base64

        b = lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")  # noqa: E731
        v = b('{"alg":"HS256","typ":"JWT"}') + "." + b('{"sub":"' + r(10) + '","iat":1700000000}') + "." + r(43)
        return kind, f"Authorization: Bearer {v}", v
    if kind == "connection_string_password":
        v = r(16)
        return kind, f"DATABASE_URL=postgres://app:{v}@db.internal:5432/main", v
    v = r(20) + "!" + r(4)
    return kind, f'password = "{v}"', v


def planted_item(rng: random.Random) -> tuple[str, str, str]:
    """(label, text to insert, the value inside it)."""
    kind = rng.choice(["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", "SECRET", "SECRET"])
    if kind == "EMAIL":
        v = f"{rng.choice(['anna', 'j.smith', 'li.wei', 'omar_k', 'sofia.r'])}{rng.randint(1, 999)}@" \
            f"{rng.choice(['example.com', 'mail.example.org', 'corp.example.net'])}"
        return kind, f"write to {v} today", v
    if kind == "PHONE":
        v = _phone(rng)
        return kind, f"call {v} after lunch", v
    if kind == "CREDIT_CARD":
        v = _luhn_card(rng)
        return kind, f"card number {v} expires soon", v
    if kind == "IBAN":
        v = _iban(rng)
        return kind, f"pay to {v} please", v
    if kind == "US_SSN":
        v = f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        return kind, f"SSN {v} on the form", v
    if kind == "IP_ADDRESS":
        first = rng.choice([n for n in range(11, 224) if n != 127])  # 127/8 is loopback: not anyone's address
        v = f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return kind, f"logged in from {v} yesterday", v
    skind, text, v = _secret(rng)
    return skind, text, v


def generate(folder: Path, size_mb: int, seed: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stamp = folder / "corpus.json"
    if stamp.exists():
        meta = json.loads(stamp.read_text())
        if meta["size_mb"] == size_mb and meta["seed"] == seed:
            return meta
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    truth = []
    target = size_mb * 1_000_000
    written = 0
    n_file = 0
    text_chars = 0
    while written < target:
        fmt = "jsonl" if n_file % 2 == 0 else "parquet"
        name = f"part-{n_file:03d}.{fmt}"
        rows = []
        chunk = min(64_000_000, target - written)
        size = 0
        while size < chunk:
            text = " ".join(_sentence(rng) for _ in range(rng.randint(3, 9)))
            i = len(rows)
            if rng.random() < 1 / 150:
                label, inserted, value = planted_item(rng)
                at = text.find(". ", rng.randint(0, max(0, len(text) - 1)))
                at = at + 2 if at >= 0 else len(text)
                text = text[:at] + inserted + " " + text[at:]
                start = at + inserted.index(value)
                truth.append([name, i, "text", start, start + len(value), label])
            rows.append({"id": f"{n_file}-{i}", "text": text, "source": "generated"})
            size += len(text) + 40
            text_chars += len(text) + len("generated") + len(f"{n_file}-{i}")
        if fmt == "jsonl":
            with open(folder / name, "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps(r) + "\n")
        else:
            pq.write_table(pa.table({k: [r[k] for r in rows] for k in ("id", "text", "source")}), folder / name,
                           row_group_size=8192)
        written += size
        n_file += 1
        print(f"  wrote {name} ({written / 1e6:.0f} of {size_mb} MB)", file=sys.stderr)
    meta = {"size_mb": size_mb, "seed": seed, "files": n_file, "planted": len(truth), "text_chars": text_chars,
            "bytes_on_disk": sum(p.stat().st_size for p in folder.glob("part-*"))}
    (folder / "truth.json").write_text(json.dumps(truth))
    stamp.write_text(json.dumps(meta))
    return meta


_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from opentrust.datascan.run import Options, scan_data
full = sys.argv[2] == "full"
opts = Options(duplicates=full, contamination=full, builtin_benchmarks=full, max_findings_per_label=10**9)
t0 = time.perf_counter(); c0 = time.process_time()
result = scan_data([Path(sys.argv[1])], opts)
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
hits = [[f["path"], f["row"], f["column"], f["start"], f["end"], f["entity"] or f["kind"]]
        for f in result["findings"] if f["rule_id"].startswith(("DATA-PII", "DATA-SECRET"))]
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "mb": result["pii"]["mb_scanned"], "rows": result["summary"]["rows"], "hits": hits,
                  "pii": result["pii"]["counts"], "secrets": result["secrets"]["counts"],
                  "duplicates": result["duplicates"] and {k: result["duplicates"][k] for k in ("exact", "near")},
                  "contaminated": [c["benchmark"] for c in result["contamination"] if c["gpt3_13gram"]["contaminated"]]}))
"""


def _child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter (its own CPU time and peak RSS); it prints one JSON object."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def run_pass(folder: Path, mode: str) -> dict:
    return _child(_CHILD, str(folder), mode)


def recall(truth: list, hits: list) -> dict:
    got = {(h[0], h[1], h[2], h[3], h[4]): h[5] for h in hits}
    by_label: dict[str, list[int]] = {}
    for name, row, field, start, end, label in truth:
        ok = got.get((name, row, field, start, end)) == label
        by_label.setdefault(label, [0, 0])
        by_label[label][0] += ok
        by_label[label][1] += 1
    return by_label


def peers(folder: Path, peers_mb: float, truth: list) -> dict:  # noqa: C901
    """detect-secrets and Presidio on the first --peers-mb of the corpus's JSONL text, and ours on the same."""
    out: dict = {}
    first = sorted(folder.glob("part-*.jsonl"))[0]
    texts, budget = [], peers_mb * 1e6
    with open(first, encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            budget -= len(texts[-1])
            if budget <= 0:
                break
    plain = folder.parent / f"{folder.name}-peers.txt"  # beside the corpus, not in it
    plain.write_text("\n".join(texts) + "\n", encoding="utf-8")
    mb = sum(len(t) for t in texts) / 1e6
    planted_secrets = [t for t in truth if t[0] == first.name and t[1] < len(texts) and not t[5].isupper()]
    planted_pii = [t for t in truth if t[0] == first.name and t[1] < len(texts) and t[5].isupper()]
    out["text_mb"] = round(mb, 2)
    # ours on the same text
    child = ("import sys, time, json\nfrom opentrust.datascan.textscan import TextScanner\n"
             "lines = open(sys.argv[1], encoding='utf-8').read().split('\\n')\n"
             "t = time.process_time(); sc = TextScanner(); hits = []\n"
             "for i, l in enumerate(lines): hits += sc.add(i, 'text', l)\n"
             "hits += sc.flush()\nprint(json.dumps({'cpu': time.process_time() - t, "
             "'hits': [[h.row, h.start, h.end, h.label] for h in hits]}))")
    r = _child(child, str(plain))
    got = {(h[0], h[1], h[2]): h[3] for h in r["hits"]}
    ours_sec = sum(got.get((t[1], t[3], t[4])) == t[5] for t in planted_secrets)
    ours_pii = sum(got.get((t[1], t[3], t[4])) == t[5] for t in planted_pii)
    out["ours"] = {"mb_s": round(mb / r["cpu"], 2), "secret_recall": [ours_sec, len(planted_secrets)],
                   "pii_recall": [ours_pii, len(planted_pii)],
                   "reported": len(r["hits"])}
    try:
        import detect_secrets  # noqa: F401

        child = ("import sys, time, json\nfrom detect_secrets import SecretsCollection\n"
                 "from detect_secrets.settings import default_settings\n"
                 "t = time.process_time(); s = SecretsCollection()\n"
                 "with default_settings(): s.scan_file(sys.argv[1])\n"
                 "lines = sorted({x.line_number for _, x in s})\n"
                 "print(json.dumps({'cpu': time.process_time() - t, 'lines': lines}))")
        r = _child(child, str(plain))
        lines = set(r["lines"])  # 1-based line numbers = row + 1
        hit = sum((t[1] + 1) in lines for t in planted_secrets)
        planted_lines = {t[1] + 1 for t in planted_secrets}
        out["detect_secrets"] = {"mb_s": round(mb / r["cpu"], 2), "secret_recall": [hit, len(planted_secrets)],
                                 "lines_flagged": len(lines), "lines_without_planted_secret":
                                 len(lines - planted_lines - {t[1] + 1 for t in planted_pii})}
    except ImportError:
        out["detect_secrets"] = "not installed (pip install detect-secrets)"
    try:
        from presidio_analyzer import AnalyzerEngine

        engine = AnalyzerEngine()
        sample = texts[: max(1, len(texts) // 50)]
        t0 = time.process_time()
        for t in sample:
            engine.analyze(t, language="en")
        cpu = time.process_time() - t0
        out["presidio"] = {"mb_s": round(sum(map(len, sample)) / 1e6 / cpu, 4)}
    except Exception as exc:  # noqa: BLE001 - not installed, or its spaCy model is missing (no download here)
        out["presidio"] = f"not runnable offline: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return out


def minhash_peer(folder: Path, rows: int = 20_000) -> dict:
    first = sorted(folder.glob("part-*.jsonl"))[0]
    texts = []
    with open(first, encoding="utf-8") as fh:
        for line in fh:
            texts.append(json.loads(line)["text"])
            if len(texts) >= rows:
                break
    from opentrust.datascan.duplicates import Deduplicator

    t0 = time.process_time()
    d = Deduplicator()
    for i, t in enumerate(texts):
        d.add(0, i, t)
    d.result()
    ours = time.process_time() - t0
    out = {"rows": len(texts), "ours_rows_s": round(len(texts) / ours)}
    try:
        from datasketch import MinHash, MinHashLSH

        from opentrust.datascan import ngrams

        t0 = time.process_time()
        from opentrust.datascan.duplicates import NUM_PERM, SHINGLE, THRESHOLD

        lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)  # the same settings as ours
        for i, t in enumerate(texts):
            toks = ngrams.tokens(t)
            m = MinHash(num_perm=NUM_PERM)
            m.update_batch([" ".join(toks[j:j + SHINGLE]).encode() for j in range(max(1, len(toks) - SHINGLE + 1))])
            lsh.query(m)
            lsh.insert(str(i), m)
        ds = time.process_time() - t0
        out["datasketch_rows_s"] = round(len(texts) / ds)
        out["ratio"] = round(ds / ours, 1)
    except ImportError:
        out["datasketch_rows_s"] = "not installed (pip install datasketch)"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "opentrust-data-bench")
    ap.add_argument("--peers-mb", type=float, default=5.0)
    ap.add_argument("--passes", default="pii+secrets,full")
    ap.add_argument("--minhash-rows", type=int, default=20_000, help="0: skip the MinHash comparison")
    args = ap.parse_args()
    folder = args.dir / f"corpus-{args.size_mb}mb-{args.seed}"
    meta = generate(folder, args.size_mb, args.seed)
    truth = json.loads((folder / "truth.json").read_text())
    print(f"corpus: {meta['files']} files, {meta['bytes_on_disk'] / 1e6:.0f} MB on disk, {meta['planted']} planted "
          f"items ({folder})")
    report: dict = {"corpus": meta, "passes": {}, "machine": {"cpus": os.cpu_count(),
                                                              "load_1m": os.getloadavg()[0]}}
    for mode in filter(None, args.passes.split(",")):
        r = run_pass(folder, mode)
        rec = recall(truth, r.pop("hits"))
        found = sum(v[0] for v in rec.values())
        report["passes"][mode] = {**r, "mb_s": round(r["mb"] / r["wall"], 2), "mb_s_per_core": round(r["mb"] / r["cpu"], 2),
                                  "recall": {k: f"{v[0]}/{v[1]}" for k, v in sorted(rec.items())},
                                  "recall_all": round(found / max(1, len(truth)), 4)}
        p = report["passes"][mode]
        print(f"{mode:12s} {r['mb']:.0f} MB text, {r['rows']} rows: {p['mb_s']} MB/s wall, {p['mb_s_per_core']} MB/s "
              f"per core (CPU), peak RSS {r['rss_mb']:.0f} MB, recall {found}/{len(truth)}")
        print("             recall by label: " + ", ".join(f"{k} {v}" for k, v in p["recall"].items()))
    if args.peers_mb > 0:
        report["peers"] = peers(folder, args.peers_mb, truth)
        print_peers(report["peers"])
    if args.minhash_rows > 0:
        report["minhash"] = mh = minhash_peer(folder, args.minhash_rows)
        print(f"  MinHash on {mh['rows']} rows: ours {mh['ours_rows_s']} rows/s, datasketch {mh['datasketch_rows_s']} "
              "rows/s" + (f" (ours {mh['ratio']}x faster)" if "ratio" in mh else ""))
    out = REPO / "benchmarks" / "results" / f"data_scan_{args.size_mb}mb_{args.passes.replace(',', '_')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")


def print_peers(pe: dict) -> None:
    print(f"\npeers on the same {pe['text_mb']} MB of text (CPU seconds of one process):")
    print(f"  opentrust PII+secrets   {pe['ours']['mb_s']} MB/s, secrets recall {pe['ours']['secret_recall']}, "
          f"PII recall {pe['ours']['pii_recall']}")
    ds = pe["detect_secrets"]
    if isinstance(ds, dict):
        print(f"  detect-secrets 1.5      {ds['mb_s']} MB/s, secrets recall {ds['secret_recall']} (by line), "
              f"{ds['lines_without_planted_secret']} flagged lines hold no planted item; ratio "
              f"{pe['ours']['mb_s'] / ds['mb_s']:.1f}x (ours / detect-secrets)")
    else:
        print(f"  detect-secrets          {ds}")
    pr = pe["presidio"]
    print(f"  Presidio                {pr if isinstance(pr, str) else str(pr['mb_s']) + ' MB/s; ratio ' + str(round(pe['ours']['mb_s'] / pr['mb_s'])) + 'x'}")


if __name__ == "__main__":
    main()
