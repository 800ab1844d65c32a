"""fail_mode: a check that errors (here a judge model that cannot be reached) blocks when closed, passes when open;
either way the error is a rule hit that the log and metrics show."""

from __future__ import annotations

import asyncio

import pytest

from opentrust.backends.local_server import free_port
from opentrust.guard.checks import Context, Guard
from opentrust.guard.policy import GuardPolicy


@pytest.mark.slow  # the judge backend retries with backoff before it gives up
@pytest.mark.parametrize("mode,decision,action", [("closed", "block", "block"), ("open", "allow", "log-only")])
def test_a_failing_check_follows_fail_mode(mode: str, decision: str, action: str) -> None:
    judge = f"openai:http://127.0.0.1:{free_port()}/v1#nobody"
    guard = Guard(GuardPolicy.model_validate({"fail_mode": mode, "upstream": {"retries": 0},
                                              "output": [{"check": "harmful", "action": "block", "judge": judge}]}))
    verdict = asyncio.run(guard.run("output", [("assistant", "Here is a cake recipe.")], Context(prompt="cake?")))
    assert verdict.decision == decision
    assert [(h.rule, h.action) for h in verdict.hits] == [("output.harmful.error", action)]
    assert "check failed" in verdict.hits[0].detail
