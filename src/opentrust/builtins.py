"""Built-in features, registered through the same hooks as third-party plugins.

Keep this module light (it loads on every CLI start): hook bodies import what they register, and command
modules import only typer at module level.
"""

from __future__ import annotations

from typing import Any, Callable

from opentrust.hookspecs import hookimpl


@hookimpl
def register_commands(app: Any) -> None:
    from opentrust.commands import audit, compare, detect, fairness, history, openness, redteam, scan, test

    for module in (audit, scan, openness, test, redteam, fairness, compare, detect, history):
        module.register(app)
    from opentrust.commands import data, diff, factsheet, gate, models, policy

    for module in (gate, policy, models, diff, factsheet, data):
        module.register(app)
    from opentrust.commands import guard, workers

    guard.register(app)
    workers.register(app)
    from opentrust.commands import improve

    improve.register(app)
    from opentrust.commands import ui

    ui.register(app)


@hookimpl
def register_checks(register: Callable[[Any], None]) -> None:
    from opentrust.checks.behaviour import BehaviourCheck
    from opentrust.checks.data import DataCheck
    from opentrust.checks.fairness import FairnessCheck
    from opentrust.checks.model_facts import ModelFactsCheck
    from opentrust.checks.openness import OpennessCheck
    from opentrust.checks.redteam import RedTeamCheck
    from opentrust.checks.scan import ScanCheck
    from opentrust.checks.smoke import SmokeCheck

    for check in (ModelFactsCheck(), ScanCheck(), OpennessCheck(), DataCheck(), SmokeCheck(), BehaviourCheck(),
                  FairnessCheck(), RedTeamCheck()):
        register(check)


@hookimpl
def register_backends(register: Callable[[Any], None]) -> None:
    from opentrust.backends.factories import FakeFactory, LlamaCppFactory, OpenAIHTTPFactory

    for factory in (LlamaCppFactory(), OpenAIHTTPFactory(), FakeFactory()):
        register(factory)


@hookimpl
def register_detectors(register: Callable[..., None]) -> None:
    from opentrust.detectors import DETECTORS

    for name, (factory, description) in DETECTORS.items():
        register(name, factory, description)


@hookimpl
def register_reporters(register: Callable[..., None]) -> None:
    from opentrust.reporters import BUILTIN

    for name, render, kinds in BUILTIN:
        register(name, render, kinds=kinds)
