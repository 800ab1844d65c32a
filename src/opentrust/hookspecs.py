"""Extension points (pluggy). Each hook receives a ``register`` callback, as in Simon Willison's ``llm``.

Built-in features register through these same hooks (``opentrust.builtins``), so a third-party plugin
(entry-point group ``opentrust``) is a first-class citizen.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("opentrust")
hookimpl = pluggy.HookimplMarker("opentrust")


@hookspec
def register_commands(app: Any) -> None:
    """Add typer commands to the CLI app. Keep the module light: import heavy code inside the command."""


@hookspec
def register_checks(register: Callable[[Any], None]) -> None:
    """Register audit checks: ``register(check_instance)`` (see opentrust.checks.base.Check)."""


@hookspec
def register_scanners(register: Callable[[Any], None]) -> None:
    """Register artifact scanners for `opentrust scan`."""


@hookspec
def register_probes(register: Callable[[Any], None]) -> None:
    """Register red-team probe sources."""


@hookspec
def register_backends(register: Callable[[Any], None]) -> None:
    """Register backend factories: ``register(factory)`` with an ``opentrust.backends.base.BackendFactory``
    (``supports(target)``, ``create(target, **options)``; a ``scheme`` makes ``SCHEME:REST`` a target spec).
    Plugins are asked before the built-ins."""


@hookspec
def register_detectors(register: Callable[..., None]) -> None:
    """Register response detectors: ``register(name, factory, description)`` where ``factory(**options)``
    returns an object with the ``opentrust.detectors.base.Detector`` methods (``detect``, ``detect_record``,
    ``adetect``, ``adetect_record``, ``positive_label``, ``negative_label``). Plugins come before the
    built-ins; a name registered twice keeps the first (a plugin's)."""


@hookspec
def register_reporters(register: Callable[..., None]) -> None:
    """Register renderers of results: ``register(format_name, render, kinds=("audit",))`` where
    ``render(result, **options) -> str`` and ``kinds`` names the results it renders (audit, test, redteam,
    openness, scan). A plugin's reporter of a format replaces the built-in one. See ``opentrust.reporters``."""
