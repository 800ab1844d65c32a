"""Built-in features, registered through the same hooks as third-party plugins.

Keep this module light (it loads on every CLI start): hook bodies import what they register.
"""

from __future__ import annotations

from typing import Any, Callable

from opentrust.hookspecs import hookimpl


@hookimpl
def register_commands(app: Any) -> None:
    from opentrust.commands import audit

    audit.register(app)


@hookimpl
def register_checks(register: Callable[[Any], None]) -> None:
    from opentrust.checks.model_facts import ModelFactsCheck
    from opentrust.checks.smoke import SmokeCheck

    register(ModelFactsCheck())
    register(SmokeCheck())


@hookimpl
def register_reporters(register: Callable[[str, Any], None]) -> None:
    from opentrust.report import html, jsonout

    register("json", jsonout.write)
    register("html", html.write)
