"""What an OpenAI-compatible server says about the model behind a name.

An endpoint's name (URL + model) does not identify weights: a server restarted with other weights under the
same alias answers to the same name. ``probe_endpoint`` asks the server what it can tell, each question a
cheap GET/POST that servers which do not know it answer with 404:

* ``/v1/models``: the model's entry (vLLM's ``root`` and ``max_model_len``, llama.cpp's ``meta`` with
  parameter count, vocabulary and size, Ollama's ``created`` — the model's modification time). A ``created``
  within ``VOLATILE_CREATED_S`` of now is the server stamping its answer (llama.cpp does), not a property of
  the model, and is left out;
* the tokenizer: the token ids of a fixed text, from llama-cpp-python's ``/extras/tokenize`` or llama.cpp's
  ``/tokenize`` — different weights almost always come with a different vocabulary;
* Ollama's ``/api/tags``: the model's content digest;
* llama.cpp's ``/props``: its build (``build_info``, a runtime property: part of the samples' provenance).

The model part goes into the endpoint's fingerprint (``Target.fingerprint``); the runtime part into each
sample's provenance. ``--model-id`` pins the identity instead, for servers that report nothing useful.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from opentrust.errors import UserError

TOKENIZER_PROBE = "opentrust identity probe: Ünïcode 12345 <|im_start|> [INST] <start_of_turn> ☃"
VOLATILE_CREATED_S = 600
TIMEOUT_S = 5.0


@dataclass
class EndpointIdentity:
    #: what identifies the weights (fingerprinted); empty when the server reports nothing but the name
    model: dict[str, Any] = field(default_factory=dict)
    #: the server's runtime (recorded in each sample's provenance)
    runtime: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model, sort_keys=True).encode()).hexdigest() if self.model else ""


def server_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def probe_endpoint(base_url: str, model: str, api_key: str | None = None, attempts: int = 3) -> EndpointIdentity:
    """Ask the server about ``model``. Raises UserError when nothing answers at ``base_url``."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    ident = EndpointIdentity()
    root = server_root(base_url)
    with httpx.Client(timeout=TIMEOUT_S, headers=headers) as client:
        listing = _models(client, base_url.rstrip("/"), attempts)
        entry = next((m for m in listing if isinstance(m, dict) and m.get("id") == model), None)
        if entry is not None:
            kept = {k: v for k, v in entry.items() if k not in ("object", "permissions", "permission")}
            created = kept.get("created")
            if isinstance(created, (int, float)) and abs(time.time() - created) < VOLATILE_CREATED_S:
                kept.pop("created")
            if set(kept) - {"id", "owned_by"}:
                ident.model["listing"] = kept
        tokens = _tokenize(client, root, model)
        if tokens is not None:
            ident.model["tokenizer"] = hashlib.sha256(json.dumps(tokens).encode()).hexdigest()
        digest = _ollama_digest(client, root, model)
        if digest:
            ident.model["digest"] = digest
        props = _json(client, "GET", f"{root}/props")
        if isinstance(props, dict) and props.get("build_info"):
            ident.runtime["build_info"] = props["build_info"]
    return ident


def _models(client: Any, base: str, attempts: int) -> list[Any]:
    import httpx

    last = ""
    for attempt in range(attempts):
        try:
            resp = client.get(f"{base}/models")
        except httpx.TransportError as exc:
            last = type(exc).__name__
            time.sleep(0.5 * (attempt + 1))
            continue
        try:
            body = resp.json() if resp.status_code < 400 else {}
        except ValueError:
            body = {}
        data = body.get("data") if isinstance(body, dict) else None
        if data is None and isinstance(body, dict):
            data = body.get("models")
        return data if isinstance(data, list) else []
    raise UserError(f"cannot reach the endpoint {base} ({last})",
                    "start the server or fix the URL (openai:http://HOST:PORT/v1#MODEL)")


def _json(client: Any, method: str, url: str, body: Any = None) -> Any:
    import httpx

    try:
        resp = client.request(method, url, json=body)
    except httpx.HTTPError:
        return None
    if resp.status_code >= 400:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _tokenize(client: Any, root: str, model: str) -> list[Any] | None:
    for url, body, key in ((f"{root}/extras/tokenize", {"input": TOKENIZER_PROBE, "model": model}, "tokens"),
                           (f"{root}/tokenize", {"content": TOKENIZER_PROBE}, "tokens")):
        out = _json(client, "POST", url, body)
        if isinstance(out, dict) and isinstance(out.get(key), list) and out[key]:
            return out[key]
    return None


def _ollama_digest(client: Any, root: str, model: str) -> str | None:
    out = _json(client, "GET", f"{root}/api/tags")
    if not isinstance(out, dict) or not isinstance(out.get("models"), list):
        return None
    names = {model, f"{model}:latest"}
    for m in out["models"]:
        if isinstance(m, dict) and (m.get("name") in names or m.get("model") in names) and m.get("digest"):
            return str(m["digest"])
    return None
