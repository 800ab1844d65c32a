"""The plugin manager: built-ins first, then third-party entry points (group ``opentrust``)."""

from __future__ import annotations

import functools
import os
from typing import Any

import pluggy

from opentrust import hookspecs

BUILTIN_PLUGINS = ("opentrust.builtins",)


@functools.lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("opentrust")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if not os.environ.get("OPENTRUST_NO_PLUGINS"):
        pm.load_setuptools_entrypoints("opentrust")
    return pm


def collect(hook: str) -> list[Any]:
    """Call a ``register_*`` hook and return everything registered, in registration order."""
    items: list[Any] = []
    getattr(plugin_manager().hook, hook)(register=items.append)
    return items


def reporters() -> dict[str, Any]:
    table: dict[str, Any] = {}
    plugin_manager().hook.register_reporters(register=lambda name, fn: table.__setitem__(name, fn))
    return table
