"""Pickle streams: run the symbolic machine, judge every import and call, and scan nested pickles.

Used directly for raw pickle files and by the torch, numpy and joblib scanners for the pickles inside them.
"""

from __future__ import annotations

import re
from typing import Any

from opentrust.scan.base import Rule, ScanContext, Severity, Source, open_regular
from opentrust.scan.pickle_policy import (
    CALL_WRAPPERS, DECODERS, NESTED_LOADERS, RESOLVERS, SAFE_NAMES, classify, looks_like_function, normalize,
)
from opentrust.scan.pickle_vm import Analysis, Call, Global, PDict, analyze, fmt

R_CALL = Rule("PICKLE-DANGEROUS-CALL", "PickleDangerousCall", Severity.critical,
              "Pickle calls a dangerous function when loaded",
              "Loading this pickle (torch.load, pickle.load, joblib.load ...) runs the call shown in the evidence. "
              "Do not load it. Use a safe format (safetensors) or load with torch.load(weights_only=True) only "
              "after removing the offending object.")
R_IMPORT = Rule("PICKLE-DANGEROUS-IMPORT", "PickleDangerousImport", Severity.high,
                "Pickle imports a dangerous function",
                "The pickle resolves a function that runs code, processes, files or network access. Even when it "
                "is not called directly it can be handed to another object. Do not load the file.")
R_UNKNOWN = Rule("PICKLE-UNKNOWN-IMPORT", "PickleUnknownImport", Severity.medium,
                 "Pickle imports a name that is not on an allow-list",
                 "Unknown is not malicious: the import is not known to be dangerous, but nothing vouches for it. "
                 "Check the named class/function is what the publisher's code expects before loading.")
R_NESTED = Rule("PICKLE-NESTED-PICKLE", "PickleNestedPickle", Severity.high,
                "Pickle loads another pickle while loading",
                "A pickle that calls pickle.loads (or dill/cloudpickle/joblib/torch loaders) on embedded bytes "
                "hides its real content from simple scanners. The inner pickle was decoded and scanned; see its "
                "own findings. Do not load the file.")
R_GLOBAL_STATE = Rule("PICKLE-GLOBAL-MUTATION", "PickleGlobalMutation", Severity.high,
                      "Pickle modifies a module-level object",
                      "BUILD applied to an imported global changes library state (attributes or __dict__) for the "
                      "whole process. Legitimate model files never do this. Do not load the file.")
R_MALFORMED = Rule("PICKLE-MALFORMED", "PickleMalformed", Severity.medium,
                   "Pickle stream is malformed",
                   "The stream breaks off or contains invalid opcodes. pickle.load runs every opcode before the "
                   "error, so any call reported before this offset still executes. Re-download or re-export it.")
R_TRAILING = Rule("PICKLE-TRAILING-DATA", "PickleTrailingData", Severity.low,
                  "Bytes after the last pickle",
                  "Data follows the pickle that a normal load ignores; it may hide a second payload for a loader "
                  "that reads further. Check why the file has trailing bytes.")
R_UNKNOWN_CALL = Rule("PICKLE-UNKNOWN-CALL", "PickleUnknownCall", Severity.high,
                      "Pickle calls a function that nothing vouches for",
                      "Loading this pickle calls the function or method shown. Data files rebuild classes; calling "
                      "a plain function at load time is rare in them and is how pickle exploits run code. No "
                      "allow-list covers it and no analysis of its source vouches for it (its library is not "
                      "installed here, it is compiled code, or the analysed version does not define it). Do "
                      "not load the file unless you know what the function does with the arguments shown.")
R_OPAQUE_LOADS = Rule("PICKLE-OPAQUE-LOADS", "PickleOpaqueLoads", Severity.critical,
                      "Pickle loads a pickle built at load time",
                      "A nested loader receives data the scanner cannot compute statically. Loading runs whatever "
                      "that data contains. Do not load the file.")

RULES = [R_CALL, R_IMPORT, R_UNKNOWN, R_UNKNOWN_CALL, R_NESTED, R_GLOBAL_STATE, R_MALFORMED, R_TRAILING,
         R_OPAQUE_LOADS]

_FIRST_OPCODES = frozenset(b"(}]).cNIJKLMSTUVX\x80")


def sniff(head: bytes, size: int) -> bool:
    """A raw pickle: PROTO 2-5 first, or a protocol 0/1 pickle that starts with a common opcode and parses."""
    if len(head) >= 2 and head[0] == 0x80 and head[1] <= 5:
        return True
    if not head or head[0] not in _FIRST_OPCODES:
        return False
    # protocol 0/1: text files start with letters too, so require a complete pickle in the head (or a head
    # full of valid opcodes) whose imports are real dotted names
    a = analyze(head[: min(len(head), 4096)])
    if a.error is not None and not a.calls and not (len(head) >= 4096 and a.end > 1024 and (
            a.error.message.startswith("pickle ends") or "truncated" in a.error.message)):
        return False  # (a call before the error counts: pickle.load runs it before failing)
    return a.end >= 2 and all(_DOTTED.match(g.module) and _DOTTED.match(g.name) for g in a.globals)


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def scan(source: Source, ctx: ScanContext) -> None:
    buf = _buffer(source)
    try:
        scan_stream(buf, source, ctx)
    finally:
        _close(buf)


def scan_stream(buf: Any, source: Source, ctx: ScanContext, start: int = 0, end: int | None = None,
                *, max_pickles: int | None = None, base_offset: int = 0, trailing_ok: bool = False) -> Analysis:
    """Analyse the pickles in ``buf[start:end]`` and report findings against ``source``.

    ``base_offset`` is added to offsets (the pickle's place in the file when ``buf`` is a slice).
    """
    a = analyze(buf, start, end, max_pickles=max_pickles, check_budget=ctx.check_budget)
    ctx.bytes_examined += (a.end - start)
    report_analysis(a, source, ctx, base_offset=base_offset, trailing_ok=trailing_ok)
    return a


def report_analysis(a: Analysis, source: Source, ctx: ScanContext, base_offset: int = 0,
                    trailing_ok: bool = False) -> None:
    reported_calls: set[int] = set()  # ids of globals already reported through a call
    seen_unknown: dict[str, int] = {}
    derived = _Derived(ctx)
    for call in a.calls:
        _judge_call(call, source, ctx, base_offset, reported_calls, derived)
    for obj, _state, offset in a.builds:
        if type(obj) is Global:
            ctx.report(R_GLOBAL_STATE, source, f"BUILD/APPEND/SETITEM changes the imported global {obj.qualname}.",
                       offset=base_offset + offset, evidence=f"{obj.qualname} <- {fmt(_state)}")
        elif type(obj) is Call:
            # BUILD calls __setstate__ (found through __getattr__ when the class has none); without one it
            # fills __dict__ directly and calls __setattr__ only for a (state, slotstate) pair's slot part
            slots = type(_state) is tuple and len(_state) == 2 and _state[1] not in (None, {}) and \
                not (type(_state[1]) is PDict and not _state[1])
            entries = ("__setstate__", "__getattr__", "__setattr__") if slots else ("__setstate__", "__getattr__")
            _judge_entry(obj, entries, "BUILD", offset, source, ctx, base_offset, derived)
    for call in a.calls:
        if call.items:
            _judge_entry(call, ("__setitem__", "append", "extend", "add"), "SETITEMS/APPENDS", call.offset, source,
                         ctx, base_offset, derived)
    for g in a.globals:
        if id(g) in reported_calls:
            continue
        verdict, reason = derived.classify(g)
        if verdict == "dangerous":
            ctx.report(R_IMPORT, source, f"The pickle imports {_qual(g)} ({reason}).",
                       offset=base_offset + g.offset, evidence=f"{g.opcode} {g.module} {g.name}", symbol=_qual(g))
        elif verdict == "unknown":
            q = _qual(g)
            if q in seen_unknown:
                seen_unknown[q] += 1
                continue
            seen_unknown[q] = 1
            ctx.report(R_UNKNOWN, source, f"The pickle imports {q}, which no allow-list covers ({reason}).",
                       offset=base_offset + g.offset, evidence=f"{g.opcode} {g.module} {g.name}", symbol=q)
    if a.error is not None:
        ctx.report(R_MALFORMED, source,
                   f"Pickle parse error at byte {base_offset + a.error.offset}: {a.error.message}. "
                   f"The {a.opcodes} bytes of opcodes before it would run on load.",
                   offset=base_offset + a.error.offset, evidence=a.error.message)
    elif a.trailing and not trailing_ok:
        ctx.report(R_TRAILING, source, f"{a.trailing} bytes follow the last pickle.",
                   offset=base_offset + a.end, evidence=f"{a.trailing} trailing bytes")


def _qual(g: Global) -> str:
    m, n = normalize(g.module, g.name)
    return g.qualname if (m, n) == (g.module, g.name) else f"{g.qualname} (= {m}.{n})"


class _Derived:
    """Lookups in the derived sink table (``sink_table``) for one analysis, memoised. The table is read
    only when a pickle names something no allow-list covers."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.memo: dict[tuple[str, str], Any] = {}

    def lookup(self, g: Global, entry: str | None = None) -> Any:
        from opentrust.scan.sink_table import lookup

        name = f"{g.name}.{entry}" if entry else g.name
        key = (g.module, name)
        if key not in self.memo:
            self.memo[key] = lookup(g.module.strip(), name.strip(), check_budget=self.ctx.check_budget)
        return self.memo[key]

    def classify(self, g: Global) -> tuple[str, str]:
        """``pickle_policy.classify``, with an unknown name that the derived table finds dangerous made so."""
        verdict, reason = classify(g.module, g.name)
        if verdict == "unknown":
            found = self.lookup(g)
            if found.status == "dangerous":
                return "dangerous", _derived_reason(found)
        return verdict, reason


def _derived_reason(found: Any) -> str:
    how = " → ".join(found.chain)
    what = f"{found.category}: " if found.category else ""
    return f"{what}{how}; derived from library source, {found.source}" if found.source else f"{what}{how}"


def _allow_listed(g: Global) -> bool:
    return ".".join(normalize(g.module, g.name)) in SAFE_NAMES


def _judge_call(call: Call, source: Source, ctx: ScanContext, base: int, reported: set[int],
                derived: _Derived) -> None:
    targets = list(_called_globals(call.func, 0))
    func = call.func
    if type(func) is Global:
        qual = ".".join(normalize(func.module, func.name))
        if qual in CALL_WRAPPERS and type(call.args) is tuple and call.args:
            targets.extend(_called_globals(call.args[0], 0))  # partial(os.system, ...) calls os.system later
        if qual in NESTED_LOADERS:
            _nested(call, qual, source, ctx, base)
            reported.add(id(func))
            return
        if qual in RESOLVERS:
            _judge_resolver(call, source, ctx, base, reported, derived)
    dangerous = [(g, classify(g.module, g.name)) for g in targets]
    dangerous = [(g, r) for g, (v, r) in dangerous if v == "dangerous"]
    how = {"reduce": "REDUCE", "newobj": "NEWOBJ", "newobj_ex": "NEWOBJ_EX", "inst": "INST", "obj": "OBJ"}[call.kind]
    if not dangerous and type(func) is Global and not _allow_listed(func):
        # what the opcode really runs: the callable (REDUCE/INST/OBJ) or the class's __new__ (NEWOBJ)
        verdict = classify(func.module, func.name)[0]
        found = derived.lookup(func, "__new__" if call.kind.startswith("newobj") else None)
        if found.status == "dangerous":
            dangerous = [(func, _derived_reason(found))]
        elif verdict == "unknown" and call.kind in ("reduce", "inst", "obj") and \
                found.status in ("absent", "unanalysed") and looks_like_function(func.name):
            reported.add(id(func))
            why = ("its library's source is not available to analyse" if found.status == "unanalysed" else
                   f"the analysed version ({found.source}) does not define it")
            ctx.report(R_UNKNOWN_CALL, source, f"Loading calls {_qual(func)} via {how}: a function no allow-list "
                       f"covers ({why}).", offset=base + call.offset, evidence=fmt(call, limit=600),
                       symbol=_qual(func))
            return
    if not dangerous:
        return
    for g, _ in dangerous:
        reported.add(id(g))
    names = ", ".join(dict.fromkeys(_qual(g) for g, _ in dangerous))
    ctx.report(R_CALL, source, f"Loading runs {names} via {how} ({dangerous[0][1]}).",
               offset=base + call.offset, evidence=fmt(call, limit=600), symbol=names)


def _class_of(obj: Call) -> Global | None:
    """The class of the object a call builds: copyreg's reconstructors name it as their first argument."""
    f = obj.func
    if type(f) is not Global:
        return None
    if ".".join(normalize(f.module, f.name)) in ("copyreg._reconstructor", "copyreg.__newobj__",
                                                  "copyreg.__newobj_ex__"):
        first = obj.args[0] if type(obj.args) is tuple and obj.args else None
        return first if type(first) is Global else None
    return f


def _judge_entry(obj: Call, entries: tuple[str, ...], opcode: str, offset: int, source: Source,
                 ctx: ScanContext, base: int, derived: _Derived) -> None:
    """BUILD runs the object's class's __setstate__ (or __setattr__), SETITEMS/APPENDS its __setitem__/append:
    report them when the derived table says they reach a sink."""
    cls = _class_of(obj)
    if cls is None or _allow_listed(cls) or classify(cls.module, cls.name)[0] == "dangerous":
        return  # dangerous classes are reported where they are called or imported
    for entry in entries:
        found = derived.lookup(cls, entry)
        if found.status == "dangerous":
            ctx.report(R_CALL, source, f"Loading runs {_qual(cls)}.{entry} via {opcode} ({_derived_reason(found)}).",
                       offset=base + offset, evidence=fmt(obj, limit=600), symbol=f"{_qual(cls)}.{entry}")
            return


def _judge_resolver(call: Call, source: Source, ctx: ScanContext, base: int, reported: set[int],
                    derived: _Derived) -> None:
    """``_ufunc_reconstruct(module, name)`` returns module.name: judge that name like an import."""
    g = _resolved_global(call)
    if g is None:
        ctx.report(R_IMPORT, source, f"{_qual(call.func)} resolves a name computed at load time.",
                   offset=base + call.offset, evidence=fmt(call, limit=600), symbol=_qual(call.func))
        return
    verdict, reason = derived.classify(g)
    if verdict == "dangerous":
        ctx.report(R_IMPORT, source, f"{_qual(call.func)} resolves {g.qualname} at load time ({reason}).",
                   offset=base + call.offset, evidence=fmt(call, limit=600), symbol=g.qualname)


def _resolved_global(call: Call) -> Global | None:
    args = call.args
    if type(args) is tuple and len(args) == 2 and all(type(x) is str for x in args):
        return Global(args[0], args[1], call.offset, "RESOLVER")
    return None


def _called_globals(v: Any, depth: int) -> Any:
    """The globals a call of ``v`` ends up invoking: v itself, or what a computed callable is built from
    (getattr(__import__('os'), 'system'), methodcaller('system'), _ufunc_reconstruct('os', 'system')...)."""
    if depth > 8:
        return
    if type(v) is Global:
        yield v
    elif type(v) is Call:
        if type(v.func) is Global and ".".join(normalize(v.func.module, v.func.name)) in RESOLVERS:
            g = _resolved_global(v)
            if g is not None:
                yield g
                return
        yield from _called_globals(v.func, depth + 1)
        if type(v.args) is tuple:
            for a in v.args[:8]:
                if type(a) in (Global, Call):
                    yield from _called_globals(a, depth + 1)


def _nested(call: Call, qual: str, source: Source, ctx: ScanContext, base: int) -> None:
    arg = call.args[0] if type(call.args) is tuple and call.args else None
    try:
        data = evaluate(arg)
    except NotConstant as exc:
        ctx.report(R_OPAQUE_LOADS, source, f"{qual} receives data computed at load time: {exc}.",
                   offset=base + call.offset, evidence=fmt(call, limit=600), symbol=qual)
        return
    if isinstance(data, str):
        data = data.encode("latin-1", "replace")
    if not isinstance(data, (bytes, bytearray)):
        ctx.report(R_OPAQUE_LOADS, source, f"{qual} receives a {type(data).__name__}, not bytes.",
                   offset=base + call.offset, evidence=fmt(call, limit=600), symbol=qual)
        return
    inner = Source(display=f"{source.display}!{qual}@{base + call.offset}", data=bytes(data))
    ctx.report(R_NESTED, source, f"{qual} loads a {len(data)}-byte pickle embedded in this one; it was "
               f"scanned as {inner.display}.", offset=base + call.offset, evidence=fmt(call, limit=400),
               symbol=qual)
    if ctx.scan_nested is not None:
        ctx.scan_nested(inner, ctx)
    else:
        scan_stream(bytes(data), inner, ctx)


# -- symbolic evaluation of pure decoders on constants --------------------------------------------

MAX_DECODED = 64 * 1024 * 1024


class NotConstant(Exception):
    pass


def evaluate(v: Any, depth: int = 0) -> Any:
    """Compute ``v`` when it is a constant or a pure decoder applied to constants. Our own decoders run
    (bounded), never the named functions: only names in ``DECODERS`` are understood."""
    if depth > 16:
        raise NotConstant("decoder chain too deep")
    t = type(v)
    if t in (bytes, bytearray, str, int, float, bool) or v is None:
        return v
    if t is tuple:
        return tuple(evaluate(x, depth + 1) for x in v)
    if t is list:
        return [evaluate(x, depth + 1) for x in v]
    if t is not Call or type(v.func) is not Global:
        raise NotConstant(f"{fmt(v, limit=80)} is not a constant")
    qual = ".".join(normalize(v.func.module, v.func.name))
    if qual not in DECODERS:
        raise NotConstant(f"{qual} is computed at load time")
    args = evaluate(v.args, depth + 1) if type(v.args) is tuple else ()
    if type(v.kwargs) is PDict:
        raise NotConstant("keyword arguments")
    return _decode(qual, args)


def _decode(qual: str, args: tuple[Any, ...]) -> Any:
    import base64
    import binascii
    import codecs

    if not args:
        raise NotConstant(f"{qual} without arguments")
    x = args[0]
    name = qual.split(".", 1)[1]
    if qual == "io.BytesIO":
        return x
    if qual in ("builtins.bytes", "builtins.bytearray"):
        if isinstance(x, str):
            return x.encode(args[1] if len(args) > 1 else "utf-8", errors="replace")
        if isinstance(x, list) and all(isinstance(i, int) and 0 <= i < 256 for i in x):
            return bytes(x)
        if isinstance(x, (bytes, bytearray)):
            return bytes(x)
        raise NotConstant(f"{qual} of {type(x).__name__}")
    if qual.startswith("base64.") or qual.startswith("binascii."):
        try:
            fn = {"b64decode": base64.b64decode, "standard_b64decode": base64.standard_b64decode,
                  "urlsafe_b64decode": base64.urlsafe_b64decode, "b32decode": base64.b32decode,
                  "b16decode": base64.b16decode, "b85decode": base64.b85decode, "a85decode": base64.a85decode,
                  "decodebytes": base64.decodebytes, "a2b_base64": binascii.a2b_base64,
                  "a2b_hex": binascii.a2b_hex, "unhexlify": binascii.unhexlify}[name]
            return fn(x.encode("latin-1") if isinstance(x, str) and name == "decodebytes" else x)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise NotConstant(f"{qual} fails: {exc}") from None
    if qual in ("zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress"):
        return bounded_decompress(qual.split(".")[0], _as_bytes(x))
    if qual in ("codecs.decode", "codecs.encode"):
        enc = (args[1] if len(args) > 1 else "utf-8")
        if not isinstance(enc, str):
            raise NotConstant("non-constant encoding")
        enc_norm = codecs.lookup(enc).name if _known_codec(enc) else enc
        if enc_norm in ("base64", "hex", "uu", "quopri"):
            try:
                return codecs.decode(_as_bytes(x), enc_norm) if qual == "codecs.decode" else codecs.encode(
                    _as_bytes(x), enc_norm)
            except Exception as exc:  # noqa: BLE001 - decoding attacker data
                raise NotConstant(f"{enc} fails: {exc}") from None
        if enc_norm in ("zlib", "bz2"):
            return bounded_decompress(enc_norm, _as_bytes(x)) if qual == "codecs.decode" else _as_bytes(x)
        if enc_norm == "rot13" and isinstance(x, str):
            return codecs.decode(x, "rot13")
        if _known_codec(enc) and codecs.lookup(enc)._is_text_encoding:  # type: ignore[attr-defined]
            try:
                return x.encode(enc) if isinstance(x, str) else bytes(x).decode(enc)
            except (UnicodeError, TypeError) as exc:
                raise NotConstant(f"{enc} fails: {exc}") from None
        raise NotConstant(f"codec {enc!r}")
    raise NotConstant(qual)


def _known_codec(enc: str) -> bool:
    import codecs

    try:
        codecs.lookup(enc)
        return True
    except LookupError:
        return False


def _as_bytes(x: Any) -> bytes:
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("latin-1", "replace")
    raise NotConstant(f"expected bytes, got {type(x).__name__}")


def bounded_decompress(codec: str, data: bytes, limit: int = MAX_DECODED) -> bytes:
    """Decompress at most ``limit`` bytes (a decompression bomb stops there)."""
    import bz2
    import lzma
    import zlib

    try:
        if codec in ("zlib", "gzip"):
            d = zlib.decompressobj(47 if codec == "gzip" else 15)  # 47 = auto-detect zlib/gzip header
            return d.decompress(data, limit)
        if codec == "bz2":
            return bz2.BZ2Decompressor().decompress(data, limit)
        if codec == "lzma":
            return lzma.LZMADecompressor().decompress(data, limit)
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
        raise NotConstant(f"{codec} data is corrupt: {exc}") from None
    raise NotConstant(codec)


# -- buffers ----------------------------------------------------------------------------------------


def _buffer(source: Source) -> Any:
    """The bytes to analyse: the in-memory data, or the file memory-mapped (pages load as they are read,
    so a legacy torch file's storages are never read)."""
    if source.data is not None:
        return source.data
    import mmap

    assert source.path is not None
    with open_regular(source.path) as fh:
        if source.size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


def _close(buf: Any) -> None:
    if hasattr(buf, "close") and not isinstance(buf, (bytes, bytearray)):
        buf.close()
