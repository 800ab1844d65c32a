"""`opentrust data PATH...`: personal data, secrets, licences, duplicates, contamination and card completeness."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import (ExecutorOption, FailOnOption, RayAddressOption, RayWorkersOption, executor_scope, guarded,
                              print_executor_summary, progress_display, split_list, stderr_console)


def register(app: typer.Typer) -> None:
    app.command(name="data")(data)


@guarded
def data(
    paths: Annotated[List[Path], typer.Argument(help="Data files or dataset folders: JSONL, JSON, CSV/TSV, Parquet, "
                                                     "Arrow, plain text, gzip/zstd/bz2/xz-compressed; a Hugging Face "
                                                     "dataset folder (card README.md, data files, arrow shards).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, sarif or html.")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the output to this file.")] = None,
    fail_on: FailOnOption = "high",
    against: Annotated[Optional[List[str]], typer.Option(
        "--against", help="Also check contamination against this suite or probe YAML, dataset file or folder, or "
                          "built-in benchmark name (repeatable).")] = None,
    sample: Annotated[Optional[int], typer.Option(
        "--sample", min=1, help="Scan a random sample of N rows of each file (every row is read, N are scanned; "
                                "the same sample for the same --seed).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --sample draw.")] = 0,
    redact_preview: Annotated[bool, typer.Option(
        "--redact-preview", help="Add the first rows of each file with personal data and secrets replaced by "
                                 "placeholders ('preview' in JSON).")] = False,
    fields: Annotated[Optional[List[str]], typer.Option(
        "--field", help="Only these fields (column or JSON key; comma-separated or repeated). Default: every text "
                        "field.")] = None,
    no_builtin: Annotated[bool, typer.Option("--no-builtin-benchmarks",
                                             help="Do not check contamination against the built-in suites and "
                                                  "red-team probes (only --against).")] = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    ray_workers: RayWorkersOption = None,
) -> None:
    """What is in a dataset: personal data (validated: Luhn, mod-97, phone numbering plans), secrets, licences
    (card vs files), exact and near duplicates, benchmark contamination (GPT-3, PaLM and Llama 2 definitions) and
    whether its card has every field Croissant, the Hugging Face card and Datasheets for Datasets ask for. Streams
    every file in flat memory; nothing is downloaded or executed.

    Exit 0: nothing at or above --fail-on; 1: a finding at or above it; 2: bad input.

    Example: opentrust data ./my-dataset --format json --out data.json
    """
    from opentrust.datascan.report import print_table
    from opentrust.datascan.run import Options, failed, scan_data
    from opentrust.errors import UserError
    from opentrust.findings import Severity
    from opentrust.plugins import reporters

    formats = reporters("data")
    if fmt != "table" and fmt not in formats:
        raise UserError(f"unknown format {fmt!r}", f"use --format {', '.join(['table', *formats])}")
    threshold = Severity.parse(fail_on)
    for p in paths:
        if not p.exists():
            raise UserError(f"{p}: no such file or folder", "check the path")
    opts = Options(fields=split_list(fields), sample=sample, seed=seed, against=list(against or []),
                   builtin_benchmarks=not no_builtin, redact_preview=redact_preview)
    console = stderr_console()
    with progress_display(console) as progress, executor_scope(executor, ray_address, ray_workers, progress) as ex:
        result = scan_data([p.expanduser() for p in paths], opts, progress=progress, executor=ex)
    print_executor_summary(console, ex)
    if fmt == "table":
        from rich.console import Console

        if out is not None:
            try:
                with open(out, "w", encoding="utf-8") as fh:
                    print_table(result, Console(file=fh, width=160, force_terminal=False))
            except OSError as exc:
                raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from None
        else:
            print_table(result, Console())
    else:
        text = formats[fmt](result)
        if out is not None:
            from opentrust.report.jsonout import atomic_write

            try:
                atomic_write(out, text)
            except OSError as exc:
                raise UserError(f"cannot write {out}: {exc}", "pass a writable path with --out") from None
            print_table(result, console)
        else:
            typer.echo(text, nl=False)
    raise typer.Exit(1 if failed(result, threshold) else 0)
