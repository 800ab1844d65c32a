"""CPU LoRA tuning of a GGUF model (``opentrust[tune]``).

The GGUF is loaded through transformers' GGUF loader (dequantised to float32), LoRA adapters are trained with peft
on the assistant tokens of train.jsonl, and the adapter is written back as a llama.cpp LoRA GGUF
(``opentrust.improve.adapter_gguf``) beside the peft folder and an ``adapter.json`` that names the base.

Tokenisation. Training text is the GGUF's own chat template rendered the way llama-cpp-python renders it when it
serves the model (its Jinja2ChatFormatter, no BOS added), and the token ids we train on are llama.cpp's own
(``Llama(vocab_only=True).tokenize``): the adapter is meant for llama.cpp, so it must learn the ids llama.cpp will
feed it. Every text is also tokenised by the transformers tokenizer that the GGUF loader builds, and the two are
compared before training. A difference means transformers reads this GGUF's tokenizer differently from llama.cpp
(SmolLM2's GGUF names a pre-tokenizer, ``smollm``, that transformers does not apply itself), i.e. the model we
would train is not exactly the model llama.cpp serves; by default that fails loudly (a UserError naming the first
differing example and token position). ``tokenizer_mismatch="report"`` trains anyway on llama.cpp's ids and
keeps the comparison in ``TuneResult.tokenizer_check``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from opentrust.errors import UserError

#: LoRA on the attention projections (what the issue asks at least); the MLP ones can be added with ``targets``
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
TUNE_VERSION = "0.1"


@dataclass
class TuneResult:
    adapter_gguf: Path
    peft_dir: Path
    base: str
    base_sha256: str
    examples: int
    tokens: int  # trained tokens, masked ones included (all steps of the run, resumed ones too)
    assistant_tokens: int  # tokens that carry loss
    steps: int
    seconds: float  # training wall time of this process (loading and export excluded)
    tokens_per_s: float  # tokens trained in this process / seconds
    peak_rss_mb: float
    loss_first: float
    loss_last: float
    tokenizer_check: dict[str, Any] = field(default_factory=dict)
    resumed_from: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["adapter_gguf"] = str(self.adapter_gguf)
        out["peft_dir"] = str(self.peft_dir)
        return out


def adapter_target_spec(base_spec: str, adapter: Path) -> str:
    """The target spec every opentrust command accepts for base + adapter: ``BASE+ADAPTER.gguf``."""
    from opentrust.target import adapter_spec

    return adapter_spec(base_spec, adapter)


def require_tune_extra() -> None:
    missing = []
    for mod in ("torch", "transformers", "peft", "gguf"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise UserError(f"tuning needs {', '.join(missing)} (the tune extra)", "pip install 'opentrust[tune]'")


# ---------------------------------------------------------------------------------------------------------- data


def read_examples(path: Path) -> list[list[dict[str, str]]]:
    """The chat ``messages`` of each line of train.jsonl (the last message is the assistant's answer)."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc}", "build the data first: opentrust improve --plan") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            ok = (isinstance(messages, list) and len(messages) >= 2 and messages[-1]["role"] == "assistant"
                  and all(isinstance(m["content"], str) and isinstance(m["role"], str) for m in messages))
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise UserError(f"{path}:{n} is not a chat example (a JSON object whose 'messages' end with the "
                            "assistant's answer)", "rebuild the data with opentrust improve --plan")
        out.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not out:
        raise UserError(f"{path} holds no training examples", "there were no failures to learn from: see the plan")
    return out


@dataclass
class Encoded:
    ids: list[int]
    n_prompt: int  # the first n_prompt ids carry no loss


class ChatEncoder:
    """Renders chats with the GGUF's template as llama-cpp-python does when serving, tokenises with llama.cpp."""

    def __init__(self, gguf: Path):
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise UserError(f"{gguf} has no chat template (tokenizer.chat_template)",
                            "tune a chat model: its GGUF must carry the template it is served with")
        model = self.llm._model
        eos_id, bos_id = self.llm.token_eos(), self.llm.token_bos()
        eos = model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = model.token_get_text(bos_id) if bos_id != -1 else ""
        self.pre = self.llm.metadata.get("tokenizer.ggml.pre", "")
        self._prompt = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=True)
        self._full = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=False)

    def text(self, messages: list[dict[str, str]]) -> str:
        return self._full(messages=messages).prompt  # type: ignore[arg-type]

    def tokenize(self, text: str) -> list[int]:
        # as llama-cpp-python's chat handler does: the template supplies special tokens, no BOS is added
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def encode(self, messages: list[dict[str, str]], max_tokens: int) -> Encoded | None:
        prompt = self.tokenize(self._prompt(messages=messages[:-1]).prompt)  # type: ignore[arg-type]
        ids = self.tokenize(self.text(messages))
        n = 0  # the prompt is a prefix of the full chat in any sane template; mask what they share
        while n < min(len(prompt), len(ids)) and prompt[n] == ids[n]:
            n += 1
        ids = ids[:max_tokens]
        if n >= len(ids):
            return None  # nothing of the answer fits
        return Encoded(ids, n)

    def close(self) -> None:
        self.llm.close()


def compare_tokenizers(texts: list[str], llama_ids: list[list[int]], hf_tokenize: Callable[[str], list[int]],
                       pre: str = "") -> dict[str, Any]:
    """llama.cpp's ids against transformers' on the same texts: counts and the first difference."""
    matches, first = 0, None
    for i, (text, ids) in enumerate(zip(texts, llama_ids)):
        other = hf_tokenize(text)
        if other == ids:
            matches += 1
            continue
        if first is None:
            pos = next((k for k, (a, b) in enumerate(zip(ids, other)) if a != b), min(len(ids), len(other)))
            first = {"example": i, "position": pos, "llama_cpp": ids[max(0, pos - 2):pos + 4],
                     "transformers": other[max(0, pos - 2):pos + 4], "text": text[:200]}
    return {"checked": len(texts), "matches": matches, "mismatches": len(texts) - matches, "first_mismatch": first,
            "pre_tokenizer": pre, "trained_on": "llama.cpp token ids"}


def tokenizer_error(check: dict[str, Any]) -> UserError:
    f = check["first_mismatch"]
    return UserError(
        f"tokenisation differs between llama.cpp and transformers on {check['mismatches']} of {check['checked']} "
        f"training texts; first: example {f['example']} at token {f['position']} (llama.cpp {f['llama_cpp']} vs "
        f"transformers {f['transformers']})",
        f"the GGUF's pre-tokenizer ({check['pre_tokenizer'] or 'unnamed'}) is not what transformers applies, so the "
        "model trained would not be the one llama.cpp serves; pass tokenizer_mismatch='report' to train on "
        "llama.cpp's ids anyway")


# --------------------------------------------------------------------------------------------------------- train


def file_sha256(path: Path) -> str:
    from opentrust.target import file_sha256 as digest

    return digest(path)


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load_model(base: Path) -> Any:
    """The GGUF through transformers' GGUF loader, dequantised to float32 (local files only)."""
    from opentrust.offline import hub_offline

    hub_offline()
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # the GGUF loader draws its own tqdm bar on stderr, through the rich progress display; silence just that one
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = lambda iterable, *a, **k: iterable  # type: ignore[attr-defined]
    try:
        return AutoModelForCausalLM.from_pretrained(str(base.parent), gguf_file=base.name, dtype=torch.float32,
                                                    local_files_only=True)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise UserError(f"transformers could not load {base} for tuning: {exc}",
                        "tuning supports GGUF models of the llama family (SmolLM2)") from None
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar  # type: ignore[attr-defined]


def load_tokenizer(base: Path) -> Any:
    from opentrust.offline import hub_offline

    hub_offline()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base.parent), gguf_file=base.name, local_files_only=True)


def add_lora(model: Any, rank: int, alpha: float, targets: tuple[str, ...] = DEFAULT_TARGETS,
             init: bool = True) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0, bias="none",
                        task_type="CAUSAL_LM", init_lora_weights=init)
    return get_peft_model(model, config)


def export_adapter(model: Any, base: Path, path: Path, alpha: float, metadata: dict[str, str] | None = None) -> Path:
    """The peft model's LoRA weights as a llama.cpp adapter GGUF (``adapter_gguf.write_lora_gguf``)."""
    from peft import get_peft_model_state_dict

    from opentrust.formats.gguf import read_gguf
    from opentrust.improve.adapter_gguf import write_lora_gguf

    cfg = model.base_model.model.config
    arch = read_gguf(base).architecture or "llama"
    try:
        write_lora_gguf(path, arch=arch, alpha=alpha, state=get_peft_model_state_dict(model),
                        n_head=cfg.num_attention_heads, n_head_kv=cfg.num_key_value_heads, metadata=metadata)
    except ValueError as exc:
        raise UserError(f"cannot write the adapter: {exc}", "tune a llama-family GGUF (SmolLM2)") from None
    return path


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """The whole run's batches, fixed by the seed (so a resumed run takes the same batches from its step on)."""
    out = []
    for epoch in range(epochs):
        order = list(range(n))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        out.extend(order[i:i + batch_size] for i in range(0, n, batch_size))
    return out


def _collate(batch: list[Encoded], pad: int) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        ids[row, :len(e.ids)] = torch.tensor(e.ids)
        mask[row, :len(e.ids)] = 1
        labels[row, e.n_prompt:len(e.ids)] = torch.tensor(e.ids[e.n_prompt:])
    return ids, mask, labels


def assistant_loss(model: Any, ids: Any, mask: Any, labels: Any) -> Any:
    """Mean next-token cross-entropy over the answer tokens: the loss transformers computes from ``labels``, but
    the output projection (576 x 49152 for SmolLM2) runs only on the positions that carry loss, not on every
    prompt and padding position (about a fifth of the forward pass saved, and the full logits never held)."""
    import torch

    core = model.get_base_model()  # the causal LM with the LoRA layers injected
    hidden = core.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = core.lm_head(hidden[:, :-1][keep]).float()
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def _checkpoints(out_dir: Path) -> list[Path]:
    return sorted((out_dir / "checkpoints").glob("step-*.pt"))


def train(base: Path, train_jsonl: Path, out_dir: Path, *, epochs: int = 1, rank: int = 8, alpha: int = 16,
          lr: float = 2e-4, seed: int = 0, max_steps: int | None = None, resume: bool = True,
          progress: Callable[[str, int, int], None] | None = None, batch_size: int = 4, max_tokens: int = 512,
          checkpoint_every: int = 10, targets: tuple[str, ...] = DEFAULT_TARGETS,
          tokenizer_mismatch: str = "fail") -> TuneResult:
    """Train a LoRA adapter on ``train_jsonl`` and write it to ``out_dir`` (adapter.gguf, peft/, adapter.json).

    Checkpoints go to ``out_dir/checkpoints`` every ``checkpoint_every`` steps; with ``resume`` a run with the same
    base, data and options continues from the last one."""
    base = Path(base)
    if not base.is_file():
        raise UserError(f"{base}: no such GGUF file", "tune a GGUF model, e.g. the smollm2 alias")
    if epochs < 1 or rank < 1 or batch_size < 1 or (max_steps is not None and max_steps < 1):
        raise UserError("epochs, rank, batch size and max steps must be at least 1", "e.g. --epochs 1 --rank 8")
    if tokenizer_mismatch not in ("fail", "report"):
        raise ValueError("tokenizer_mismatch is 'fail' or 'report'")
    require_tune_extra()
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    tell = progress or (lambda *_: None)
    examples = read_examples(Path(train_jsonl))
    options = {"epochs": epochs, "rank": rank, "alpha": alpha, "lr": lr, "seed": seed, "max_steps": max_steps,
               "batch_size": batch_size, "max_tokens": max_tokens, "targets": list(targets)}
    base_sha = file_sha256(base)
    data_sha = file_sha256(Path(train_jsonl))
    run_key = {"base_sha256": base_sha, "data_sha256": data_sha, **{k: v for k, v in options.items()
                                                                     if k != "max_steps"}}

    # 1. tokenise with llama.cpp, compare with transformers, before anything heavy
    tell("tokenising", 0, len(examples))
    encoder = ChatEncoder(base)
    try:
        texts = [encoder.text(m) for m in examples]
        llama_ids = [encoder.tokenize(t) for t in texts]
        encoded = [encoder.encode(m, max_tokens) for m in examples]
        pre = encoder.pre
    except Exception as exc:  # the GGUF's own Jinja template refused a chat (raise_exception, a bad role)
        raise UserError(f"{base.name}'s chat template cannot render the training chats: {exc}",
                        "use roles the model's template accepts (system, user, assistant)") from None
    finally:
        encoder.close()
    tokenizer = load_tokenizer(base)
    check = compare_tokenizers(texts, llama_ids,
                               lambda t: list(tokenizer(t, add_special_tokens=False)["input_ids"]), pre)
    if check["mismatches"] and tokenizer_mismatch == "fail":
        raise tokenizer_error(check)
    tell("tokenising", len(examples), len(examples))
    usable = [e for e in encoded if e is not None]
    if not usable:
        raise UserError(f"no example's answer fits in {max_tokens} tokens", "raise max_tokens or shorten the data")

    # the last checkpoint, checked before the model is loaded
    out_dir.mkdir(parents=True, exist_ok=True)
    found = _checkpoints(out_dir) if resume else []
    state = torch.load(found[-1], map_location="cpu", weights_only=True) if found else None
    if state is not None and state.get("run") != run_key:
        raise UserError(f"{out_dir} holds checkpoints of another run (other base, data or options)",
                        "pass another output folder, or resume=False to start over")

    # 2. model + LoRA
    torch.manual_seed(seed)
    torch.set_num_threads(_threads())
    tell("loading the model", 0, 1)
    model = add_lora(load_model(base), rank, alpha, targets)
    tell("loading the model", 1, 1)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    batches = _batches(len(usable), batch_size, epochs, seed)
    total = len(batches) if max_steps is None else min(max_steps, len(batches))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)

    # 3. resume
    start, losses, tokens, assistant = 0, [], 0, 0
    if state is not None:
        set_peft_model_state_dict(model, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        start, losses = state["step"], state["losses"]
        tokens, assistant = state["tokens"], state["assistant_tokens"]

    # 4. train
    began, fresh_tokens = time.perf_counter(), 0
    tell("tuning", start, total)
    for step in range(start, total):
        batch = [usable[i] for i in batches[step]]
        ids, mask, labels = _collate(batch, pad)
        loss = assistant_loss(model, ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        n_tok = int(mask.sum())
        tokens += n_tok
        fresh_tokens += n_tok
        assistant += sum(len(e.ids) - e.n_prompt for e in batch)
        tell("tuning", step + 1, total)
        if (step + 1) % checkpoint_every == 0 or step + 1 == total:
            _save_checkpoint(out_dir, {"step": step + 1, "run": run_key, "lora": get_peft_model_state_dict(model),
                                       "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                                       "losses": losses, "tokens": tokens, "assistant_tokens": assistant})
    seconds = time.perf_counter() - began

    # 5. export: peft folder, llama.cpp adapter GGUF, the base reference
    peft_dir = out_dir / "peft"
    # save_embedding_layers="auto" would ask the Hub whether the base's config exists there (the embeddings are
    # never tuned here: no need to know)
    model.save_pretrained(str(peft_dir), save_embedding_layers=False)
    adapter = out_dir / "adapter.gguf"
    export_adapter(model, base, adapter, alpha, metadata={
        "general.name": f"opentrust LoRA for {base.stem}", "opentrust.base_sha256": base_sha,
        "opentrust.train_data_sha256": data_sha,
        **({"general.license": lic} if (lic := _base_license(base)) else {})})
    result = TuneResult(
        adapter_gguf=adapter, peft_dir=peft_dir, base=str(base), base_sha256=base_sha, examples=len(usable),
        tokens=tokens, assistant_tokens=assistant, steps=total, seconds=round(seconds, 3),
        tokens_per_s=round(fresh_tokens / seconds, 2) if seconds > 0 else 0.0, peak_rss_mb=round(_peak_rss_mb(), 1),
        loss_first=round(losses[0], 4) if losses else math.nan, loss_last=round(losses[-1], 4) if losses else math.nan,
        tokenizer_check=check, resumed_from=start, options=options)
    _write_reference(out_dir, result, Path(train_jsonl), data_sha)
    return result


def _save_checkpoint(out_dir: Path, state: dict[str, Any], keep: int = 2) -> None:
    import torch

    folder = out_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step-{state['step']:06d}.pt"
    tmp = path.with_name(path.name + ".part")
    torch.save(state, tmp)
    tmp.replace(path)  # a run killed mid-write leaves the previous checkpoint intact
    for old in _checkpoints(out_dir)[:-keep]:
        old.unlink(missing_ok=True)


def _base_license(base: Path) -> str | None:
    from opentrust.formats.gguf import GGUFError, read_gguf

    try:
        value = read_gguf(base).get("general.license")
    except (GGUFError, OSError):
        return None
    return value if isinstance(value, str) and value.strip() else None


def _sources(data: Path) -> str:
    """`` (redteam 40, behaviour 13)``: the examples per provenance source, when the lines carry one."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for line in data.read_text(encoding="utf-8").splitlines():
        try:
            source = json.loads(line).get("provenance", {}).get("source")
        except (ValueError, AttributeError):
            continue
        if isinstance(source, str):
            counts[source] += 1
    return f" ({', '.join(f'{k} {n}' for k, n in counts.most_common())})" if counts else ""


def _write_reference(out_dir: Path, result: TuneResult, data: Path, data_sha: str) -> None:
    """What ships with the adapter, so that ``opentrust openness`` and a reader can tell what it is: adapter.json
    (machine-readable: base path and sha256, training data sha256, options, training figures), README.md (a model
    card whose front matter carries the base's licence and names the base) and the training data itself."""
    import shutil

    from opentrust import __version__

    released = out_dir / "data" / "train.jsonl"
    if data.resolve() != released.resolve():
        released.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data, released)
    licence = _base_license(Path(result.base))
    ref = {"kind": "opentrust-lora-adapter", "schema_version": TUNE_VERSION, "adapter": result.adapter_gguf.name,
           "adapter_sha256": file_sha256(result.adapter_gguf), "peft_dir": result.peft_dir.name,
           "base": {"path": result.base, "sha256": result.base_sha256, "license": licence},
           "train_data": {"path": str(data), "sha256": data_sha, "examples": result.examples,
                          "copy": str(released.relative_to(out_dir))},
           "options": result.options, "method": "lora", "tool": f"opentrust {__version__}",
           "target_spec": adapter_target_spec(result.base, result.adapter_gguf),
           "tokenizer_check": result.tokenizer_check,
           "training": {k: v for k, v in result.to_json().items()
                        if k in ("tokens", "assistant_tokens", "steps", "seconds", "tokens_per_s", "peak_rss_mb",
                                 "loss_first", "loss_last", "resumed_from")}}
    (out_dir / "adapter.json").write_text(json.dumps(ref, indent=2) + "\n", encoding="utf-8")
    front = ["---", f"license: {licence}" if licence else "license: other", f"base_model: {Path(result.base).name}",
             "library_name: peft", "tags: [lora, gguf, opentrust-improve]", "---", ""]
    opts = result.options
    card = (f"# LoRA adapter for {Path(result.base).name}\n\n"
            f"A LoRA adapter (rank {opts['rank']}, alpha {opts['alpha']}, on {', '.join(opts['targets'])}) trained "
            f"by `opentrust improve` ({__version__}). It is not a model on its own: it applies to the base model\n\n"
            f"- base: `{result.base}`\n- base sha256: `{result.base_sha256}`\n\n"
            f"Use it as the target `{ref['target_spec']}` (or `--adapter {result.adapter_gguf}`).\n\n"
            f"## Training data\n\n`{released.relative_to(out_dir)}` (sha256 `{data_sha}`): {result.examples} chat "
            f"examples{_sources(data)}, each line with its provenance. `opentrust improve --plan` builds them from "
            "the model's measured failures: a safe refusal for each red-team success, a helpful answer for each "
            "over-refused benign prompt, a correct answer for each failed behaviour case, every answer from our "
            "templates and checked by the detectors; probe families held out for the re-test are not in it.\n\n"
            f"## Training\n\n{result.steps} steps of batch {opts['batch_size']} at learning rate {opts['lr']}, seed "
            f"{opts['seed']}, loss on assistant tokens only ({result.assistant_tokens} of {result.tokens} tokens); "
            f"loss {result.loss_first} -> {result.loss_last}. Files: `adapter.gguf` (llama.cpp), `peft/` "
            "(transformers + peft), `adapter.json` (all of the above, machine-readable).\n\n"
            "The adapter is distributed under the base model's licence"
            + (f" ({licence}).\n" if licence else ".\n"))
    (out_dir / "README.md").write_text("\n".join(front) + card, encoding="utf-8")
