"""What every command shares: error handling, exit codes, common options, the progress display.

Imports here stay light (typer only at module level) so ``opentrust --help`` starts fast.
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

import typer
from typing_extensions import Annotated

from opentrust.errors import EXIT_INTERNAL, EXIT_USAGE

F = TypeVar("F", bound=Callable[..., Any])

STATE = {"debug": bool(os.environ.get("OPENTRUST_DEBUG"))}

DbOption = Annotated[Optional[Path], typer.Option(
    "--db", envvar="OPENTRUST_DB", help="SQLite store (runs, cached samples). Default: .opentrust/opentrust.db")]
FailOnOption = Annotated[str, typer.Option(
    "--fail-on", help="Exit 1 when a finding is at or above this severity: critical|high|medium|low|info|none.")]
ApiKeyEnvOption = Annotated[Optional[str], typer.Option(
    "--api-key-env", help="Name of the environment variable holding the endpoint's API key.")]
ModelIdOption = Annotated[Optional[str], typer.Option(
    "--model-id", help="Endpoints: pin the model's identity (e.g. the weights' digest or a version). Cached "
    "samples are reused only under the same id. Default: what the server reports about the model.")]

ExecutorOption = Annotated[str, typer.Option(
    "--executor", help="Where the work runs: local (this process) or ray (a Ray cluster; the opentrust[ray] extra).")]
RayAddressOption = Annotated[Optional[str], typer.Option(
    "--ray-address", help="With --executor ray: the cluster's address (host:port of the head node). Default: "
    "RAY_ADDRESS, else a Ray instance started on this machine.")]
RayWorkersOption = Annotated[Optional[int], typer.Option(
    "--ray-workers", min=1, help="With --executor ray: workers (Ray actors) per model (data: tasks in flight). "
    "Default: one per node that can serve the model.")]

AdapterOption = Annotated[Optional[Path], typer.Option(
    "--adapter", help="A LoRA adapter GGUF (e.g. from opentrust improve) applied on top of the GGUF model; the same "
    "as the target MODEL.gguf+ADAPTER.gguf.")]


def with_adapter(spec: Optional[str], adapter: Optional[Path]) -> Optional[str]:
    """The target spec with ``--adapter`` folded in (``SPEC+ADAPTER``), as every command resolves it."""
    if adapter is None or spec is None:
        return spec
    return f"{spec}+{adapter}"


def split_list(values: Optional[list[str]]) -> Optional[list[str]]:
    """A repeatable option whose values may also be comma-separated (``-c a,b -c c``), as one list."""
    if values is None:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one line on stderr and exit."""
    sys.stderr.write(f"opentrust: error: {message}\n")
    raise typer.Exit(code)


def guarded(fn: F) -> F:
    """Turn UserError into one line + exit 2, anything unexpected into one line + exit 3 (--debug: traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from opentrust.errors import UserError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except UserError as exc:
            if STATE["debug"]:
                raise
            fail(exc.one_line())
        except KeyboardInterrupt:
            sys.stderr.write("opentrust: interrupted; completed samples are saved, re-run to resume\n")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug in opentrust: still no traceback unless asked
            if STATE["debug"]:
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)",
                 EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


def write_output(path: Path, text: str, option: str = "--out") -> None:
    """Write a result file atomically; an unwritable path is the user's one-line error, not a traceback."""
    from opentrust.errors import UserError
    from opentrust.report.jsonout import atomic_write

    try:
        atomic_write(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc}", f"pass a writable path with {option}") from None


def emit_result(result: Any, formats: dict[str, Callable[[Any], str]], fmt: str, out: Optional[Path],
                junit: Optional[Path], show: Callable[[Any], None]) -> None:
    """The --format / --out / --junit contract of the result commands: the file gets ``fmt`` (JSON when the
    format is the table), JUnit goes to its own file, and the table is printed by ``show(console)`` on stdout
    for --format table, else on stderr beside the document on stdout."""
    text = formats["json" if fmt == "table" else fmt](result)
    if out:
        write_output(out, text, "--out")
    if junit:
        write_output(junit, formats["junit"](result), "--junit")
    if fmt == "table":
        from rich.console import Console

        show(Console())
    else:
        typer.echo(text, nl=False)
        show(stderr_console())


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_display(console: Any) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr; yields ``update(description, completed, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal and "CI" in os.environ) as bar:
        tasks: dict[str, Any] = {}

        def update(description: str, completed: int, total: int) -> None:
            key = description.split(":")[0]
            if key not in tasks:
                tasks[key] = bar.add_task(description, total=total)
            bar.update(tasks[key], description=description, completed=completed, total=total)

        yield update


@contextmanager
def executor_scope(name: str, address: Optional[str], workers: Optional[int],
                   progress: Optional[Callable[[str, int, int], None]] = None) -> Iterator[Any]:
    """The executor named by --executor/--ray-address/--ray-workers, closed (its workers stopped) afterwards."""
    from opentrust.executor import make_executor

    if workers is not None and name != "ray":
        from opentrust.errors import UserError

        raise UserError("--ray-workers needs --executor ray", "add --executor ray, or drop --ray-workers")
    executor = make_executor(name, address, workers, progress=progress)
    try:
        yield executor
    finally:
        executor.close()


def print_executor_summary(console: Any, executor: Any) -> None:
    """Per-node work and throughput after a run on Ray (nothing for the local executor)."""
    nodes = executor.nodes()
    if executor.name == "local" or not nodes:
        return
    from rich.table import Table

    info = executor.describe()
    workers = f"{info['workers']} worker(s), " if info.get("workers") else "tasks, "
    table = Table(title=f"Ray: {len(nodes)} node(s), {workers}{info.get('retried', 0)} retried", title_justify="left")
    for col in ("node", "workers", "done", "per second"):
        table.add_column(col, justify="left" if col == "node" else "right")
    for n in nodes:
        table.add_row(n.node, str(n.workers) if n.workers else "-", str(n.samples), f"{n.per_s:.2f}")
    console.print(table)
