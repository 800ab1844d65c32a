"""A tiny randomly initialised llama GGUF (seconds to build, ~13 MB) with a real tokenizer copied from another
GGUF's metadata (SmolLM2's by default): what the tuning tests and docs run end to end instead of a real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build_tiny_llama(path: Path, tokenizer_from: Path, *, hidden: int = 64, layers: int = 2, heads: int = 4,
                     kv_heads: int = 2, ff: int = 128, seed: int = 0, pre_tokenizer: str | None = None) -> Path:
    """Write a float32 llama GGUF. ``pre_tokenizer`` overrides ``tokenizer.ggml.pre`` (a test makes llama.cpp's
    pre-tokenisation differ from what transformers applies to the same GGUF)."""
    import gguf

    reader = gguf.GGUFReader(str(tokenizer_from))
    vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    rng = np.random.default_rng(seed)
    head_dim = hidden // heads

    def w(*shape: int, scale: float = 0.08) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("opentrust-tiny-llama")
    writer.add_context_length(512)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(vocab)
    writer.add_file_type(0)  # all F32
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value = field.contents()
        if name == "tokenizer.ggml.pre" and pre_tokenizer is not None:
            value = pre_tokenizer
        main = field.types[0]
        sub = field.types[1] if main == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(name, value, main, sub)
    writer.add_tensor("token_embd.weight", w(vocab, hidden, scale=0.5))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", w(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_k.weight", w(kv_heads * head_dim, hidden))
        writer.add_tensor(f"blk.{i}.attn_v.weight", w(kv_heads * head_dim, hidden))
        writer.add_tensor(f"blk.{i}.attn_output.weight", w(hidden, hidden))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", w(ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", w(ff, hidden))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", w(hidden, ff))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
