"""YAML files people write (suites today, policy files next), parsed safely with the line of every value.

``read_yaml_lines`` composes the document into nodes (which keep their marks), builds plain Python data and a
map from each value's path (``("cases", 3, "assert")``) to its 1-based line; ``line_for`` maps a validation
error's location back to the nearest line, so errors read ``file:line: what is wrong``. Safe loader only;
work is bounded on hostile input (alias bombs, huge files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentrust.errors import UserError

MAX_BYTES = 20_000_000
MAX_NODES = 2_000_000

Lines = dict[tuple[Any, ...], int]


def read_yaml_lines(path: Path, what: str = "file", empty_hint: str = "add content",
                    not_mapping: str = "expected a mapping", mapping_hint: str = "see the documentation"
                    ) -> tuple[dict[str, Any], Lines]:
    """Parse ``path`` (a mapping at the top) and remember the line of every mapping value and sequence item.
    ``what`` names the file in errors ("suite", "policy"); the hints say what to do."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the {what}: {exc}", "pass a UTF-8 YAML file") from None
    if len(text) > MAX_BYTES:
        raise UserError(f"{path}: {what} file larger than {MAX_BYTES // 1_000_000} MB", "split it with include:")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}:{line}: invalid YAML: {problem}", "fix the YAML syntax") from None
    lines: Lines = {}
    if node is None:
        raise UserError(f"{path}:1: the {what} is empty", empty_hint)
    data = _to_python(node, (), lines, [0], what)
    if not isinstance(data, dict):
        raise UserError(f"{path}:{node.start_mark.line + 1}: {not_mapping}", mapping_hint)
    return data, lines


def _to_python(node: Any, at: tuple[Any, ...], lines: Lines, budget: list[int], what: str) -> Any:
    import yaml

    budget[0] += 1
    if budget[0] > MAX_NODES:  # bounded work on hostile input (e.g. alias bombs)
        raise UserError(f"{what} too large or too deeply aliased", f"simplify the {what}")
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node) if not isinstance(key_node, yaml.ScalarNode) \
                else _scalar(key_node)
            out[key] = _to_python(value_node, at + (key,), lines, budget, what)
            lines[at + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, at + (i,), lines, budget, what) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def line_for(lines: Lines, loc: tuple[Any, ...], aliases: dict[str, str] | None = None) -> int:
    """The line of the deepest known part of ``loc`` (a pydantic error location); ``aliases`` maps field
    names to the keys written in the file (e.g. assertions -> assert)."""
    aliases = aliases or {}
    path: tuple[Any, ...] = ()
    best = lines.get((), 1)
    for part in loc:
        part = aliases.get(part, part) if isinstance(part, str) else part
        if path + (part,) in lines:
            path = path + (part,)
            best = lines[path]
    return best


def validation_error(path: Path, lines: Lines, exc: Any, what: str, hint: str,
                     aliases: dict[str, str] | None = None) -> UserError:
    """A pydantic ValidationError of a file's data as one line: ``file:line: field: message (and N more
    problems)`` (the first error, at the line of the deepest part of its location that the file has)."""
    err = exc.errors()[0]
    line = line_for(lines, err["loc"], aliases)
    where = ".".join(str(p) for p in err["loc"]
                     if not (isinstance(p, str) and p.startswith(("function-", "tagged-union"))))
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return UserError(f"{path}:{line}: {where or what}: {err['msg']}{more}", hint)
