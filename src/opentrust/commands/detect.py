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
    name: Annotated[str, typer.Argument(help="Detector: refusal, canary, harmful or pii.")],
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help='JSONL file: one {"prompt", "response"} object per line (canary lines also need "canary").',
        ),
    ],
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
    canary: Annotated[
        Optional[List[str]],
        typer.Option(
            "--canary", help='canary only: the secret to look for when lines carry no "canary" (repeatable).'
        ),
    ] = None,
    api_key_env: ApiKeyEnvOption = None,
) -> None:
    """Label model responses with one detector; each output line adds "label", "score" and "reason".

    Example: opentrust detect refusal --input responses.jsonl --output labelled.jsonl
    """
    import asyncio

    from opentrust.detectors import DETECTORS, get_detector
    from opentrust.detectors.io import read_records, run_detector, summary_table, write_records
    from opentrust.errors import UserError

    if name not in DETECTORS:
        raise UserError(f"unknown detector {name!r}", f"choose one of: {', '.join(DETECTORS)}")
    options: dict[str, object] = {}
    if judge:
        if name != "harmful":
            raise UserError(
                "--judge applies only to the harmful detector", "drop --judge or use `detect harmful`"
            )
        options.update(judge=judge, api_key_env=api_key_env)
    if canary:
        if name != "canary":
            raise UserError("--canary applies only to the canary detector", "drop --canary")
        options["canaries"] = canary
    required = ("canary",) if name == "canary" and not canary else ()
    records = read_records(
        input, required
    )  # validates every line before any work (exit 2 names the bad line)
    detector = get_detector(name, **options)
    console = stderr_console()
    with progress_display(console) as progress:
        labelled = asyncio.run(run_detector(detector, records, progress))
    write_records(labelled, output)
    console.print(summary_table(detector, labelled))
    if output is not None:
        console.print(f"labelled {len(labelled)} line(s) → {output}")
