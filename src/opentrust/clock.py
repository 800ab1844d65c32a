"""The one clock format of stored and reported times: UTC, ISO 8601, whole seconds."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
