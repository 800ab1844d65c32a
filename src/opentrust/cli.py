"""The command-line interface: a thin typer app. Commands are registered by plugins (opentrust.builtins).

No logic lives here; heavy libraries are imported inside the commands that need them.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from typing_extensions import Annotated

from opentrust import __version__
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


def _load_commands() -> None:
    from opentrust.plugins import plugin_manager

    plugin_manager().hook.register_commands(app=app)


def main() -> None:
    _load_commands()
    try:
        app()
    except BrokenPipeError:  # `opentrust ... | head`
        sys.stderr.close()
        raise SystemExit(0) from None
