"""`opentrust guard serve|check|log|verify-log`: the guardrail gateway, its offline checks and its audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import guarded

guard_app = typer.Typer(name="guard", help="An OpenAI-compatible guardrail gateway: checks what goes into and comes "
                        "out of a model, logs every decision (hash-chained SQLite).", no_args_is_help=True,
                        add_completion=False, rich_markup_mode=None)

POLICY_HELP = "Guard policy YAML (checks per direction and their actions); default: the built-in policy."
LOG_HELP = "The audit log (SQLite); default: $OPENTRUST_GUARD_LOG or .opentrust/guard-log.db."


def register(app: typer.Typer) -> None:
    app.add_typer(guard_app, name="guard")


@guard_app.command(name="serve")
@guarded
def serve(
    upstream: Annotated[str, typer.Option("--upstream", help="The model behind the gateway: smollm2, a .gguf file "
                                          "(served by llama.cpp's server on a free loopback port) or "
                                          "openai:<url>#<model>.")] = "",
    policy: Annotated[Optional[Path], typer.Option("--policy", help=POLICY_HELP)] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback unless you say otherwise).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8787,
    log: Annotated[Optional[Path], typer.Option("--log", help=LOG_HELP)] = None,
    api_key_env: Annotated[Optional[str], typer.Option("--api-key-env", help="Environment variable holding the "
                                                       "upstream's API key (never the clients' keys).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Gateway processes sharing the port and "
                                         "the log, rate limits and /metrics (one per core).")] = 1,
) -> None:
    """Serve /v1/chat/completions (also stream: true), /v1/completions, /v1/models, /metrics and /healthz.

    Example: opentrust guard serve --upstream openai:http://127.0.0.1:8080/v1#smollm2 --log guard.db
    """
    import contextlib

    from opentrust.errors import UserError
    from opentrust.guard.checks import Guard
    from opentrust.guard.log import default_log_path
    from opentrust.guard.policy import load_policy
    from opentrust.guard.server import Upstream, run_gateway
    from opentrust.target import resolve_target

    if not upstream:
        raise UserError("no upstream given", "pass --upstream smollm2 or --upstream openai:<url>#<model>")
    pol = load_policy(policy)
    target = resolve_target(upstream, api_key_env=api_key_env)
    guard = Guard(pol) if workers == 1 else None  # loads the detectors' models before the first request
    log_path = log or default_log_path()
    err = typer.echo
    with contextlib.ExitStack() as stack:
        if target.kind == "endpoint":
            base, model, key = target.base_url or "", target.model, target.api_key()
        elif target.gguf_path is not None:
            from opentrust.backends.local_server import llama_server

            err(f"guard: starting llama.cpp's server for {target.name} on a loopback port …", err=True)
            try:
                base = stack.enter_context(llama_server(target.gguf_path, alias=target.name))
            except RuntimeError as exc:
                raise UserError(f"cannot start a local server for {target.name}: {exc}",
                                "install opentrust[server] or run your own server and pass openai:<url>#<model>") \
                    from None
            model, key = target.name, None
        else:
            raise UserError(f"{upstream} cannot be served", "pass smollm2, a .gguf file or openai:<url>#<model>")
        if host not in ("127.0.0.1", "localhost", "::1") and not pol.clients.api_key_sha256:
            err(f"guard: warning: listening on {host} without client keys (clients.api_key_sha256 in the policy)",
                err=True)
        err(f"guard: http://{host}:{port}/v1 -> {base} ({model}); policy: {policy or 'default'}; log: {log_path}",
            err=True)
        if workers > 1 and target.kind != "endpoint":
            raise UserError("--workers applies to openai: upstreams", "run one worker in front of a local model")
        run_gateway(policy, Upstream(base, model, key, pol.upstream.timeout_s, pol.upstream.retries), log_path, host,
                    port, workers, None if workers > 1 else guard, api_key_env)


@guard_app.command(name="check")
@guarded
def check(
    input: Annotated[Path, typer.Option("--input", "-i", help='JSONL: {"messages": [...]}, {"prompt": ...} or '
                                        '{"response": ...} per line.')],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL written: each input line plus decision, "
                                         "rules and text.")],
    policy: Annotated[Optional[Path], typer.Option("--policy", help=POLICY_HELP)] = None,
) -> None:
    """Run the gateway's checks offline over recorded traffic.

    Example: opentrust guard check --input traffic.jsonl --output checked.jsonl
    """
    from rich.progress import Progress
    from rich.table import Table

    from opentrust.clikit import stderr_console
    from opentrust.guard.checks import Guard
    from opentrust.guard.offline import run_check
    from opentrust.guard.policy import load_policy

    guard = Guard(load_policy(policy))
    console = stderr_console()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("checking", total=None)
        counts = run_check(guard, input, output, progress=lambda: bar.advance(task))
    resumed = f" ({counts['resumed']} from an interrupted run)" if counts.get("resumed") else ""
    table = Table(title=f"guard check: {counts['records']} record(s){resumed} -> {output}")
    table.add_column("decision / rule")
    table.add_column("count", justify="right")
    for key in ("allow", "flag", "redact", "block"):
        table.add_row(key, str(counts.get("decision:" + key, 0)))
    for key, n in sorted(counts.items()):
        if key.startswith("rule:"):
            table.add_row("  " + key[5:], str(n))
    console.print(table)


@guard_app.command(name="log")
@guarded
def show_log(
    log: Annotated[Optional[Path], typer.Option("--log", help=LOG_HELP)] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only decisions at or after this ISO time or "
                                                 "date (UTC), e.g. 2026-11-27 or 2026-11-27T08:00.")] = None,
    rule: Annotated[Optional[str], typer.Option("--rule", help="Only decisions where this rule id fired.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[int, typer.Option("--limit", help="At most this many (the newest).")] = 1000,
) -> None:
    """Read decisions back from the audit log.

    Example: opentrust guard log --rule input.prompt_injection --format json
    """
    from opentrust.errors import UserError
    from opentrust.guard.log import default_log_path, read

    if format not in ("table", "json"):
        raise UserError(f"unknown format {format!r}", "pass --format table or --format json")
    rows = read(log or default_log_path(), since=since, rule=rule, limit=limit)
    if format == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} decision(s)")
    for col in ("seq", "time", "request", "dir", "endpoint", "decision", "rules", "guard ms", "upstream ms"):
        table.add_column(col)
    for r in rows:
        rules = ", ".join(f"{x['id']}:{x['action']}" for x in r["rules"]) or "-"
        table.add_row(str(r["seq"]), r["ts"], r["request_id"], r["direction"], r["endpoint"], r["decision"], rules,
                      f"{r['guard_ms']:.2f}" if r["guard_ms"] is not None else "-",
                      f"{r['upstream_ms']:.1f}" if r["upstream_ms"] is not None else "-")
    Console().print(table)


@guard_app.command(name="verify-log")
@guarded
def verify_log(
    log: Annotated[Optional[Path], typer.Option("--log", help=LOG_HELP)] = None,
    format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check the audit log's hash chain: exit 0 when intact, 1 when a record was edited or deleted.

    Example: opentrust guard verify-log --log guard.db
    """
    from opentrust.guard.log import default_log_path, verify

    path = log or default_log_path()
    result = verify(path)
    if format == "json":
        typer.echo(json.dumps(result, indent=2))
    elif result["intact"]:
        typer.echo(f"intact: {result['records']} record(s), chain verified through record {result['last_seq']}")
    else:
        typer.echo(f"TAMPERED: {len(result['problems'])} problem(s) in {path}")
        for p in result["problems"][:20]:
            typer.echo(f"  - {p}")
    raise typer.Exit(0 if result["intact"] else 1)
