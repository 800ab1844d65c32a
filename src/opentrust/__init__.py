"""opentrust: evidence, not reputation, for open AI models.

The public Python API is what this module re-exports; everything else is internal and may change.
Imports are lazy so that ``opentrust --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust._version import __version__

__all__ = [
    "__version__",
    "Finding",
    "Measurement",
    "Severity",
    "Report",
    "Section",
    "Target",
    "resolve_target",
    "UserError",
    "read_result",
    "RunSession",
]

_LAZY = {
    "Finding": "opentrust.findings",
    "Measurement": "opentrust.findings",
    "Severity": "opentrust.findings",
    "Report": "opentrust.report.model",
    "Section": "opentrust.report.model",
    "Target": "opentrust.target",
    "resolve_target": "opentrust.target",
    "UserError": "opentrust.errors",
    "read_result": "opentrust.results",
    "RunSession": "opentrust.session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opentrust' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:  # pragma: no cover
    from opentrust.errors import UserError
    from opentrust.findings import Finding, Measurement, Severity
    from opentrust.report.model import Report, Section
    from opentrust.results import read_result
    from opentrust.session import RunSession
    from opentrust.target import Target, resolve_target
