"""CPU LoRA tuning of a GGUF model (``opentrust[tune]``): the GGUF is loaded through transformers' GGUF loader
(dequantised to float32), LoRA adapters are trained with peft on the assistant tokens of train.jsonl, and the
adapter is written back as a llama.cpp LoRA GGUF (``opentrust.improve.adapter_gguf``) next to the peft folder.

Work in progress: the API below is stable (``opentrust improve`` calls it); the body lands in the next commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class TuneResult:
    adapter_gguf: Path
    peft_dir: Path
    base: str
    base_sha256: str
    examples: int
    tokens: int  # trained tokens, masked ones included
    assistant_tokens: int  # tokens that carry loss
    steps: int
    seconds: float
    tokens_per_s: float
    peak_rss_mb: float
    loss_first: float
    loss_last: float
    tokenizer_check: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["adapter_gguf"] = str(self.adapter_gguf)
        out["peft_dir"] = str(self.peft_dir)
        return out


def adapter_target_spec(base_spec: str, adapter: Path) -> str:
    """The target spec every opentrust command accepts for base + adapter: ``BASE+ADAPTER.gguf``."""
    return f"{base_spec}+{adapter}"


def train(base: Path, train_jsonl: Path, out_dir: Path, *, epochs: int = 1, rank: int = 8, alpha: int = 16,
          lr: float = 2e-4, seed: int = 0, max_steps: int | None = None, resume: bool = True,
          progress: Callable[..., None] | None = None) -> TuneResult:
    raise NotImplementedError("tuning lands in the next commit")
