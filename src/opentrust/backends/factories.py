"""The built-in backend factories (registered by ``opentrust.builtins`` through ``register_backends``).

Light to import: each factory imports its backend only when it builds one.
"""

from __future__ import annotations

from typing import Any

from opentrust.backends.base import Backend, BackendFactory


class LlamaCppFactory(BackendFactory):
    """GGUF files (and folders holding exactly one), run in-process by llama.cpp."""

    name = "llama.cpp"

    def supports(self, target: Any) -> bool:
        return target.kind in ("gguf", "folder") and target.gguf_path is not None

    def create(self, target: Any, **options: object) -> Backend:
        from opentrust.backends.llamacpp import LlamaCppBackend

        options.pop("concurrency", None)  # one llama.cpp context serves one request at a time
        options.setdefault("prompt_mode", target.prompt_mode)
        if getattr(target, "adapter", None) is not None:
            options.setdefault("lora_path", target.adapter)
        return LlamaCppBackend(target.gguf_path, **options)  # type: ignore[arg-type]


class OpenAIHTTPFactory(BackendFactory):
    """OpenAI-compatible endpoints (``openai:URL#MODEL``)."""

    name = "openai-http"

    def supports(self, target: Any) -> bool:
        return target.kind == "endpoint"

    def create(self, target: Any, **options: object) -> Backend:
        from opentrust.backends.openai_http import OpenAIBackend

        if options.get("concurrency") is None:
            options.pop("concurrency", None)
        options.setdefault("prompt_mode", target.prompt_mode)
        backend = OpenAIBackend(target.base_url or "", target.model or "", api_key=target.api_key(),
                                **options)  # type: ignore[arg-type]
        if target._identity is not None:  # what the server said about its runtime goes into the provenance
            backend.server_runtime = dict(target._identity.get("runtime") or {})
        return backend


class FakeFactory(BackendFactory):
    """``fake:SCRIPT`` targets (see ``opentrust.backends.fake``): deterministic answers, no model."""

    name = "fake"
    scheme = "fake"

    def supports(self, target: Any) -> bool:
        return target.kind == "plugin" and target.scheme == "fake"

    def create(self, target: Any, **options: object) -> Backend:
        from opentrust.backends.fake import FakeBackend

        return FakeBackend.from_spec(target.model or "", **options)  # type: ignore[arg-type]

    def identity(self, target: Any) -> dict[str, object]:
        return {"script": target.model or ""}
