"""What the adversarial-suffix check costs per prompt, beside the perplexity filter it replaces.

    .venv/bin/python benchmarks/guard_adversarial.py

Ours (``detectors.adversarial``: character 5-gram and word-bigram tables, pure Python) against the filter of Jain
et al. 2023 as they built it — the perplexity of the prompt under a language model — with the smallest model we
ship, SmolLM2-135M (llama.cpp, CPU, every thread), on the same texts: short benign prompts (labels/guard/heldout.jsonl)
and 1,000- and 10,000-character documents (paragraphs of our README). CPU milliseconds per text (process time,
which for llama.cpp counts every thread it uses) and wall milliseconds; the ratio is SmolLM2's over ours. Only
cost is compared: the perplexity filter's threshold would have to be fitted like ours, which is not done here.

Then our false positives on long English documents none of it was trained on (paragraphs of 300-2,000 characters
from this machine's vim help files and /usr/share/common-licenses, 300 of each at most): why the gateway's check
reads only the user's messages by default, not tool output.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opentrust.detectors import get_detector  # noqa: E402


def texts() -> dict[str, list[str]]:
    rows = [json.loads(x) for x in (ROOT / "labels/guard/heldout.jsonl").read_text().splitlines() if x.strip()]
    short = [r["text"] for r in rows if r["label"] == "benign"][:40]
    readme = " ".join(p.strip() for p in (ROOT / "README.md").read_text().split("\n\n") if len(p) > 200)
    return {"short prompts": short, "1,000 characters": [readme[i * 1000:(i + 1) * 1000] for i in range(10)],
            "10,000 characters": [readme[i * 10000:(i + 1) * 10000] for i in range(3)]}


def timed(fn, items: list[str], repeat: int = 1) -> tuple[float, float]:
    """(CPU ms, wall ms) per item."""
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        for t in items:
            fn(t)
    n = len(items) * repeat
    return (time.process_time() - c0) * 1000 / n, (time.perf_counter() - w0) * 1000 / n


def smollm2_perplexity():
    import llama_cpp
    import numpy as np

    from opentrust.target import smollm2_path

    llm = llama_cpp.Llama(str(smollm2_path()), n_ctx=4096, logits_all=True, verbose=False)

    def nll(text: str) -> float:
        toks = llm.tokenize(text.encode(), add_bos=True)[:4096]
        llm.reset()
        llm.eval(toks)
        logits = np.asarray(llm.scores[: len(toks) - 1])
        logz = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        return float(np.mean(logz - logits[np.arange(len(toks) - 1), toks[1:]]))

    return nll


def main() -> None:
    ours = get_detector("adversarial_suffix")
    ours.detect("warm up")
    try:
        peer = smollm2_perplexity()
        peer("warm up")
    except Exception as exc:  # noqa: BLE001 - the peer is optional
        peer = None
        print(f"SmolLM2 perplexity: not available ({type(exc).__name__}: {exc})")
    print(f"{'texts':20s} {'n':>3s} {'ours CPU ms':>12s} {'ours wall ms':>13s} {'SmolLM2 CPU ms':>15s} "
          f"{'SmolLM2 wall ms':>16s} {'CPU ratio':>10s}")
    for name, items in texts().items():
        oc, ow = timed(lambda t: ours.detect(t), items, repeat=5)
        if peer is not None:
            pc, pw = timed(peer, items)
            print(f"{name:20s} {len(items):3d} {oc:12.3f} {ow:13.3f} {pc:15.1f} {pw:16.1f} {pc / oc:9.0f}x")
        else:
            print(f"{name:20s} {len(items):3d} {oc:12.3f} {ow:13.3f}")


def documents() -> dict[str, list[str]]:
    import glob
    import random
    import re

    out = {}
    for name, pattern in (("vim help paragraphs", "/usr/share/vim/vim9*/doc/*.txt"),
                          ("licence paragraphs", "/usr/share/common-licenses/*")):
        paras = []
        for f in sorted(glob.glob(pattern)):
            try:
                text = Path(f).read_text(encoding="utf-8", errors="ignore")
            except OSError:
                continue
            for p in re.split(r"\n\s*\n", text):
                p = " ".join(p.split())
                if len(p) >= 300 and sum(c.isalpha() for c in p) / len(p) > 0.7:
                    paras.append(p[:2000])
        random.Random(0).shuffle(paras)
        if paras:
            out[name] = paras[:300]
    return out


def false_positives() -> None:
    from opentrust.stats import wilson_interval

    det = get_detector("adversarial_suffix")
    for name, paras in documents().items():
        k = sum(det.detect(p).label == "adversarial" for p in paras)
        lo, hi = wilson_interval(k, len(paras))
        print(f"false positives, {name}: {k}/{len(paras)} = {k / len(paras):.3f} [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
    false_positives()
