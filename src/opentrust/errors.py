"""Errors a user can act on. Every one becomes a single line on stderr and exit code 2 in the CLI."""

from __future__ import annotations

# Exit codes shared by every command (documented in the README).
EXIT_OK = 0
EXIT_FINDINGS = 1  # findings at or above --fail-on
EXIT_USAGE = 2  # bad usage or bad input: the message says what to do
EXIT_INTERNAL = 3  # a bug in opentrust: please report it


class UserError(Exception):
    """Bad input or environment. ``message`` says what is wrong, ``hint`` what to do about it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[object, ...]:
        # keeps the hint when the error crosses a process boundary (a Ray worker raising it)
        return (type(self), (self.message, self.hint))

    def one_line(self) -> str:
        text = self.message.rstrip(".")
        return f"{text}. {self.hint[:1].upper()}{self.hint[1:]}" if self.hint else text


class BackendError(UserError):
    """A model backend could not produce a completion (unreachable endpoint, 4xx, model load failure)."""
