"""The fake backend: deterministic answers without a model, for fast tests of engine logic.

Like ``llm``'s ``MockModel`` and Inspect's ``mockllm``: the sampler, cache, session, runner, sequential tests
and reports can be exercised in milliseconds with answers a test controls. End-to-end tests still run the real
model; this backend is for the logic around it.

From Python::

    FakeBackend(lambda request, seed: "Paris")              # any function of (request, seed)
    FakeBackend.coin(0.7)                                   # "yes" with probability 0.7, "no" otherwise

From the command line (the ``fake:`` target scheme, registered like any backend plugin)::

    opentrust test suite.yaml -m fake:echo          # repeats the last user message
    opentrust test suite.yaml -m fake:text=Paris    # always answers "Paris"
    opentrust test suite.yaml -m fake:coin=0.7      # "yes" with probability 0.7 per sample (seeded)
    opentrust test suite.yaml -m fake:refuse        # "I'm sorry, but I can't help with that."

Answers depend only on the request and the sample's seed, never on call order, so concurrent runs are
reproducible. ``calls`` records every (request, seed) generated, for tests that count generations.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Callable

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.errors import UserError

Reply = Callable[[GenerationRequest, int], str]
REFUSAL = "I'm sorry, but I can't help with that."


def _last_user(request: GenerationRequest) -> str:
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


def _unit(seed: int, request: GenerationRequest) -> float:
    """A uniform number in [0, 1) from the seed and the request: the fake's only randomness."""
    digest = hashlib.sha256(f"{seed}:{request.cache_key()}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2 ** 64


class FakeBackend(Backend):
    name = "fake"

    def __init__(self, reply: Reply | str | None = None, *, script: str = "custom", latency_s: float = 0.0,
                 sleep: bool = False, concurrency: int = 4):
        if isinstance(reply, str):
            text = reply
            reply = lambda _request, _seed: text  # noqa: E731
        self.reply: Reply = reply or (lambda request, _seed: _last_user(request))
        self.script = script if reply is not None or script != "custom" else "echo"
        self.latency_s = latency_s
        self.sleep = sleep
        self.max_concurrency = concurrency
        self.calls: list[tuple[GenerationRequest, int]] = []

    @classmethod
    def coin(cls, p: float, yes: str = "yes", no: str = "no") -> "FakeBackend":
        return cls(lambda request, seed: yes if _unit(seed, request) < p else no, script=f"coin={p}")

    @classmethod
    def from_spec(cls, script: str, **options: object) -> "FakeBackend":
        """The backend of a ``fake:SCRIPT`` target."""
        name, _, arg = script.partition("=")
        opts = {k: v for k, v in options.items() if k == "concurrency" and v}
        if name in ("", "echo") and not arg:
            return cls(script="echo", **opts)  # type: ignore[arg-type]
        if name == "refuse" and not arg:
            return cls(REFUSAL, script="refuse", **opts)  # type: ignore[arg-type]
        if name == "text":
            return cls(arg, script=script, **opts)  # type: ignore[arg-type]
        if name == "coin":
            try:
                p = float(arg)
            except ValueError:
                p = -1.0
            if not 0.0 <= p <= 1.0:
                raise UserError(f"fake:coin needs a probability, got {arg!r}", "e.g. fake:coin=0.7")
            backend = cls.coin(p)
            backend.max_concurrency = int(opts.get("concurrency", 4))  # type: ignore[call-overload]
            return backend
        raise UserError(f"unknown fake script {script!r}", "use fake:echo, fake:refuse, fake:text=ANSWER or fake:coin=P")

    def provenance(self) -> dict[str, object]:
        return {"backend": self.name, "script": self.script}

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "script": self.script}

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        seed = request.seed if seed is None else seed
        self.calls.append((request, seed))
        if self.sleep and self.latency_s:
            await asyncio.sleep(self.latency_s)
        text = self.reply(request, seed)
        words = len(text.split())
        return Completion(text=text, prompt_tokens=sum(len(m.content.split()) for m in request.messages),
                          completion_tokens=min(words, request.max_tokens), latency_s=self.latency_s,
                          finish_reason="stop", seed=seed)
