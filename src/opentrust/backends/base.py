"""The backend interface and its request/response types.

Concurrency limits, retries and timeouts live in the implementations, once; callers just ``await
backend.generate(request)``.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class GenerationRequest(BaseModel):
    """What to generate. ``seed`` is the base seed; each sample index derives its own (see derive_seed)."""

    messages: list[Message]
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(128, ge=1, le=32768)
    seed: int = 0
    stop: list[str] = Field(default_factory=list)

    def cache_key(self) -> str:
        """Hash of everything that changes the output distribution (the per-sample seed is keyed apart)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def chat(cls, prompt: str, system: str | None = None, **params: object) -> "GenerationRequest":
        msgs = ([Message(role="system", content=system)] if system else []) + [Message(role="user", content=prompt)]
        return cls(messages=msgs, **params)  # type: ignore[arg-type]


class Completion(BaseModel):
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    finish_reason: str | None = None
    seed: int | None = None
    cached: bool = False
    #: streamed generations only (``Backend.stream``): seconds from the request to the first token with text
    ttft_s: float | None = None

    @property
    def tokens_per_second(self) -> float | None:
        if self.completion_tokens and self.latency_s > 0:
            return self.completion_tokens / self.latency_s
        return None


#: How a backend turns a request's messages into the model's input. ``chat`` (the default): the model's chat
#: template. ``completion``: a plain-text prompt (``completion_prompt``) for base models that were never
#: instruction-tuned, e.g. a GGUF without a chat template, which through a guessed chat format answers with
#: nothing at all. Chosen per target with the ``completion:`` prefix (``completion:gemma3-270m``).
PROMPT_MODES = ("chat", "completion")
#: where a completion-style answer ends: the model starting the next question or answer of the transcript
COMPLETION_STOP = ["\nQuestion:", "\nAnswer:", "\nUser:"]


def completion_prompt(messages: list[Message]) -> str:
    """The plain-text transcript a base model continues: the system text, then ``Question: ...`` /
    ``Answer: ...`` turns, ending with ``Answer:`` for the model to complete."""
    parts: list[str] = []
    for m in messages:
        if m.role == "system":
            parts.append(m.content.strip() + "\n")
        elif m.role == "assistant":
            parts.append(f"Answer: {m.content.strip()}")
        else:
            parts.append(f"Question: {m.content.strip()}")
    return "\n".join(parts) + "\nAnswer:"


def completion_stops(request: "GenerationRequest") -> list[str]:
    return list(dict.fromkeys([*request.stop, *COMPLETION_STOP]))


class StreamedAnswer:
    """The chunks of one streamed answer in the OpenAI shape (``choices[0]`` with ``text`` or ``delta.content``):
    the time to the first chunk with text, the pieces (one token each on llama.cpp) and the finish reason."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.pieces: list[str] = []
        self.finish: str | None = None

    def add(self, choice: dict[str, Any]) -> None:
        piece = choice.get("text") if "text" in choice else (choice.get("delta") or {}).get("content")
        if piece:
            if self.first is None:
                self.first = time.perf_counter() - self.start
            self.pieces.append(piece)
        self.finish = choice.get("finish_reason") or self.finish

    def completion(self, seed: int, prompt_tokens: int | None, strip: bool) -> Completion:
        text = "".join(self.pieces)
        return Completion(text=text.strip() if strip else text, prompt_tokens=prompt_tokens,
                          completion_tokens=len(self.pieces), latency_s=time.perf_counter() - self.start,
                          finish_reason=self.finish, seed=seed, ttft_s=self.first)


def derive_seed(base_seed: int, index: int) -> int:
    """An independent seed per sample index: repeated samples are distinct draws, reproducible."""
    digest = hashlib.sha256(f"{base_seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


class Backend(ABC):
    """Generates completions. Implementations must be safe to call concurrently from one event loop."""

    name: str = "backend"
    #: how many requests are useful in flight at once (the sampler bounds concurrency with it)
    max_concurrency: int = 1

    @abstractmethod
    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        """Generate one completion. ``seed`` overrides ``request.seed`` (the sampler passes the derived seed)."""

    async def stream(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        """Generate one completion streamed token by token, timing the first token (``Completion.ttft_s``) and
        counting streamed tokens. Used for latency measurements (never cached); backends that cannot stream
        raise NotImplementedError."""
        raise NotImplementedError(f"the {self.name} backend cannot stream")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""

    def describe(self) -> dict[str, object]:
        return {"backend": self.name}

    def provenance(self) -> dict[str, object]:
        """What, besides the model's weights and the request, changes an answer: the backend kind, extra request
        parameters, the context size, the runtime and its version. Part of every cached sample's key, so a
        sample is only reused where the same settings would produce it. Override to add your own."""
        return {"backend": self.name}


class BackendFactory(ABC):
    """Builds the backend that runs a target. Register one with the ``register_backends`` hook.

    Factories are asked in turn, third-party plugins before the built-ins, and the first whose ``supports``
    says yes builds the backend. ``scheme`` (e.g. ``"fake"``) also makes ``SCHEME:REST`` a target spec that
    resolves to a target of kind ``plugin`` for this factory. ``target`` is an ``opentrust.target.Target``
    (typed ``Any`` here: backends sit below targets in the import layers).
    """

    name: str = ""
    scheme: str | None = None

    @abstractmethod
    def supports(self, target: Any) -> bool:
        """True when this factory can run ``target``."""

    @abstractmethod
    def create(self, target: Any, **options: object) -> Backend:
        """A new backend for ``target``; ``options`` are backend settings (e.g. ``concurrency``)."""

    def identity(self, target: Any) -> dict[str, object]:
        """For ``plugin`` targets: what identifies the model behind the spec (part of its fingerprint)."""
        return {}
