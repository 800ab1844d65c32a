"""The contract between the scan dispatcher and the format scanners.

A format scanner is a module with:
  ``RULES: list[Rule]``                          the rules it can report (SARIF needs ids and help text)
  ``def sniff(head: bytes, size: int) -> bool``  True when the content is this format (never by file name)
  ``def scan(data: Source, ctx: ScanContext) -> None``  add findings through ``ctx.report``
Scanners never execute, unpickle, import or render what they read, read only headers and pickle streams
(never tensor data), and call ``ctx.check_budget()`` in loops so hostile input cannot hang them.

Findings are collected as light ``ScanFinding`` records and turned into ``opentrust.findings.Finding``
(pydantic) only when a report needs them: pre-commit hooks and CI steps run ``opentrust scan`` once per file,
and importing pydantic alone costs more than scanning a small file.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from opentrust.findings import Finding


class Severity(str, Enum):
    """The scanner's severities: the values of ``opentrust.findings.Severity`` in a module that does not
    import pydantic. Both are ``str`` enums, so members compare, hash and validate as each other."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        return ("info", "low", "medium", "high", "critical").index(self.value)

    def at_least(self, other: Any) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> "Severity | None":
        """A ``--fail-on`` value (``none``: never fail), as ``opentrust.findings.Severity.parse`` reads it."""
        text = text.strip().lower()
        if text == "none":
            return None
        if text not in cls.__members__:
            from opentrust.errors import UserError

            raise UserError(f"unknown severity {text!r}", "use one of: critical, high, medium, low, info, none")
        return cls(text)


@dataclass
class ScanLocation:
    path: str | None = None
    offset: int | None = None
    key: str | None = None
    line: int | None = None


@dataclass
class ScanFinding:
    """What ``ScanContext.report`` records: the fields of ``opentrust.findings.Finding``, without pydantic."""

    rule_id: str
    severity: Severity
    title: str
    message: str
    location: ScanLocation
    evidence: str = ""
    remedy: str = ""
    check: str = "scan"
    properties: dict[str, Any] = field(default_factory=dict)
    risk_ids: list[str] = field(default_factory=list)

    def to_finding(self) -> "Finding":
        from opentrust.findings import Finding, Location

        loc = self.location
        return Finding(rule_id=self.rule_id, severity=self.severity.value, title=self.title, message=self.message,
                       check=self.check, location=Location(path=loc.path, offset=loc.offset, key=loc.key,
                                                           line=loc.line),
                       evidence=self.evidence, remedy=self.remedy, risk_ids=list(self.risk_ids),
                       properties=self.properties)


@dataclass(frozen=True)
class Rule:
    id: str  # e.g. "PICKLE-DANGEROUS-CALL"
    name: str  # short PascalCase name for SARIF
    severity: Severity  # default severity
    title: str  # one line
    help: str  # what it means and what to do (SARIF help text)


class BudgetExceeded(Exception):
    """Raised by ScanContext.check_budget(); the dispatcher turns it into a SCAN-BUDGET finding."""


class NotRegularFile(OSError):
    """A path that is a FIFO, device, socket or folder: scanners never open or read those."""


def special_kind(mode: int) -> str | None:
    """What a non-regular file is ("FIFO", "character device" ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def open_regular(path: "Path | str") -> Any:
    """Open ``path`` for binary reading only if it is a regular file (symlinks to one are fine).

    A FIFO named ``pytorch_model.bin`` would block ``open()`` forever and a device would be read: the path is
    checked with ``stat`` (which never blocks) before opening, then opened non-blocking and checked again on
    the open descriptor, so a file swapped for a FIFO in between is caught too.
    """
    kind = special_kind(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(f"not a regular file ({kind})")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(f"not a regular file ({kind})")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: "Path | str", limit: int = -1) -> bytes:
    """Up to ``limit`` bytes (all when negative) of a regular file; NotRegularFile for anything else."""
    with open_regular(path) as fh:
        return fh.read() if limit < 0 else fh.read(limit)


@dataclass
class Source:
    """What is being scanned: a file on disk, or bytes found inside another artifact (archive member,
    nested pickle). ``display`` is the path shown to users, e.g. ``model.zip!archive/data.pkl``."""

    display: str
    path: Path | None = None
    data: bytes | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def read(self, offset: int = 0, n: int = -1) -> bytes:
        if self.data is not None:
            return self.data[offset:] if n < 0 else self.data[offset : offset + n]
        assert self.path is not None
        with open_regular(self.path) as fh:
            fh.seek(offset)
            return fh.read() if n < 0 else fh.read(n)

    def open(self) -> Any:
        import io

        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open_regular(self.path)


@dataclass
class ScanContext:
    """Budgets and the finding sink for one top-level file (shared by everything nested inside it)."""

    deadline: float = field(default_factory=lambda: time.monotonic() + 60.0)
    max_depth: int = 4  # nesting of archives / nested pickles
    depth: int = 0
    max_total_bytes: int = 2 * 1024**3  # decompressed bytes examined across nested members
    bytes_examined: int = 0
    findings: list[ScanFinding] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)  # display path -> detected format
    #: the file was found by walking a folder (its siblings are scanned too), not named on its own
    walked: bool = False
    #: set by the dispatcher: scan nested content (archive member, embedded pickle) with full dispatch
    scan_nested: Callable[[Source, "ScanContext"], None] | None = None

    def check_budget(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded("time budget exceeded")
        if self.bytes_examined > self.max_total_bytes:
            raise BudgetExceeded("size budget exceeded")

    def report(self, rule: Rule, source: Source, message: str, *, offset: int | None = None,
               key: str | None = None, evidence: str = "", severity: Severity | None = None,
               remedy: str | None = None, **properties: Any) -> ScanFinding:
        line = properties.get("line") if type(properties.get("line")) is int else None
        f = ScanFinding(rule_id=rule.id, severity=Severity(severity or rule.severity), title=rule.title,
                        message=message, location=ScanLocation(path=source.display, offset=offset, key=key,
                                                               line=line),
                        evidence=evidence[:2000], remedy=remedy if remedy is not None else rule.help,
                        properties=properties)
        self.findings.append(f)
        return f
