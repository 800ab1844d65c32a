"""OpenAI-compatible HTTP backend (Ollama, vLLM, llama.cpp server, TGI...).

Bounded concurrency (a semaphore), retries with exponential backoff and full jitter on connection errors,
timeouts, 429 and 5xx (honouring Retry-After), and a clear one-line error on other 4xx.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any, AsyncIterator

import httpx

from opentrust.backends.base import (
    Backend,
    Completion,
    GenerationRequest,
    StreamedAnswer,
    completion_prompt,
    completion_stops,
)
from opentrust.errors import BackendError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_TRANSIENT = (httpx.TransportError,)  # connect/read/write errors, timeouts, dropped connections


def backoff_delay(attempt: int, retry_after: str | None, base_s: float = 0.5, max_s: float = 20.0) -> float:
    """Seconds to wait before retry ``attempt + 1``: the server's Retry-After (capped), else "full jitter"
    (AWS architecture blog): uniform in [0, base * 2^attempt], capped. Shared with the guard gateway."""
    if retry_after:
        try:
            return min(float(retry_after), max_s)
        except ValueError:
            pass
    return random.uniform(0, min(max_s, base_s * (2 ** attempt)))


class OpenAIBackend(Backend):
    name = "openai-http"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, concurrency: int = 4,
                 retries: int = 5, timeout_s: float = 120.0, backoff_base_s: float = 0.5,
                 backoff_max_s: float = 20.0, extra_body: dict[str, Any] | None = None, prompt_mode: str = "chat"):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_concurrency = concurrency
        self.retries = retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._headers = headers
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None
        self.attempts = 0  # total HTTP attempts, for tests and reports
        # Server-specific sampling fields (e.g. llama.cpp server's repeat_penalty, which defaults to 1.1
        # there but is absent from the OpenAI API and from our in-process backend).
        self.extra_body = dict(extra_body or {})
        #: what the server reported about its runtime (opentrust.backends.identity), set by the target
        self.server_runtime: dict[str, Any] = {}
        #: "chat": /chat/completions; "completion": a plain-text prompt to /completions (opentrust.backends.base)
        self.prompt_mode = prompt_mode

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "base_url": self.base_url, "model": self.model,
                "concurrency": self.max_concurrency, "retries": self.retries, "prompt_mode": self.prompt_mode}

    def provenance(self) -> dict[str, object]:
        out: dict[str, object] = {"backend": self.name}
        if self.prompt_mode != "chat":  # chat samples keep the key they always had
            out["prompt_mode"] = self.prompt_mode
        if self.extra_body:
            out["extra_body"] = self.extra_body
        if self.server_runtime:
            out["server"] = self.server_runtime
        return out

    def _ensure(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        # Created lazily inside the running loop: asyncio primitives bind to the loop that first uses them.
        if self._client is None or self._sem is None:
            limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
            self._client = httpx.AsyncClient(timeout=self._timeout, headers=self._headers, limits=limits)
            self._sem = asyncio.Semaphore(self.max_concurrency)
        return self._client, self._sem

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._sem = None

    @property
    def _path(self) -> str:
        return "/completions" if self.prompt_mode == "completion" else "/chat/completions"

    def _payload(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "temperature": request.temperature, "top_p": request.top_p,
            "max_tokens": request.max_tokens, "seed": seed,
        }
        if self.prompt_mode == "completion":
            payload["prompt"] = completion_prompt(request.messages)
            payload["stop"] = completion_stops(request)
        else:
            payload["messages"] = [m.model_dump() for m in request.messages]
            if request.stop:
                payload["stop"] = request.stop
        payload.update(self.extra_body)
        return payload

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        return backoff_delay(attempt, retry_after, self.backoff_base_s, self.backoff_max_s)

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        client, sem = self._ensure()
        seed = request.seed if seed is None else seed
        url = f"{self.base_url}{self._path}"
        payload = self._payload(request, seed)
        last_error = ""
        async with sem:
            for attempt in range(self.retries + 1):
                self.attempts += 1
                start = time.perf_counter()
                retry_after = None
                try:
                    resp = await client.post(url, json=payload)
                except _TRANSIENT as exc:
                    last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                else:
                    latency = time.perf_counter() - start
                    if resp.status_code < 400:
                        done = _parse(resp, latency, seed)
                        if self.prompt_mode == "completion":
                            done.text = done.text.strip()
                        return done
                    if resp.status_code not in RETRY_STATUS:
                        raise BackendError(
                            f"{url} answered HTTP {resp.status_code}: {_error_text(resp)}",
                            "check the model name, the API key (--api-key-env) and the request parameters")
                    last_error = f"HTTP {resp.status_code}: {_error_text(resp)}"
                    retry_after = resp.headers.get("retry-after")
                if attempt < self.retries:
                    await asyncio.sleep(self._delay(attempt, retry_after))
        raise BackendError(f"cannot get a completion from {self.base_url} after {self.retries + 1} attempts "
                           f"({last_error})", "check that the server is running and reachable")


    async def choice_logprobs(self, request: Any) -> Any:
        """The server's top-K next-token log-probabilities for candidate tokens, or None when it gives none
        (``opentrust.backends.logprobs``)."""
        from opentrust.backends.logprobs import openai_choice_logprobs

        return await openai_choice_logprobs(self, request)

    async def stream(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        """Server-sent events (``"stream": true``); one attempt, no retries: a retried request would time
        the retry. Tokens are counted as streamed chunks with text (one token each on llama.cpp's server)."""
        client, sem = self._ensure()
        seed = request.seed if seed is None else seed
        url = f"{self.base_url}{self._path}"
        payload = {**self._payload(request, seed), "stream": True}
        async with sem:
            answer = StreamedAnswer()
            try:
                async with client.stream("POST", url, json=payload) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                        raise BackendError(f"{url} answered HTTP {resp.status_code}: {_error_text(resp)}",
                                           "check that the server supports streaming (\"stream\": true)")
                    async for chunk in sse_json(resp):
                        try:
                            choice = chunk["choices"][0]
                        except (KeyError, IndexError, TypeError):
                            continue
                        answer.add(choice)
            except httpx.TransportError as exc:
                raise BackendError(f"cannot stream from {self.base_url}: {type(exc).__name__}: {exc}",
                                   "check that the server is running and reachable") from exc
        return answer.completion(seed, None, strip=self.prompt_mode == "completion")


async def sse_json(resp: httpx.Response) -> AsyncIterator[Any]:
    """The JSON objects of an OpenAI server-sent-event stream, up to ``data: [DONE]`` (unparseable events are
    skipped). Shared with the guard gateway's stream relay."""
    async for line in resp.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except ValueError:
            continue


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        err = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(err, dict):
            err = err.get("message", err)
        text = str(err)
    except ValueError:
        text = resp.text
    return " ".join(text.split())[:200] or resp.reason_phrase


def _parse(resp: httpx.Response, latency: float, seed: int) -> Completion:
    try:
        body = resp.json()
        choice = body["choices"][0]
        message = choice.get("message") or {}
        usage = body.get("usage") or {}
        return Completion(text=message.get("content") or choice.get("text") or "",
                          prompt_tokens=usage.get("prompt_tokens"),
                          completion_tokens=usage.get("completion_tokens"),
                          latency_s=latency, finish_reason=choice.get("finish_reason"), seed=seed)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BackendError(f"{resp.request.url} returned a response that is not an OpenAI chat completion",
                           "point opentrust at an OpenAI-compatible /v1 base URL") from exc
