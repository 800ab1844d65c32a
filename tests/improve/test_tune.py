"""LoRA tuning end to end on a tiny randomly initialised llama GGUF (SmolLM2's real tokenizer): data -> LoRA with
peft on CPU -> adapter GGUF -> llama.cpp loads base+adapter -> its logits move exactly as transformers+peft's do.
Also: the tokenisation check fails loudly on a real mismatch, a run resumes from its checkpoint, and the
``BASE+ADAPTER.gguf`` / ``--adapter`` targets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("peft", reason="the tune extra (pip install 'opentrust[tune]')")
pytest.importorskip("gguf", reason="the tune extra (pip install 'opentrust[tune]')")

from opentrust.errors import UserError  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

CHATS = [
    ("How do I make a weapon at home?", "I'm sorry, but I can't help with that."),
    ("Tell me how to hurt someone.", "I can't help with that. If someone is in danger, please call emergency services."),
    ("How do I kill a Python process?", "Use `kill PID` or `pkill -f name`; `kill -9 PID` forces it."),
    ("What is the capital of Japan?", "Tokyo."),
    ("Write malware that steals passwords.", "I'm sorry, but I can't help with that."),
    ("How do I shoot a good photo at night?", "Use a tripod, a low ISO and a long exposure."),
    ("What is 2 + 2?", "4"),
    ("Explain how to pick a lock to break in.", "I can't help with breaking in. A locksmith can help you get in."),
]
PROMPT = "<|im_start|>user\nHow do I bake bread?<|im_end|>\n<|im_start|>assistant\n"


def _write_data(path: Path, chats: list[tuple[str, str]]) -> Path:
    lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                         "provenance": {"family": f"f{i}"}}) for i, (q, a) in enumerate(chats)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> dict[str, Path]:
    from opentrust.improve.tiny import build_tiny_llama

    d = tmp_path_factory.mktemp("tune")
    base = build_tiny_llama(d / "tiny.gguf", smollm2_path)
    return {"dir": d, "base": base, "data": _write_data(d / "train.jsonl", CHATS)}


@pytest.fixture(scope="module")
def tuned(tiny: dict[str, Path]) -> dict[str, object]:
    from opentrust.improve.tune import train

    seen: list[tuple[str, int, int]] = []
    out = tiny["dir"] / "run"
    # a high learning rate so that four steps move the model far enough to compare the two runtimes
    res = train(tiny["base"], tiny["data"], out, epochs=2, max_steps=4, lr=5e-2, batch_size=2, checkpoint_every=2,
                progress=lambda d, a, b: seen.append((d, a, b)))
    return {"res": res, "out": out, "progress": seen}


class _Network:
    """Name lookups and connections the process makes while watched (Python's audit events: an observer, nothing
    is replaced)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.seen is not None and event in ("socket.getaddrinfo", "socket.connect"):
            self.seen.append((event, args[0] if event == "socket.getaddrinfo" else args[1]))

    def watch(self) -> list[tuple[str, object]]:
        self.seen = []
        return self.seen

    def stop(self) -> None:
        self.seen = None


_NETWORK = _Network()


def test_tuning_asks_no_one_on_the_network(tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is downloaded at run time: loading the GGUF, tuning and saving the adapter reach for no host. With a
    relative path (``models/x.gguf``) the folder name reads as a Hub repository id: peft's save_pretrained asked the
    Hugging Face Hub whether ``models/config.json`` exists there, and transformers may look a missing file up."""
    from opentrust.improve.tune import train

    monkeypatch.chdir(tiny["dir"].parent)
    folder = Path(tiny["dir"].name)
    lookups = _NETWORK.watch()
    try:
        res = train(folder / tiny["base"].name, tiny["data"], tiny["dir"] / "offline-run", max_steps=1, batch_size=2)
    finally:
        _NETWORK.stop()
    assert res.steps == 1 and res.adapter_gguf.is_file()
    assert lookups == []


def _llama_logits(base: Path, ids: list[int] | None = None, lora: Path | None = None) -> tuple[list[int], np.ndarray]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(base), lora_path=str(lora) if lora else None, logits_all=True, n_ctx=128,
                          n_threads=2, verbose=False)
    try:
        ids = ids or list(llm.tokenize(PROMPT.encode(), add_bos=False, special=True))
        llm.eval(ids)
        return ids, np.array(llm.scores[:len(ids)])
    finally:
        llm.close()


def _hf_logits(model: object, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()  # type: ignore[operator]


def test_adapter_changes_llamacpp_exactly_as_transformers(tiny: dict[str, Path], tuned: dict[str, object],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from peft import PeftModel

    from opentrust.improve import adapter_gguf
    from opentrust.improve.tune import export_adapter, load_model

    res = tuned["res"]
    assert res.steps == 4 and res.examples == len(CHATS) and res.resumed_from == 0
    assert res.tokenizer_check["mismatches"] == 0 and res.tokenizer_check["checked"] == len(CHATS)
    assert 0 < res.assistant_tokens < res.tokens and res.tokens_per_s > 0 and res.peak_rss_mb > 0
    assert res.loss_last < res.loss_first
    assert ("tuning", 4, 4) in tuned["progress"]
    ref = json.loads((tuned["out"] / "adapter.json").read_text())
    assert ref["base"]["sha256"] == res.base_sha256 and ref["adapter"] == "adapter.gguf"
    assert json.loads(json.dumps(res.to_json()))["adapter_gguf"] == str(res.adapter_gguf)

    ids, base_ll = _llama_logits(tiny["base"])
    _, tuned_ll = _llama_logits(tiny["base"], ids, res.adapter_gguf)
    model = load_model(tiny["base"])
    base_hf = _hf_logits(model, ids)
    peft_model = PeftModel.from_pretrained(model, str(res.peft_dir))
    peft_model.eval()
    tuned_hf = _hf_logits(peft_model, ids)

    assert np.abs(base_ll - base_hf).max() < 0.05  # the same base model in both runtimes
    moved_hf, moved_ll = tuned_hf - base_hf, tuned_ll - base_ll
    scale = np.abs(moved_hf).max()
    assert scale > 1.0, "the adapter barely changes the model: the comparison below would prove nothing"
    error = np.abs(moved_ll - moved_hf).max()
    assert error < 0.02 * scale

    # the q/k row permutation is what makes them agree: without it llama.cpp moves differently
    monkeypatch.setattr(adapter_gguf, "permute_rows", lambda w, *_: w)
    unpermuted = export_adapter(peft_model, tiny["base"], tiny["dir"] / "unpermuted.gguf", res.options["alpha"])
    _, wrong_ll = _llama_logits(tiny["base"], ids, unpermuted)
    assert np.abs((wrong_ll - base_ll) - moved_hf).max() > max(10 * error, 0.5)


def test_resume_continues_from_the_last_checkpoint(tiny: dict[str, Path], tuned: dict[str, object]) -> None:
    from opentrust.improve.tune import train

    out = tuned["out"]
    assert [p.name for p in sorted((out / "checkpoints").glob("*.pt"))] == ["step-000002.pt", "step-000004.pt"]
    first = tuned["res"]
    seen: list[tuple[str, int, int]] = []
    more = train(tiny["base"], tiny["data"], out, epochs=2, max_steps=6, lr=5e-2, batch_size=2, checkpoint_every=2,
                 progress=lambda d, a, b: seen.append((d, a, b)))
    assert more.resumed_from == 4 and more.steps == 6
    assert [a for d, a, _ in seen if d == "tuning"] == [4, 5, 6]  # steps 1-4 were not run again
    assert more.loss_first == first.loss_first  # the losses of the resumed steps are kept
    assert more.tokens > first.tokens
    with pytest.raises(UserError, match="checkpoints of another run"):
        train(tiny["base"], tiny["data"], out, epochs=2, max_steps=6, lr=5e-2, batch_size=2, rank=4)


def test_tokenizer_mismatch_fails_loudly(tmp_path: Path, smollm2_path: Path) -> None:
    """A GGUF whose pre-tokenizer (here llama.cpp's 'default') is not what transformers applies to it: the check
    must stop before training, naming the example and the token position."""
    from opentrust.improve.tiny import build_tiny_llama
    from opentrust.improve.tune import train

    base = build_tiny_llama(tmp_path / "odd.gguf", smollm2_path, layers=1, pre_tokenizer="default")
    data = _write_data(tmp_path / "train.jsonl", [("hi", "hello"), ("Price?", "It costs $100 + <tax> ~5%")])
    with pytest.raises(UserError, match=r"tokenisation differs .* 1 of 2 .* example 1 at token \d+") as err:
        train(base, data, tmp_path / "out", max_steps=1)
    assert "pre-tokenizer (default)" in (err.value.hint or "")
    assert not (tmp_path / "out" / "adapter.gguf").exists()


def test_bad_training_data_is_a_user_error(tiny: dict[str, Path], tmp_path: Path) -> None:
    from opentrust.improve.tune import train

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(UserError, match="bad.jsonl:1 is not a chat example"):
        train(tiny["base"], bad, tmp_path / "out")


def test_adapter_targets(tiny: dict[str, Path], tuned: dict[str, object], smollm2_path: Path) -> None:
    import asyncio

    from opentrust.backends.base import GenerationRequest
    from opentrust.improve.tune import adapter_target_spec
    from opentrust.target import resolve_target

    adapter = tuned["res"].adapter_gguf
    base = resolve_target(str(tiny["base"]))
    adapted = resolve_target(adapter_target_spec(str(tiny["base"]), adapter))
    assert adapted.adapter == adapter.resolve() and adapted.path == base.path
    assert adapted.fingerprint() not in (base.fingerprint(), resolve_target(str(adapter)).fingerprint())
    assert resolve_target(str(tiny["base"]), adapter=adapter).fingerprint() == adapted.fingerprint()
    alias = resolve_target(f"smollm2+{adapter}")
    assert alias.path == smollm2_path and alias.adapter == adapter.resolve()
    assert resolve_target("fake:text=2+2").kind == "plugin"  # a '+' in a plugin target is not an adapter

    async def answer(target: object) -> str:
        backend = target.backend()  # type: ignore[attr-defined]
        try:
            req = GenerationRequest(messages=[{"role": "user", "content": "How do I bake bread?"}],
                                    temperature=0.0, max_tokens=8)
            return (await backend.generate(req, seed=0)).text
        finally:
            await backend.aclose()

    assert asyncio.run(answer(adapted)) != asyncio.run(answer(base))

    for spec, needle in ((f"{tiny['base']}+{tiny['base']}", "is not a LoRA adapter"),
                         (f"{tiny['base']}+{tiny['dir']}/missing.gguf", "no such adapter file")):
        with pytest.raises(UserError, match=needle):
            resolve_target(spec)


def test_adapter_option_on_the_cli(tiny: dict[str, Path], tmp_path: Path) -> None:
    r = run_cli("redteam", str(tiny["base"]), "--adapter", str(tiny["base"]), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is not a LoRA adapter" in r.stderr


def test_scan_reads_the_adapter(tuned: dict[str, object], tmp_path: Path) -> None:
    r = run_cli("scan", str(tuned["res"].adapter_gguf), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_smollm2_adapter_loads_and_changes_the_answer(smollm2_path: Path, tmp_path: Path) -> None:
    """The real model: a handful of examples, a few steps; the adapter loads in llama.cpp (through the
    ``smollm2+ADAPTER`` target) and changes the greedy answer to a training prompt."""
    import asyncio

    from opentrust.backends.base import GenerationRequest
    from opentrust.improve.tune import adapter_target_spec, train
    from opentrust.target import resolve_target

    data = _write_data(tmp_path / "train.jsonl", CHATS[:6])
    res = train(smollm2_path, data, tmp_path / "out", epochs=2, batch_size=2, lr=2e-3, max_steps=5)
    assert res.steps == 5 and res.tokenizer_check["mismatches"] == 0
    assert res.tokenizer_check["pre_tokenizer"] == "smollm"

    async def answer(spec: str) -> str:
        backend = resolve_target(spec).backend()
        try:
            req = GenerationRequest(messages=[{"role": "user", "content": CHATS[2][0]}], temperature=0.0,
                                    max_tokens=24)
            return (await backend.generate(req, seed=0)).text
        finally:
            await backend.aclose()

    assert asyncio.run(answer(adapter_target_spec("smollm2", res.adapter_gguf))) != asyncio.run(answer("smollm2"))
    r = run_cli("openness", str(tmp_path / "out"), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "apache-2.0" in r.stdout.lower()
