"""Log-probabilities of a few candidate next tokens: how a model's answer to a multiple-choice question is read
without letting it write one (`opentrust fairness` scores BBQ-style options this way).

``ChoiceRequest`` holds plain-text prompts (sent as they are, with no chat template, so base models that were
never instruction-tuned can be scored too) and the candidate tokens (``["A", "B", "C"]``). A candidate counts
with or without a leading space: its log-probability is the log of the summed probabilities of those tokens.

Where the log-probabilities come from:

* **llama.cpp in process** — every prompt is evaluated and the full next-token distribution read from the
  context (``llama_get_logits_ith``): exact, for every candidate. The prompts of one request usually share a
  long prefix (the same question with the options in another order); it is evaluated once.
  (llama-cpp-python's own ``logprobs`` needs a context built with ``logits_all``, which costs n_ctx × n_vocab
  floats — 2 GB for Gemma 3's vocabulary — and its ``echo`` log-probabilities are shifted by one token in
  0.3.x, so they are not used.)
* **OpenAI-compatible servers** — ``POST /completions`` with ``max_tokens: 1`` and ``logprobs: K``: the top K
  next tokens (llama.cpp's server, vLLM and OpenAI's legacy completions offer it). A candidate outside the top
  K is None (unknown, never guessed). A server that rejects the request or returns no log-probabilities has
  none to give: ``choice_logprobs`` returns None and callers fall back to parsing generated text.
* **any other backend** (plugins, stubs) offers them by defining ``async choice_logprobs(request)`` returning
  ``ChoiceScores`` (or None), as the two built-in backends do with the functions here; backends without it
  have none.

Callers go through ``opentrust.sampler.Sampler.choice_logprobs``, which caches the result like any sample.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from typing import Any

from pydantic import BaseModel, Field

from opentrust.backends.base import Backend
from opentrust.errors import BackendError


class ChoiceRequest(BaseModel):
    """Plain-text prompts and the candidate next tokens whose log-probabilities are wanted after each."""

    prompts: list[str] = Field(min_length=1)
    choices: list[str] = Field(min_length=1)
    #: how many top tokens to ask an HTTP server for (candidates outside them stay unknown)
    top_k: int = Field(20, ge=1, le=100)

    def cache_key(self) -> str:
        canonical = json.dumps({"op": "choice-logprobs", **self.model_dump(mode="json")}, sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class ChoiceScores(BaseModel):
    """Per prompt, the log-probability of each candidate (None: not among the tokens the backend reported)."""

    logprobs: list[list[float | None]]
    prompt_tokens: int | None = None
    latency_s: float = 0.0
    cached: bool = False


async def choice_logprobs(backend: Backend, request: ChoiceRequest) -> ChoiceScores | None:
    """The candidates' log-probabilities after each prompt, or None when ``backend`` offers none (a backend
    offers them by defining ``async choice_logprobs(request)``, as the llama.cpp and HTTP backends do)."""
    own = getattr(backend, "choice_logprobs", None)
    if not callable(own):
        return None
    result: ChoiceScores | None = await own(request)
    return result


def _logsumexp(values: list[float]) -> float | None:
    if not values:
        return None
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _variants(choice: str) -> list[str]:
    return list(dict.fromkeys([choice, " " + choice.lstrip()]))


# -- llama.cpp in process -------------------------------------------------------------------------------------
def llamacpp_choice_logprobs(backend: Any, request: ChoiceRequest) -> ChoiceScores:
    """For ``LlamaCppBackend.choice_logprobs`` (runs in a worker thread)."""
    import numpy as np
    import llama_cpp

    llm, lock = backend._model()
    with lock:
        start = time.perf_counter()
        prompts = [llm.tokenize(p.encode("utf-8"), add_bos=True, special=False) for p in request.prompts]
        too_long = max(len(t) for t in prompts)
        if too_long >= backend.n_ctx:
            raise BackendError(f"a scoring prompt of {too_long} tokens does not fit the context ({backend.n_ctx})",
                               "shorten the question")
        ids: list[list[int]] = []
        for choice in request.choices:
            found = []
            for text in _variants(choice):
                tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
                if len(tokens) == 1 and tokens[0] not in found:
                    found.append(tokens[0])
            ids.append(found)
        common = len(prompts[0])
        for tokens in prompts[1:]:
            common = next((i for i, (a, b) in enumerate(zip(prompts[0], tokens)) if a != b), min(common, len(tokens)))
        common = min(common, min(len(t) for t in prompts) - 1)  # every prompt evaluates at least its last token
        # Same calls in the same order for the same request: the same logits every time (see generate()).
        llm.reset()
        if common > 0:
            llm.eval(prompts[0][:common])
        out: list[list[float | None]] = []
        for tokens in prompts:
            llm.n_tokens = common  # drop the previous prompt's suffix from the KV cache (eval removes it)
            llm.eval(tokens[common:])
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
            logits = logits.astype(np.float64)
            shift = logits.max()
            log_norm = shift + math.log(float(np.exp(logits - shift).sum()))
            out.append([_logsumexp([float(logits[i]) - log_norm for i in choice_ids]) for choice_ids in ids])
        latency = time.perf_counter() - start
        llm.reset()
    return ChoiceScores(logprobs=out, prompt_tokens=sum(len(t) for t in prompts), latency_s=latency)


# -- OpenAI-compatible servers --------------------------------------------------------------------------------
async def openai_choice_logprobs(backend: Any, request: ChoiceRequest) -> ChoiceScores | None:
    """For ``OpenAIBackend.choice_logprobs``."""
    if getattr(backend, "_no_logprobs", False):
        return None
    start = time.perf_counter()
    out: list[list[float | None]] = []
    for prompt in request.prompts:
        top = await _openai_top(backend, prompt, request.top_k)
        if top is None:
            backend._no_logprobs = True  # remembered: every later request would be refused the same way
            return None
        out.append([_logsumexp([lp for tok, lp in top.items() if tok.strip() == choice.strip()])
                    for choice in request.choices])
    return ChoiceScores(logprobs=out, latency_s=time.perf_counter() - start)


async def _openai_top(backend: Any, prompt: str, top_k: int) -> dict[str, float] | None:
    """The server's top next tokens with their log-probabilities, or None when it gives none."""
    import httpx

    client, sem = backend._ensure()
    url = f"{backend.base_url}/completions"
    last = ""
    async with sem:
        for k in dict.fromkeys([top_k, min(top_k, 5)]):  # OpenAI's legacy completions allow at most 5
            payload = {"model": backend.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0,
                       "logprobs": k, "seed": 0}
            for attempt in range(backend.retries + 1):
                try:
                    resp = await client.post(url, json=payload)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if resp.status_code < 400:
                        return _top_logprobs(resp)
                    if resp.status_code not in (408, 409, 425, 429, 500, 502, 503, 504):
                        break  # refused: try a smaller k, then give up (no log-probabilities here)
                    last = f"HTTP {resp.status_code}"
                if attempt < backend.retries:
                    await asyncio.sleep(backend._delay(attempt, None))
            else:
                raise BackendError(f"cannot get log-probabilities from {backend.base_url} ({last})",
                                   "check that the server is running and reachable")
    return None


def _top_logprobs(resp: Any) -> dict[str, float] | None:
    try:
        logprobs = resp.json()["choices"][0].get("logprobs") or {}
        top = (logprobs.get("top_logprobs") or [None])[0]
        if isinstance(top, dict) and top:  # legacy completions format
            return {str(k): float(v) for k, v in top.items()}
        content = logprobs.get("content") or []  # chat-style format some servers use on /completions too
        if content and content[0].get("top_logprobs"):
            return {str(t["token"]): float(t["logprob"]) for t in content[0]["top_logprobs"]}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    return None
