"""The command-line interface: a thin typer app. Commands are registered by plugins (opentrust.builtins).

No logic lives here; heavy libraries are imported inside the commands that need them.
"""

import sys
from typing import Any, Optional

from opentrust._version import __version__

# No `from __future__ import annotations` here: the typer callback below is defined inside get_app(), and
# typer reads its parameters from the evaluated annotations.

_APP: Any = None


def get_app() -> Any:
    """The typer application, built on first use: importing typer costs more than a whole `opentrust scan`
    of a small file, which takes the fast path in main() and never needs it."""
    global _APP
    if _APP is not None:
        return _APP
    import typer
    from typing_extensions import Annotated

    from opentrust.clikit import STATE

    app = typer.Typer(
        name="opentrust",
        help="Evidence, not reputation: audit open AI models before production.\n\n"
        "Exit codes: 0 = nothing at or above --fail-on, 1 = findings at or above it, 2 = usage or input error.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    def _version(value: bool) -> None:
        if value:
            typer.echo(f"opentrust {__version__}")
            raise typer.Exit()

    @app.callback()
    def main_options(
        version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                        help="Print the version and exit.")] = None,
        debug: Annotated[bool, typer.Option("--debug", envvar="OPENTRUST_DEBUG",
                                            help="Show tracebacks instead of one-line errors.")] = False,
    ) -> None:
        STATE["debug"] = debug

    _APP = app
    return app


def __getattr__(name: str) -> Any:
    """``opentrust.cli.app`` (and ``from opentrust.cli import app``) keep working."""
    if name == "app":
        return get_app()
    raise AttributeError(f"module 'opentrust.cli' has no attribute {name!r}")


def _load_commands() -> None:
    from opentrust.plugins import plugin_manager

    plugin_manager().hook.register_commands(app=get_app())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "scan":
        # per-file hooks call `opentrust scan` constantly: plain invocations skip typer, pluggy and pydantic
        # (opentrust.scan.cli.fast_main hands anything it does not parse back to typer)
        from opentrust.scan.cli import fast_main

        try:
            code = fast_main(sys.argv[2:])
        except BrokenPipeError:  # `opentrust scan ... | head`
            sys.stderr.close()
            raise SystemExit(0) from None
        if code is not None:
            raise SystemExit(code)
    _load_commands()
    try:
        get_app()()
    except BrokenPipeError:  # `opentrust ... | head`
        sys.stderr.close()
        raise SystemExit(0) from None
