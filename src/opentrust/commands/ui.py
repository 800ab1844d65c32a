"""`opentrust ui`: serve the local web UI over the store, report folders and the guard log."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust.clikit import DbOption, guarded


def register(app: typer.Typer) -> None:
    app.command(name="ui")(ui)


@guarded
def ui(
    db: DbOption = None,
    reports: Annotated[Optional[list[Path]], typer.Option(
        "--reports", help="Also index the report JSON files under this folder (repeatable).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind. Default: this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8788,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    allow_review: Annotated[bool, typer.Option(
        "--allow-review", help="Allow the only write action: marking a detector label as wrong (CSRF-protected).")
    ] = False,
    guard_log: Annotated[Optional[Path], typer.Option(
        "--guard-log", help="The guard's decision log (opentrust guard serve --log). Default: "
        ".opentrust/guard-log.db")] = None,
) -> None:
    """Serve one local web page for all the evidence: models, audits over time, comparisons, red-team outputs,
    reviews and the guard's decisions, with a JSON API under /api/. Read-only unless --allow-review.

    Example: opentrust ui --open
    """
    import socket

    from opentrust.errors import UserError
    from opentrust.store import default_db_path

    path = db or default_db_path()
    if not path.exists():
        raise UserError(f"no store at {path}", "run `opentrust audit TARGET` first, or pass --db PATH")
    for folder in reports or []:
        if not folder.is_dir():
            raise UserError(f"--reports {folder}: not a folder", "pass a folder that holds report JSON files")
    if guard_log is not None and not guard_log.exists():
        raise UserError(f"no guard log at {guard_log}", "pass the --log DB that `opentrust guard serve` wrote")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"opentrust: warning: serving on {host}: anyone who can reach it can read the evidence", err=True)
    # Bind first, so that a port in use is one line and exit 2 instead of uvicorn's log and exit 1.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                        "pick another port with --port (or stop what uses it)") from None
    bound = sock.getsockname()[1]

    import uvicorn

    from opentrust.ui.app import create_app

    app = create_app(path, list(reports or []), allow_review, guard_log=guard_log, hosts=[host])
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    typer.echo(f"opentrust ui: {url} ({'reviews allowed' if allow_review else 'read-only'}; store {path}); "
               "Ctrl-C to stop")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
