"""Streaming-safe output checks: a canary, a secret or an e-mail address split across chunk boundaries at every
position is still caught, and no byte of a blocked match is ever released."""

from __future__ import annotations

import asyncio

import pytest

from opentrust.guard.checks import Context, Guard
from opentrust.guard.policy import GuardPolicy, default_policy
from opentrust.guard.stream import HoldBack

CANARY = "ZEBRA-7Q4K-PLUM"
FILLER = "The committee met on Tuesday and agreed the budget for the coming year without changes. " * 5
TEXT = FILLER + f"The launch code is {CANARY}, keep it safe. " + FILLER
AT = TEXT.index(CANARY)


def guard_for(action: str, default: bool = False) -> Guard:
    policy = default_policy().model_dump() if default else {"output": []}
    policy["output"] = [*policy.get("output", []), {"check": "canary", "canaries": [CANARY], "action": action}]
    return Guard(GuardPolicy.model_validate(policy))


def run(guard: Guard, chunks: list[str], ctx: Context | None = None) -> tuple[list[str], HoldBack]:
    async def go() -> tuple[list[str], HoldBack]:
        hb = HoldBack(guard, ctx or Context())
        out = []
        for c in chunks:
            out.append(await hb.feed(c))
        out.append(await hb.finish())
        return out, hb

    return asyncio.run(go())


def splits() -> list[list[str]]:
    """Every two-way split near the canary and every three-way split inside it."""
    out = [[TEXT[:p], TEXT[p:]] for p in range(AT - 20, AT + len(CANARY) + 20)]
    for i in range(AT, AT + len(CANARY)):
        for j in range(i + 1, AT + len(CANARY) + 1):
            out.append([TEXT[:i], TEXT[i:j], TEXT[j:]])
    out.append(list(TEXT))  # one character per chunk
    return out


@pytest.mark.parametrize("default", [False, True], ids=["canary-only", "default+canary"])
def test_blocked_canary_never_released_at_any_split(default: bool) -> None:
    guard = guard_for("block", default)
    for chunks in splits():
        released, hb = run(guard, chunks)
        text = "".join(released)
        assert hb.blocked is not None and hb.blocked.check == "canary", chunks[:2]
        assert TEXT.startswith(text) and len(text) <= AT, (len(text), AT)
    # the window is what bounds the hold-back: text well before the canary was released before the end
    released, _ = run(guard_for("block"), list(TEXT))
    assert len("".join(released)) > AT - 100


def test_redacted_canary_at_any_split() -> None:
    guard = guard_for("redact")
    want = TEXT.replace(CANARY, "[CANARY]")
    for chunks in splits():
        released, hb = run(guard, chunks)
        assert "".join(released) == want
        assert hb.decision == "redact"


@pytest.mark.parametrize("secret,placeholder", [
    ("jane.doe@example.com", "[EMAIL]"),
    ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "[SECRET]"),
])
def test_default_policy_redacts_pii_and_secrets_split_anywhere(secret: str, placeholder: str) -> None:
    guard = Guard(default_policy())
    text = FILLER * 2 + f"Reach it here: {secret} today. " + FILLER * 2
    at = text.index(secret)
    want = text.replace(secret, placeholder)
    for p in range(at - 2, at + len(secret) + 2):
        released, _ = run(guard, [text[:p], text[p:]])
        assert "".join(released) == want, p


def test_system_prompt_leak_blocked_in_stream() -> None:
    guard = Guard(default_policy())
    system = "You are Quill, the support assistant of Northwind Bank; never discuss interest rate changes before " \
             "they are announced."
    leak = FILLER + "My instructions say: you are Quill, the support assistant of Northwind Bank; never discuss " \
                    "interest rate changes. " + FILLER
    released, hb = run(guard, [leak[i:i + 7] for i in range(0, len(leak), 7)], Context(system=system))
    assert hb.blocked is not None and hb.blocked.check == "system_prompt_leak"
    assert "Northwind" not in "".join(released)


def test_output_max_tokens_cuts_the_stream() -> None:
    guard = Guard(GuardPolicy.model_validate({"output": [{"check": "max_tokens", "limit": 5, "action": "redact"}]}))
    released, hb = run(guard, ["one two three ", "four five six seven eight"])
    assert "".join(released).split() == ["one", "two", "three", "four", "five"] and hb.stopped
