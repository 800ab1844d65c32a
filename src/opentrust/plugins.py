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
        for name, target in third_party_entry_points():
            module, _, attr = target.partition(":")
            plugin = importlib.import_module(module.strip())
            for part in filter(None, attr.strip().split(".")):
                plugin = getattr(plugin, part)
            if pm.get_plugin(name) is None:
                pm.register(plugin, name=name)
    return pm


def third_party_entry_points(group: str = "opentrust") -> list[tuple[str, str]]:
    """Entry points of ``group`` read straight from ``*.dist-info/entry_points.txt``.

    pluggy's load_setuptools_entrypoints goes through importlib.metadata, whose import alone (email
    parsing) costs ~0.2 s on every CLI start; the files are tiny INI files, so read them directly.
    """
    import configparser
    import sys

    found: list[tuple[str, str]] = []
    for base in sys.path:
        try:
            entries = os.listdir(base or ".")
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".dist-info", ".egg-info")):
                continue
            path = os.path.join(base or ".", entry, "entry_points.txt")
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if f"[{group}]" not in text:
                continue
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            found.extend(parser.items(group))
    return found


def collect(hook: str) -> list[Any]:
    """Call a ``register_*`` hook and return everything registered, in registration order."""
    items: list[Any] = []
    getattr(plugin_manager().hook, hook)(register=items.append)
    return items


def reporters(kind: str = "audit") -> dict[str, Any]:
    """Format name -> ``render(result, **options) -> str`` for results of ``kind`` (register_reporters hook).
    Plugins are called before the built-ins, so the first registration of a format wins: a plugin's own."""
    table: dict[str, Any] = {}

    def register(name: str, render: Any, kinds: tuple[str, ...] | list[str] = ("audit",)) -> None:
        if kind in kinds:
            table.setdefault(name, render)

    plugin_manager().hook.register_reporters(register=register)
    return table
