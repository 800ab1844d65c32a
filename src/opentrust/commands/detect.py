"""`opentrust detect NAME --input FILE.jsonl [--output FILE.jsonl]`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import ApiKeyEnvOption, guarded, progress_display, stderr_console


def register(app: typer.Typer) -> None:
    app.command(name="detect")(detect)


@guarded
def detect(
    name: Annotated[str, typer.Argument(help="Detector: refusal, canary, harmful, pii, or one a plugin registered.")],
    input: Annotated[
        Optional[Path],
        typer.Option(
            "--input",
            "-i",
            help='JSONL file: one {"prompt", "response"} object per line (canary lines also need "canary"; '
            'prompt_injection and jailbreak read "prompt" or a chat request\'s "messages").',
        ),
    ] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Write labelled JSONL here (default: stdout).")
    ] = None,
    judge: Annotated[
        Optional[str],
        typer.Option(
            "--judge",
            help="harmful only: a target that gives the verdict, "
            "e.g. openai:http://localhost:11434/v1#llama-guard3:1b",
        ),
    ] = None,
    judge_format: Annotated[
        str,
        typer.Option("--judge-format", help="instruction (any chat model reads a SAFE/UNSAFE instruction) or "
                     "conversation (a guard model such as Llama Guard classifies the user/assistant exchange)."),
    ] = "instruction",
    canary: Annotated[
        Optional[List[str]],
        typer.Option(
            "--canary", help='canary only: the secret to look for when lines carry no "canary" (repeatable).'
        ),
    ] = None,
    api_key_env: ApiKeyEnvOption = None,
    evaluate: Annotated[
        Optional[Path],
        typer.Option(
            "--evaluate",
            help='Measure the detector on your own labelled JSONL ({"prompt", "response", "label"} per line; '
            "label is the detector's label word or true/false) and print its accuracy table.",
        ),
    ] = None,
    threshold: Annotated[
        Optional[float],
        typer.Option("--threshold", min=0.0, max=1.0,
                     help="refusal / harmful: the score at or above which a line gets the positive label "
                     "(default: the model's, 0.5 on the calibrated score)."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="refusal / harmful: say which sentence or block decided, and why.")
    ] = False,
) -> None:
    """Label model responses with one detector; each output line adds "label", "score" and "reason".

    Example: opentrust detect refusal --input responses.jsonl --output labelled.jsonl
    Example: opentrust detect refusal --evaluate my-labelled.jsonl
    """
    import asyncio

    from opentrust.detectors import detectors, get_detector
    from opentrust.detectors.io import read_records, run_detector, summary_table, write_records
    from opentrust.errors import UserError

    available = detectors()  # the built-ins and plugins' (register_detectors)
    if name not in available:
        raise UserError(f"unknown detector {name!r}", f"choose one of: {', '.join(available)}")
    options: dict[str, object] = {}
    if judge:
        if name != "harmful":
            raise UserError(
                "--judge applies only to the harmful detector", "drop --judge or use `detect harmful`"
            )
        options.update(judge=judge, api_key_env=api_key_env, judge_format=judge_format)
    if canary:
        if name != "canary":
            raise UserError("--canary applies only to the canary detector", "drop --canary")
        options["canaries"] = canary
    if threshold is not None or explain:
        if name not in ("refusal", "harmful"):
            raise UserError("--threshold and --explain apply to the refusal and harmful detectors",
                            "drop them, or use `detect refusal` / `detect harmful`")
        if threshold is not None:
            options["threshold"] = threshold
        options["explain"] = explain
    if (input is None) == (evaluate is None):
        raise UserError("give exactly one of --input FILE (label responses) or --evaluate FILE (measure the detector)",
                        "e.g. opentrust detect refusal --input responses.jsonl")
    required = ("canary",) if name == "canary" and not canary else ()
    if evaluate is not None:
        required += ("label",)
    detector = get_detector(name, **options)
    records = read_records(
        input or evaluate, required, input_only=getattr(detector, "reads_input", False)  # type: ignore[arg-type]
    )  # validates every line before any work (exit 2 names the bad line); a plugin's detector may not subclass ours
    console = stderr_console()
    if evaluate is not None:
        from opentrust.detectors.io import evaluate_records

        result = evaluate_records(detector, records, evaluate, console)
        if output is not None:
            import json

            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            console.print(f"evaluation → {output}")
        return
    with progress_display(console) as progress:
        labelled = asyncio.run(run_detector(detector, records, progress))
    write_records(labelled, output)
    console.print(summary_table(detector, labelled))
    if output is not None:
        console.print(f"labelled {len(labelled)} line(s) → {output}")
