"""``{{ var }}`` templates in suites: rendered with jinja2's SandboxedEnvironment and StrictUndefined (a suite
may come from someone else). Shared by the suite loader and the assertions it builds."""

from __future__ import annotations

from typing import Any


class TemplateProblem(ValueError):
    pass


def render(text: str, variables: dict[str, Any]) -> str:
    """Render ``{{ var }}`` templates in a sandbox; plain text (no braces) is returned unchanged."""
    if "{{" not in text and "{%" not in text:
        return text
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        return env.from_string(text).render(**variables)
    except TemplateError as exc:
        raise TemplateProblem(f"template {text[:60]!r}: {exc}") from None
