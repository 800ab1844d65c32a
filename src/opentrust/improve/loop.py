"""The whole `opentrust improve` loop: plan (opentrust.improve.plan) -> LoRA training (opentrust.improve.tune) ->
re-test of base and tuned target (opentrust.improve.evaluate) -> before_after.json / .html in --out.

Resumable: a rerun with the same --out reuses the plan when it was built from the same inputs, the training
checkpoints (tune's ``resume``), and every answer already drawn (the sample cache: the base's under its
fingerprint, the tuned target's under its own)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from opentrust.errors import UserError

METHODS = ("lora",)


def reusable_plan(folder: Path, *, target: str, seed: int, heldout: float, categories: list[str] | None,
                  reports: list[Path], use_store: bool, teacher: str | None = None,
                  retain: bool = False) -> dict[str, Any] | None:
    """The plan already in ``folder`` when it was built from the same inputs (else None: build it again)."""
    try:
        plan = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not all((folder / f).is_file() for f in ("train.jsonl", "heldout.jsonl")):
        return None
    sources = [s.get("report", "") for s in plan.get("sources") or []]
    same_sources = all(s.startswith("store:") for s in sources) if use_store else \
        sorted(sources) == sorted(str(p) for p in reports)
    if (plan.get("target"), plan.get("seed"), plan.get("heldout_ratio"), plan.get("categories") or None) != \
            (target, seed, heldout, categories or None) or not same_sources \
            or (plan.get("teacher") or {}).get("spec") != teacher or bool(plan.get("retain")) != retain:
        return None
    return plan


def run_improve(target_spec: str, *, reports: list[Path], use_store: bool, db: Path | None,
                categories: list[str] | None, out: Path, seed: int = 0, heldout: float = 0.25,
                templates_dir: Path | None = None, method: str = "lora", epochs: int = 1, rank: int = 8,
                lr: float = 2e-4, max_steps: int | None = None, samples: int = 1, controls: list[str] | None = None,
                teacher: str | None = None, retain: bool = False,
                progress: Callable[[str, int, int], None] | None = None,
                say: Callable[[str], None] | None = None) -> dict[str, Any]:
    from opentrust.improve.evaluate import evaluate
    from opentrust.improve.plan import make_plan
    from opentrust.target import resolve_target

    started = time.perf_counter()
    say = say or (lambda _m: None)
    if method not in METHODS:
        raise UserError(f"unknown --method {method!r}", f"use one of: {', '.join(METHODS)}")
    if epochs < 1 or rank < 1 or (max_steps is not None and max_steps < 1) or samples < 1:
        raise UserError("--epochs, --rank, --max-steps and --samples must be at least 1", "e.g. --epochs 1 --rank 8")
    if not 0 < lr < 1:
        raise UserError(f"--lr {lr:g} is outside (0, 1)", "e.g. --lr 2e-4")
    target = resolve_target(target_spec)
    if target.gguf_path is None or getattr(target, "adapter", None) is not None:
        raise UserError(f"{target.spec} is not a GGUF model: improve tunes a local GGUF",
                        "pass smollm2, gemma3-270m or a .gguf file (use --plan to only build the data)")
    plan = reusable_plan(out, target=target.spec, seed=seed, heldout=heldout, categories=categories, reports=reports,
                         use_store=use_store, teacher=teacher, retain=retain)
    if plan is not None:
        say(f"reusing the plan in {out} (same target, sources, seed and split)")
    else:
        plan = make_plan(target, reports=reports, use_store=use_store, db=db, categories=categories, out=out,
                         seed=seed, heldout=heldout, templates_dir=templates_dir, progress=progress,
                         teacher=teacher, retain=retain)
        plan.pop("_examples", None)
    if not plan["examples"]["train"]:
        raise UserError("the plan has no training example: these results hold no usable failure",
                        "run opentrust improve --plan to see why, or red-team the model first")
    from opentrust.improve.tune import adapter_target_spec, train

    res = train(target.gguf_path, out / "train.jsonl", out.resolve() / "tune", epochs=epochs, rank=rank, lr=lr,
                seed=seed, max_steps=max_steps, resume=True, progress=progress)
    tuned = adapter_target_spec(target.spec, Path(res.adapter_gguf))
    say(f"trained {res.steps} steps on {res.examples} examples in {res.seconds:.0f} s; re-testing {tuned}")
    return evaluate(target.spec, tuned, out, plan=plan, training=res.to_json(), controls=controls,
                    samples=samples, seed=seed, db=db, started=started, progress=progress,
                    parameters={"method": method, "epochs": epochs, "rank": rank, "lr": lr, "max_steps": max_steps,
                                "heldout_ratio": heldout, "categories": categories,
                                "teacher": teacher, "retain": retain})
