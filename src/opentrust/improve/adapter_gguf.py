"""A peft LoRA adapter written as a llama.cpp LoRA GGUF (``general.type = adapter``).

llama.cpp's own converter (``convert_lora_to_gguf.py``) ships in the llama-cpp-python source distribution, not in
the wheel, and it imports the whole ``convert_hf_to_gguf.py`` (thousands of lines, a HF model folder and a base
config on disk). For the one architecture family we tune (llama: SmolLM2 and relatives) the format is small, so it
is written here with the ``gguf`` package, following llama.cpp's conventions (convert_lora_to_gguf.py and
llama-adapter.cpp):

- metadata ``general.architecture`` (the base's), ``general.type = "adapter"``, ``adapter.type = "lora"``,
  ``adapter.lora.alpha`` (llama.cpp scales by alpha / rank, as peft does);
- per adapted matrix ``blk.{i}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}.weight.lora_a`` with
  peft's A (rank x in; ggml ne = [in, rank]) and ``...lora_b`` with B (out x rank; ne = [rank, out]);
- the HF->GGUF converter permutes the rows of llama's q and k projections (rotary layout); transformers' GGUF loader
  undoes it on load, so the model we train sees HF order. The LoRA product B.A lands on those rows, so B of q/k gets
  the same row permutation (A is untouched), exactly what convert_lora_to_gguf does through its LoraTorchTensor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: peft/HF module (inside ``model.layers.{i}.``) -> llama.cpp tensor name (inside ``blk.{i}.``)
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
SUPPORTED_ARCHS = {"llama"}


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp's ``LlamaModel.permute`` (convert_hf_to_gguf.py) on the rows of a q/k matrix (or of LoRA B)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def lora_pairs(state: dict[str, Any]) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """``{(layer, hf_module): (A, B)}`` from a peft state dict (``get_peft_model_state_dict``)."""
    import re

    found: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    pattern = re.compile(r"layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_([AB])(?:\.\w+)?\.weight$")
    for name, tensor in state.items():
        m = pattern.search(name)
        if not m:
            raise ValueError(f"unsupported LoRA tensor {name} (only llama attention and MLP projections)")
        found.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = tensor.detach().float().cpu().numpy()
    out = {}
    for key, ab in found.items():
        if set(ab) != {"A", "B"}:
            raise ValueError(f"LoRA pair incomplete for layer {key[0]} {key[1]}")
        out[key] = (ab["A"], ab["B"])
    return out


def write_lora_gguf(path: Path, *, arch: str, alpha: float, state: dict[str, Any], n_head: int, n_head_kv: int,
                    metadata: dict[str, str] | None = None) -> int:
    """Write the adapter; returns the number of tensors written."""
    import gguf

    if arch not in SUPPORTED_ARCHS:
        raise ValueError(f"LoRA export supports {', '.join(sorted(SUPPORTED_ARCHS))} models, not {arch}")
    pairs = lora_pairs(state)
    if not pairs:
        raise ValueError("the adapter holds no LoRA tensors")
    tmp = path.with_name(path.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for key, value in (metadata or {}).items():
        writer.add_string(key, value)
    for (layer, module), (a, b) in sorted(pairs.items()):
        if module == "self_attn.q_proj":
            b = permute_rows(b, n_head, n_head)
        elif module == "self_attn.k_proj":
            b = permute_rows(b, n_head, n_head_kv)
        name = f"blk.{layer}.{HF_TO_GGUF[module]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return 2 * len(pairs)
