"""The peer of benchmarks/tune_smollm2.py: TRL's SFTTrainer (LoRA through peft) on the same model, data, LoRA
options, batch size and steps. Runs with TRL on PYTHONPATH (installed apart from .venv:
``.venv/bin/pip install --target /work/bench-venvs/trl-pkgs --no-deps trl datasets dill multiprocess xxhash pandas``)
and prints one JSON object.

    PYTHONPATH=/work/bench-venvs/trl-pkgs .venv/bin/python benchmarks/_trl_sft.py BASE.gguf DATA.jsonl STEPS BATCH
"""

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from opentrust.offline import hub_offline

hub_offline()  # before datasets and TRL are imported: they read the offline switches once, at import

from datasets import Dataset  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

import trl  # noqa: E402
from opentrust.improve.tune import ChatEncoder, add_lora, load_model, load_tokenizer, read_examples

base, data, steps, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
encoder = ChatEncoder(base)  # the same rendering as ours: the GGUF's template as llama-cpp-python applies it
rows = []
for messages in read_examples(data):
    prompt = encoder._prompt(messages=messages[:-1]).prompt
    full = encoder.text(messages)
    rows.append({"prompt": prompt, "completion": full[len(prompt):]})
encoder.close()
model = load_model(base)
# the weights are already dequantised to float32; the Trainer refuses a model still marked "quantized with GGUF"
model.hf_quantizer = None
model.is_quantized = False
model.config.quantization_config = None
model = add_lora(model, rank=8, alpha=16)
args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch, max_steps=steps,
                 learning_rate=2e-4, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
                 use_cpu=True, report_to=[], save_strategy="no", logging_steps=1, max_length=512,
                 completion_only_loss=True, include_num_input_tokens_seen="non_padding", seed=0,
                 dataloader_num_workers=0)
trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                     processing_class=load_tokenizer(base))
start = time.perf_counter()
trainer.train()
seconds = time.perf_counter() - start
tokens = int(trainer.state.num_input_tokens_seen)
print(json.dumps({"system": f"trl {trl.__version__} SFTTrainer", "steps": trainer.state.global_step,
                  "tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
