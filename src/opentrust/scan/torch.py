"""PyTorch checkpoints: the zip format (any folder prefix; every pickle member; TorchScript code), the
legacy stacked-pickle format, and damaged zips read from their local headers as torch would.

Tensor data (``*/data/N`` members, legacy storages) is never read.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from opentrust.scan import archive, pickles, zipread
from opentrust.scan.base import Rule, ScanContext, Severity, Source
from opentrust.scan.pickle_policy import classify

R_DAMAGED = Rule("TORCH-DAMAGED-ZIP", "TorchDamagedZip", Severity.medium, "Damaged PyTorch zip",
                 "The zip's central directory is unusable; the members were found from their local headers, as "
                 "a tolerant loader would. A damaged container can be crafted to show scanners and loaders "
                 "different content: re-download or re-export the checkpoint.")
R_SCRIPT_CALL = Rule("TORCH-SCRIPT-DANGEROUS", "TorchScriptDangerousCall", Severity.critical,
                     "TorchScript code calls a dangerous function",
                     "The TorchScript code in this archive references a function that runs code, processes, "
                     "files or network access. Do not load it with torch.jit.load.")
R_CUSTOM_OP = Rule("TORCH-SCRIPT-CUSTOM-OP", "TorchScriptCustomOp", Severity.medium,
                   "TorchScript uses a custom operator namespace",
                   "Custom operators come from native libraries the loading process must provide; check where "
                   "the library comes from before loading.")
R_MEMBER = Rule("TORCH-MEMBER-UNREADABLE", "TorchMemberUnreadable", Severity.medium,  # high for pickles/code
                "A PyTorch archive member could not be read",
                "The member is damaged or uses an unsupported compression; it was not inspected.")
RULES = [R_DAMAGED, R_SCRIPT_CALL, R_CUSTOM_OP, R_MEMBER]

_LEGACY_MAGIC = b"\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."  # LONG1 0x1950a86a20f9469cfc6c STOP
_STD_OP_NAMESPACES = {"aten", "prim", "quantized", "_quantized", "profiler", "_caffe2", "torchvision",
                      "torchaudio", "_test", "cuda", "mkldnn", "sparse", "quantized_decomposed", "_c10d_functional",
                      "c10d_functional", "_dtensor", "fbgemm", "onednn", "xnnpack", "_prims", "prims"}
MAX_PICKLE_MEMBER = 1 << 30
MAX_CODE_MEMBER = 16 << 20


def is_legacy(head: bytes) -> bool:
    """Legacy torch.save files begin with a pickled magic number (any protocol >= 2)."""
    return len(head) >= 2 + len(_LEGACY_MAGIC) and head[0] == 0x80 and head[2:2 + len(_LEGACY_MAGIC)] == _LEGACY_MAGIC


def sniff(head: bytes, size: int) -> bool:
    return is_legacy(head)


def claims_zip(names: list[str]) -> bool:
    """torch.save zips hold ``<prefix>/data.pkl`` (+ ``version``, ``data/N``); TorchScript adds ``code/``."""
    for n in names:
        base = n.rsplit("/", 1)[-1]
        if base == "data.pkl" or n.endswith(("/constants.pkl", "/.data/version")) or n == ".data/version":
            return True
    return False


def scan(source: Source, ctx: ScanContext) -> None:
    head = source.read(0, 64)
    if is_legacy(head):
        _scan_legacy(source, ctx)
    else:
        _scan_zip(source, ctx)


def _scan_legacy(source: Source, ctx: ScanContext) -> None:
    # magic, protocol version, sys info, the object, the storage keys: then raw storages (never read)
    buf = pickles._buffer(source)
    try:
        pickles.scan_stream(buf, source, ctx, max_pickles=5, trailing_ok=True)
    finally:
        pickles._close(buf)


def _is_data_member(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit()


def _scan_zip(source: Source, ctx: ScanContext) -> None:
    lst = zipread.listing(source)
    if lst.damage:
        ctx.report(R_DAMAGED, source, f"{lst.damage}; {len(lst.members)} members recovered from local headers.",
                   evidence=lst.damage)
    for m in lst.members:
        ctx.check_budget()
        name = m.name
        if name.endswith("/") or _is_data_member(name):
            continue  # tensor storage: raw bytes torch never unpickles
        display = f"{source.display}!{name}"
        if m.flags & zipread.REFUSED_FLAGS:  # bits that lie about plain content, or a really sealed member
            try:
                raw, _ = zipread.read_member(source, m, MAX_PICKLE_MEMBER)
            except ValueError:
                raw = b""
            archive.report_flagged_member(m, raw, source, ctx, display)
        is_pickle_name = name.endswith((".pkl", ".debug_pkl"))
        is_code = "/code/" in f"/{name}" and name.endswith(".py")
        if not (is_pickle_name or is_code):
            # any other member: inspect by content (a pickle under a misleading name is still a pickle)
            try:
                head, _ = zipread.read_member(source, m, 64)
            except ValueError as exc:
                ctx.report(R_MEMBER, source, str(exc), key=name, evidence=str(exc))
                continue
            if not (head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5):
                if len(head) >= 4 and ctx.scan_nested is not None and m.size <= 64 << 20 and \
                        head[:4] in (b"PK\x03\x04", b"\x93NUM", b"GGUF"):
                    data, _ = zipread.read_member(source, m, 64 << 20)
                    ctx.scan_nested(Source(display=display, data=data), ctx)
                continue
            is_pickle_name = True
        try:
            data, cut = zipread.read_member(source, m, MAX_PICKLE_MEMBER if is_pickle_name else MAX_CODE_MEMBER)
        except ValueError as exc:
            # the checkpoint's pickle or code cannot be inspected: what a loader would run is unknown
            ctx.report(R_MEMBER, source, str(exc), key=name, evidence=str(exc), severity=Severity.high)
            continue
        ctx.bytes_examined += len(data)
        member_src = Source(display=display, data=data)
        if is_pickle_name:
            pickles.scan_stream(data, member_src, ctx)
            ctx.formats[display] = "pickle"
        else:
            scan_torchscript_code(data.decode("utf-8", "replace"), member_src, ctx)
            ctx.formats[display] = "torchscript-code"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def scan_torchscript_code(text: str, source: Source, ctx: ScanContext) -> None:
    """Flag dangerous names and custom op namespaces in serialized TorchScript (Python syntax; parsed with
    ``ast``, never executed)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    names: list[tuple[str, int]] = []
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                if dotted:
                    names.append((dotted, getattr(node, "lineno", 0)))
            elif isinstance(node, ast.Name):
                names.append((node.id, getattr(node, "lineno", 0)))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                mod = getattr(node, "module", None) or ""
                for alias in node.names:
                    names.append((f"{mod}.{alias.name}" if mod else alias.name, node.lineno))
    else:  # unparsable code: fall back to a token scan so a syntax error cannot hide a name
        for i, line in enumerate(text.splitlines(), 1):
            names.extend((m.group(0), i) for m in _NAME.finditer(line))
    seen: set[str] = set()
    for dotted, line in names:
        if dotted in seen:
            continue
        seen.add(dotted)
        parts = dotted.split(".")
        if parts[0] in ("ops", "torch") and "ops" in parts[:2]:
            i = parts.index("ops")
            if len(parts) > i + 1 and parts[i + 1] not in _STD_OP_NAMESPACES and not parts[i + 1].startswith("_"):
                ctx.report(R_CUSTOM_OP, source, f"Custom operator namespace ops.{parts[i + 1]} (line {line}).",
                           evidence=dotted)
            continue
        if parts[0] in ("torch", "__torch__", "self", "Tensor", "CONSTANTS", "ops"):
            continue
        if len(parts) == 1:
            verdict = classify("builtins", parts[0])[0] if parts[0] in _BUILTIN_DANGER else "safe"
            qual = f"builtins.{parts[0]}"
        else:
            verdict = classify(".".join(parts[:-1]), parts[-1])[0]
            qual = dotted
            if verdict != "dangerous" and len(parts) > 2:
                verdict = classify(parts[0], parts[1])[0]
        if verdict == "dangerous":
            ctx.report(R_SCRIPT_CALL, source, f"TorchScript code references {qual} (line {line}).",
                       evidence=_line(text, line))


# getattr/setattr are excluded: TorchScript compiles them to static module-attribute access (Sequential uses them)
_BUILTIN_DANGER = {"eval", "exec", "compile", "__import__", "open", "globals", "breakpoint"}


def _dotted(node: Any) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _line(text: str, n: int) -> str:
    lines = text.splitlines()
    return lines[n - 1].strip()[:300] if 0 < n <= len(lines) else ""
