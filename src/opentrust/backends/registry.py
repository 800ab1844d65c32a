"""Which backend runs a target: the factories registered through the ``register_backends`` hook.

Third-party factories are asked before the built-ins (pluggy calls the most recently registered plugin
first), so a plugin can take over a kind of target; the first factory whose ``supports`` says yes builds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.backends.base import BackendFactory


def factories() -> list["BackendFactory"]:
    from opentrust.plugins import collect

    return collect("register_backends")


def schemes() -> dict[str, "BackendFactory"]:
    """Target-spec schemes claimed by factories (``fake`` → the fake backend's factory)."""
    out: dict[str, "BackendFactory"] = {}
    for f in factories():
        if f.scheme and f.scheme not in out:
            out[f.scheme] = f
    return out


def factory_for(target: Any) -> "BackendFactory":
    if target.kind == "plugin":
        found = schemes().get(target.scheme or "")
        if found is not None:
            return found
        raise UserError(f"no backend plugin handles {target.spec!r}", "install the plugin that provides it")
    for f in factories():
        if f.supports(target):
            return f
    if target.kind in ("gguf", "folder") and target.gguf_path is None:
        raise UserError(f"{target.spec} has no single GGUF file to run",
                        "point opentrust at a .gguf file or an openai:<url>#<model> endpoint")
    raise UserError(f"no backend can run {target.spec}", "point opentrust at a .gguf file or an "
                    "openai:<url>#<model> endpoint, or install a backend plugin for it")
