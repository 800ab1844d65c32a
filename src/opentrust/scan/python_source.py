"""Python source files: code that users run, analysed wherever it appears (a model folder, a file given on
its own, an archive member) with the same rules as ``auto_map`` code (``remote_code.analyse_source``).

Recognised by content, as every format: text whose first statement is Python (an import, a definition, a
docstring, an assignment or a call) or a ``python`` shebang. Markdown, YAML and JSON do not start that way.
"""

from __future__ import annotations

import re

from opentrust.scan.base import ScanContext, Source
from opentrust.scan.remote_code import MAX_SOURCE, RULES as _REMOTE_RULES, analyse_source

RULES = list(_REMOTE_RULES)

_SHEBANG = re.compile(rb"^#![^\n]*python")
#: the first statement of a Python module: a docstring, an import, a definition, a decorator, an assignment,
#: a call, or a compound statement
_FIRST_STATEMENT = re.compile(
    rb"^(?:[ruRUbB]{0,2}(?:\"\"\"|''')|from\s+[\w.]+\s+import\s|import\s+[\w.]|(?:async\s+)?def\s+\w+\s*\(|"
    rb"class\s+\w+\s*[(:]|@[\w.]+|[A-Za-z_][\w.]*\s*(?::[^=\n]+)?=[^=]|[A-Za-z_][\w.]*\s*\(|"
    rb"(?:if|try|with|for|while)\b[^\n]*:\s*(?:#.*)?$)", re.M)


def sniff(head: bytes, size: int) -> bool:
    if not head or b"\x00" in head or size > MAX_SOURCE * 4:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
    if _SHEBANG.match(head):
        return True
    for raw in head.splitlines()[:200]:
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue  # comments and blank lines before the first statement
        if raw[:1] in (b" ", b"\t"):
            return False  # a module's first statement is not indented
        return bool(_FIRST_STATEMENT.match(line))
    return False


def scan(source: Source, ctx: ScanContext) -> None:
    raw = source.read(0, MAX_SOURCE + 1)
    ctx.bytes_examined += len(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # binary data that merely starts like code
    name = source.display.rsplit("!", 1)[-1]
    # a syntax error in a file not named .py means it only looked like Python (a .env, a snippet)
    analyse_source(raw, source, ctx, report_syntax=name.endswith((".py", ".pyw")))
