"""A symbolic pickle machine: it walks every opcode of protocols 0-5 and models the stack, the
metastack (MARK) and the memo, but it never imports, constructs or calls anything.

Every value is either a plain constant (int, str, bytes ...), a container of values, or a symbol:
``Global`` (an import), ``Call`` (what REDUCE/NEWOBJ/INST/OBJ would produce) or ``PersRef``
(a persistent id, e.g. a torch storage). So STACK_GLOBAL names assembled from memo'd strings, calls
hidden behind ``functools.partial`` or ``operator.methodcaller``, and constant arguments (even ones
wrapped in base64/zlib) are all visible to ``pickle_policy``.

Why hand-written instead of ``pickletools.genops``: genops decodes every argument through a generic
``ArgumentDescriptor.reader`` call and yields a tuple per opcode, and a scanner still needs a second
dispatch to model the stack. This single loop over the buffer does both: the frequent opcodes are inline
(most frequent first), the value-then-MEMOIZE/BINPUT pairs of real pickles are fused, the budget is
checked by bytes consumed, and rare opcodes go through a table. Measured with
``benchmarks/scan_peers.py --vm-only`` (``bench_vm_vs_genops``): 1.5-2.2x faster than a bare genops loop
that models nothing, on pickles of 1-3.6 million opcodes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

# -- symbolic values -------------------------------------------------------------------------------


class Global:
    """``module.name`` imported by GLOBAL / STACK_GLOBAL / INST / EXTn."""

    __slots__ = ("module", "name", "offset", "opcode")

    def __init__(self, module: str, name: str, offset: int, opcode: str):
        self.module = module
        self.name = name
        self.offset = offset
        self.opcode = opcode

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"

    def __repr__(self) -> str:
        return self.qualname


class Call:
    """The result of calling ``func`` with ``args`` (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ)."""

    __slots__ = ("func", "args", "kwargs", "offset", "kind", "state", "items")

    def __init__(self, func: Any, args: Any, offset: int, kind: str, kwargs: Any = None):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.offset = offset
        self.kind = kind
        self.state: Any = None  # set by BUILD
        self.items: list[Any] | None = None  # APPEND/SETITEM onto an object (calls its methods)

    def __repr__(self) -> str:
        return f"{fmt(self.func)}({fmt_args(self.args)})"


class PersRef:
    """A persistent id (PERSID/BINPERSID): resolved by the loader, e.g. torch storages."""

    __slots__ = ("pid", "offset")

    def __init__(self, pid: Any, offset: int):
        self.pid = pid
        self.offset = offset

    def __repr__(self) -> str:
        return f"persistent_load({fmt(self.pid)})"


class PDict(list):
    """A dict as a list of (key, value) pairs: keys may be unhashable symbols."""


class PSet(list):
    """A set or frozenset."""


class Buffer:
    """An out-of-band buffer (protocol 5 NEXT_BUFFER): supplied by the caller, not in the file."""

    __repr__ = lambda self: "<out-of-band buffer>"  # noqa: E731


_MARK = object()

# -- results ---------------------------------------------------------------------------------------


@dataclass
class ParseError:
    offset: int
    message: str


@dataclass
class PickleInfo:
    """One pickle found in the stream."""

    start: int
    end: int | None  # offset after STOP; None when the pickle did not end
    protocol: int
    opcodes: int  # bytes parsed (every opcode is >= 1 byte; counting bytes keeps the hot loop lean)


@dataclass
class Analysis:
    pickles: list[PickleInfo] = field(default_factory=list)
    globals: list[Global] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    builds: list[tuple[Any, Any, int]] = field(default_factory=list)  # (object, state, offset)
    error: ParseError | None = None
    trailing: int = 0  # bytes after the last complete pickle that are not a pickle
    end: int = 0  # where analysis stopped
    opcodes: int = 0
    #: raw data regions skipped inside the stream (joblib arrays): (offset, length)
    skipped: list[tuple[int, int]] = field(default_factory=list)
    #: pickles embedded in the stream by joblib for object arrays: (start, end)
    embedded: list[tuple[int, int]] = field(default_factory=list)


class PickleSyntaxError(Exception):
    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


# -- the machine -----------------------------------------------------------------------------------

_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_U2 = struct.Struct("<H").unpack_from
_U8 = struct.Struct("<Q").unpack_from
_F8 = struct.Struct(">d").unpack_from

MAX_MEMO = 10_000_000  # a hostile MEMOIZE loop cannot grow the memo beyond this
BUDGET_BYTES = 1 << 16  # bytes parsed between budget checks

_VALID_PROTO_START = frozenset(b"(.0123FIJKLMNPQRSTUVabcdeghijlmopqrstu}])GBC\x80\x81\x82\x83\x84\x85\x86\x87"
                               b"\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98")


def analyze(buf: Any, start: int = 0, end: int | None = None, *, max_pickles: int | None = None,
            check_budget: Callable[[], None] | None = None) -> Analysis:
    """Analyse every pickle in ``buf[start:end]`` (bytes, bytearray or mmap).

    Pickles that follow each other are all analysed (``max_pickles`` stops earlier, e.g. for legacy torch
    files whose storages follow the pickles). Analysis continues up to a parse error, which is recorded
    in ``Analysis.error``: the opcodes before it would still run in ``pickle.load``.
    """
    import gc

    # The machine allocates many small tuples and lists but no cycles the analysis needs collected;
    # the cyclic GC re-walking millions of them made large pickles ~2x slower.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _analyze(buf, start, end, max_pickles, check_budget)
    finally:
        if gc_was_enabled:
            gc.enable()


def _analyze(buf: Any, start: int, end: int | None, max_pickles: int | None,
             check_budget: Callable[[], None] | None) -> Analysis:
    end = len(buf) if end is None else min(end, len(buf))
    out = Analysis()
    pos = start
    while pos < end:
        if out.pickles and max_pickles is not None and len(out.pickles) >= max_pickles:
            break
        first = buf[pos]
        if out.pickles and first not in _VALID_PROTO_START:
            out.trailing = end - pos
            break
        info = PickleInfo(start=pos, end=None, protocol=0, opcodes=0)
        out.pickles.append(info)
        n_globals = len(out.globals)
        try:
            pos = _run(buf, pos, end, out, info, check_budget)
        except PickleSyntaxError as exc:
            if len(out.pickles) > 1 and exc.offset - info.start <= 8 and len(out.globals) == n_globals:
                # bytes after a complete pickle that merely look like an opcode: trailing data, not a pickle
                out.pickles.pop()
                out.trailing = end - info.start
            else:
                out.error = ParseError(exc.offset, exc.message)
            out.end = exc.offset
            return out
        info.end = pos
    out.end = pos
    return out


def _run(buf: Any, pos: int, end: int, out: Analysis, info: PickleInfo,
         check_budget: Callable[[], None] | None) -> int:
    """Run one pickle from ``pos`` to its STOP; return the offset after STOP."""
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: dict[int, Any] = {}
    globals_ = out.globals
    calls = out.calls
    push = stack.append
    pop = stack.pop
    next_check = pos + BUDGET_BYTES
    start = pos

    try:
        while True:
            if pos >= end:
                raise PickleSyntaxError(pos, "pickle ends without STOP (truncated or followed by nothing)")
            op = buf[pos]
            p = pos + 1
            # The most frequent opcodes of real model pickles come first.
            if op == 0x8C:  # SHORT_BINUNICODE
                if p + 1 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                n = buf[p]
                if p + 1 + n > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                p += 1 + n
                try:
                    v = buf[p - n:p].decode()  # strict utf-8 has the fastest path; rare cases below
                except UnicodeDecodeError:
                    v = _utf8(buf[p - n:p])
                push(v)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = v
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = v
                        p += 2
            elif op == 0x4B:  # BININT1
                if p + 1 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                push(buf[p])
                p += 1
            elif op == 0x68:  # BINGET
                if p + 1 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                try:
                    push(memo[buf[p]])
                except KeyError:
                    raise PickleSyntaxError(pos, f"memo key {buf[p]} not found") from None
                p += 1
            elif op == 0x4A:  # BININT
                if p + 4 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                push(_I4(buf, p)[0])
                p += 4
            elif op == 0x71:  # BINPUT
                if p + 1 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                if not stack:
                    raise PickleSyntaxError(pos, "BINPUT on an empty stack")
                memo[buf[p]] = stack[-1]
                p += 1
            elif op == 0x94:  # MEMOIZE
                if not stack:
                    raise PickleSyntaxError(pos, "MEMOIZE on an empty stack")
                memo[len(memo)] = stack[-1]  # bounded by the input: one entry per MEMOIZE byte
            elif op == 0x4D:  # BININT2
                if p + 2 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                push(_U2(buf, p)[0])
                p += 2
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = []
                push = stack.append
                pop = stack.pop
            elif op == 0x86:  # TUPLE2
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "TUPLE2 needs two items")
                b = pop()
                stack[-1] = (stack[-1], b)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x75:  # SETITEMS
                if not metastack:
                    raise PickleSyntaxError(pos, "MARK expected but the mark stack is empty")
                items = stack
                stack = metastack.pop()
                push = stack.append
                pop = stack.pop
                if not stack:
                    raise PickleSyntaxError(pos, "SETITEMS without a dict")
                if len(items) % 2:
                    raise PickleSyntaxError(pos, "SETITEMS with an odd number of items")
                target = stack[-1]
                pairs = list(zip(items[::2], items[1::2]))
                if type(target) is PDict:
                    target.extend(pairs)
                else:
                    _add_items(target, pairs, pos, out)
            elif op == 0x65:  # APPENDS
                if not metastack:
                    raise PickleSyntaxError(pos, "MARK expected but the mark stack is empty")
                items = stack
                stack = metastack.pop()
                push = stack.append
                pop = stack.pop
                if not stack:
                    raise PickleSyntaxError(pos, "APPENDS without a list")
                target = stack[-1]
                if type(target) is list:
                    target.extend(items)
                else:
                    _add_items(target, items, pos, out)
            elif op == 0x47:  # BINFLOAT
                if p + 8 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                push(_F8(buf, p)[0])
                p += 8
            elif op == 0x85:  # TUPLE1
                if not stack:
                    raise PickleSyntaxError(pos, "TUPLE1 on an empty stack")
                stack[-1] = (stack[-1],)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x87:  # TUPLE3
                if len(stack) < 3:
                    raise PickleSyntaxError(pos, "TUPLE3 needs three items")
                c = pop()
                b = pop()
                stack[-1] = (stack[-1], b, c)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x5D:  # EMPTY_LIST
                push([])
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x7D:  # EMPTY_DICT
                push(PDict())
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x29:  # EMPTY_TUPLE
                push(())
            elif op == 0x74:  # TUPLE
                if not metastack:
                    raise PickleSyntaxError(pos, "MARK expected but the mark stack is empty")
                items = stack
                stack = metastack.pop()
                push = stack.append
                pop = stack.pop
                push(tuple(items))
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = stack[-1]
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = stack[-1]
                        p += 2
            elif op == 0x58:  # BINUNICODE
                if p + 4 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                n = _U4(buf, p)[0]
                if p + 4 + n > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                p += 4 + n
                try:
                    v = buf[p - n:p].decode()  # strict utf-8 has the fastest path; rare cases below
                except UnicodeDecodeError:
                    v = _utf8(buf[p - n:p])
                push(v)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = v
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = v
                        p += 2
            elif op == 0x52:  # REDUCE
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "REDUCE needs a callable and arguments")
                args = pop()
                c = Call(stack[-1], args, pos, "reduce")
                stack[-1] = c
                calls.append(c)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = c
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = c
                        p += 2
            elif op == 0x62:  # BUILD
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "BUILD needs an object and a state")
                state = pop()
                obj = stack[-1]
                if type(obj) is Call:
                    obj.state = state
                out.builds.append((obj, state, pos))
                skip = _joblib_array_skip(obj, state, buf, p, end)
                if skip:
                    kind, n = skip
                    if kind == "raw":
                        out.skipped.append((p, n))
                        p += n
                    else:  # an object array: a whole pickle follows
                        sub = Analysis()
                        sub_info = PickleInfo(start=p, end=None, protocol=0, opcodes=0)
                        sub.pickles.append(sub_info)
                        sub.globals = globals_
                        sub.calls = calls
                        sub.builds = out.builds
                        q = _run(buf, p, end, sub, sub_info, check_budget)
                        out.embedded.append((p, q))
                        p = q
            elif op == 0x4E:  # NONE
                push(None)
            elif op == 0x88:  # NEWTRUE
                push(True)
            elif op == 0x89:  # NEWFALSE
                push(False)
            elif op == 0x61:  # APPEND
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "APPEND needs a list and an item")
                item = pop()
                target = stack[-1]
                if type(target) is list:
                    target.append(item)
                else:
                    _add_items(target, [item], pos, out)
            elif op == 0x73:  # SETITEM
                if len(stack) < 3:
                    raise PickleSyntaxError(pos, "SETITEM needs a dict, a key and a value")
                v = pop()
                k = pop()
                target = stack[-1]
                if type(target) is PDict:
                    target.append((k, v))
                else:
                    _add_items(target, [(k, v)], pos, out)
            elif op == 0x95:  # FRAME: a framing hint; opcodes are read the same with or without it
                if p + 8 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                p += 8
            elif op == 0x93:  # STACK_GLOBAL
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "STACK_GLOBAL needs a module and a name")
                name = pop()
                module = stack[-1]
                if type(module) is not str or type(name) is not str:
                    raise PickleSyntaxError(pos, f"STACK_GLOBAL with non-string operands ({fmt(module)}, {fmt(name)})")
                g = Global(module, name, pos, "STACK_GLOBAL")
                stack[-1] = g
                globals_.append(g)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = g
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = g
                        p += 2
            elif op == 0x63:  # GLOBAL
                nl = buf.find(b"\n", p, end)
                nl2 = buf.find(b"\n", nl + 1, end) if nl >= 0 else -1
                if nl2 < 0:
                    raise PickleSyntaxError(pos, "missing newline in GLOBAL")
                module = _latin(buf[p:nl])
                name = _latin(buf[nl + 1:nl2])
                p = nl2 + 1
                g = Global(module, name, pos, "GLOBAL")
                push(g)
                globals_.append(g)
            elif op == 0x81:  # NEWOBJ
                if len(stack) < 2:
                    raise PickleSyntaxError(pos, "NEWOBJ needs a class and arguments")
                args = pop()
                c = Call(stack[-1], args, pos, "newobj")
                stack[-1] = c
                calls.append(c)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = c
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = c
                        p += 2
            elif op == 0x92:  # NEWOBJ_EX
                if len(stack) < 3:
                    raise PickleSyntaxError(pos, "NEWOBJ_EX needs a class, arguments and keyword arguments")
                kwargs = pop()
                args = pop()
                c = Call(stack[-1], args, pos, "newobj_ex", kwargs)
                stack[-1] = c
                calls.append(c)
                # Superinstruction: the value just pushed is usually memoized at once (MEMOIZE / BINPUT).
                if p < end:
                    nxt = buf[p]
                    if nxt == 0x94:
                        memo[len(memo)] = c
                        p += 1
                    elif nxt == 0x71 and p + 1 < end:
                        memo[buf[p + 1]] = c
                        p += 2
            elif op == 0x80:  # PROTO
                if p + 1 > end:
                    raise PickleSyntaxError(pos, "truncated opcode argument")
                proto = buf[p]
                if proto > 5:
                    raise PickleSyntaxError(pos, f"unsupported pickle protocol {proto}")
                info.protocol = proto
                p += 1
            elif op == 0x2E:  # STOP
                if not stack:
                    raise PickleSyntaxError(pos, "STOP on an empty stack")
                pos = p
                break
            else:
                handler = _TABLE.get(op)
                if handler is None:
                    raise PickleSyntaxError(pos, f"invalid opcode 0x{op:02x}")
                # Rare opcodes: a small state object keeps the hot loop free of their code.
                st = _State(buf, p, end, stack, metastack, memo, out, pos)
                handler(st)
                p = st.p
                stack = st.stack
                push = stack.append
                pop = stack.pop
            pos = p
            if pos >= next_check:  # every op consumes >= 1 byte: at most BUDGET_BYTES ops between checks
                next_check = pos + BUDGET_BYTES
                if check_budget is not None:
                    check_budget()
    finally:
        info.opcodes = pos - start
        out.opcodes += pos - start
    return pos


def _add_items(target: Any, items: list[Any], at: int, out: Analysis | None = None) -> None:
    """APPEND/SETITEM(S)/ADDITEMS onto something that is not a plain container: pickle calls the
    object's own append/extend/__setitem__/add, so record the items on the call for the policy."""
    if type(target) is Call:
        if target.items is None:
            target.items = []
        if len(target.items) < 64:
            target.items.extend(items[:64])
    elif type(target) in (Global, PersRef):
        if type(target) is Global and out is not None:  # e.g. sys.path.append(...): mutates library state
            out.builds.append((target, list(items[:16]), at))
    elif type(target) in (PDict, PSet, list):
        target.extend(items)
    else:
        raise PickleSyntaxError(at, f"cannot add items to {type(target).__name__}")


def _utf8(raw: Any) -> str:
    try:
        return str(raw, "utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return str(raw, "latin-1")


def _latin(raw: Any) -> str:
    return str(raw, "latin-1").rstrip("\r")


class _State:
    __slots__ = ("buf", "p", "end", "stack", "metastack", "memo", "out", "at")

    def __init__(self, buf: Any, p: int, end: int, stack: list[Any], metastack: list[list[Any]],
                 memo: dict[int, Any], out: Analysis, at: int):
        self.buf, self.p, self.end, self.stack, self.metastack = buf, p, end, stack, metastack
        self.memo, self.out, self.at = memo, out, at

    def err(self, msg: str) -> PickleSyntaxError:
        return PickleSyntaxError(self.at, msg)

    def take(self, n: int) -> Any:
        if n < 0 or self.p + n > self.end:
            raise self.err("truncated opcode argument")
        raw = self.buf[self.p:self.p + n]
        self.p += n
        return raw

    def line(self) -> bytes:
        nl = self.buf.find(b"\n", self.p, self.end)
        if nl < 0:
            raise self.err("missing newline in a text opcode")
        raw = self.buf[self.p:nl]
        self.p = nl + 1
        return bytes(raw)

    def pop(self, n: int = 1) -> Any:
        if len(self.stack) < n:
            raise self.err("stack underflow")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise self.err("MARK expected but the mark stack is empty")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def top(self) -> Any:
        if not self.stack:
            raise self.err("empty stack")
        return self.stack[-1]

    def get(self, key: int) -> Any:
        try:
            return self.memo[key]
        except KeyError:
            raise self.err(f"memo key {key} not found") from None

    def put(self, key: int) -> None:
        if len(self.memo) >= MAX_MEMO:
            raise self.err("memo too large")
        self.memo[key] = self.top()

    def call(self, func: Any, args: Any, kind: str) -> Call:
        c = Call(func, args, self.at, kind)
        self.out.calls.append(c)
        return c

    def glob(self, module: str, name: str, opcode: str) -> Global:
        g = Global(module, name, self.at, opcode)
        self.out.globals.append(g)
        return g


def _int_line(s: _State) -> Any:
    raw = s.line().strip()
    if raw == b"00":
        return False
    if raw == b"01":
        return True
    try:
        return int(raw.rstrip(b"L") or b"x", 0 if raw[:2] in (b"0x", b"0X") else 10)
    except ValueError:
        raise s.err(f"bad integer literal {raw[:40]!r}") from None


def _op_int(s: _State) -> None:
    s.stack.append(_int_line(s))


def _op_long(s: _State) -> None:
    s.stack.append(_int_line(s))


def _op_float(s: _State) -> None:
    raw = s.line()
    try:
        s.stack.append(float(raw))
    except ValueError:
        raise s.err(f"bad float literal {raw[:40]!r}") from None


def _op_long1(s: _State) -> None:
    n = s.take(1)[0]
    s.stack.append(int.from_bytes(s.take(n), "little", signed=True))


def _op_long4(s: _State) -> None:
    n = _I4(s.take(4), 0)[0]
    if n < 0:
        raise s.err("LONG4 with a negative length")
    s.stack.append(int.from_bytes(s.take(n), "little", signed=True))


def _unquote(s: _State, raw: bytes) -> bytes:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        raw = raw[1:-1]
    else:
        raise s.err("STRING argument is not quoted")
    import codecs

    try:
        return codecs.escape_decode(raw)[0]
    except Exception:  # noqa: BLE001 - malformed escapes are a parse error, not a crash
        raise s.err("bad escape in STRING") from None


def _op_string(s: _State) -> None:
    # Python 3 decodes protocol 0-2 str as ASCII by default; keep text when possible.
    v = _unquote(s, s.line().rstrip(b"\r"))
    s.stack.append(_as_text(v))


def _as_text(v: bytes) -> Any:
    try:
        return v.decode("ascii")
    except UnicodeDecodeError:
        return v


def _op_binstring(s: _State) -> None:
    n = _I4(s.take(4), 0)[0]
    s.stack.append(_as_text(bytes(s.take(n))))


def _op_short_binstring(s: _State) -> None:
    n = s.take(1)[0]
    s.stack.append(_as_text(bytes(s.take(n))))


def _op_unicode(s: _State) -> None:
    raw = s.line()
    try:
        s.stack.append(raw.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise s.err("bad UNICODE literal") from None


def _op_binunicode8(s: _State) -> None:
    n = _U8(s.take(8), 0)[0]
    s.stack.append(_utf8(s.take(n)))


def _op_binbytes(s: _State) -> None:
    n = _U4(s.take(4), 0)[0]
    s.stack.append(bytes(s.take(n)))


def _op_short_binbytes(s: _State) -> None:
    n = s.take(1)[0]
    s.stack.append(bytes(s.take(n)))


def _op_binbytes8(s: _State) -> None:
    n = _U8(s.take(8), 0)[0]
    s.stack.append(bytes(s.take(n)))


def _op_bytearray8(s: _State) -> None:
    n = _U8(s.take(8), 0)[0]
    s.stack.append(bytearray(s.take(n)))


def _op_next_buffer(s: _State) -> None:
    s.stack.append(Buffer())


def _op_readonly_buffer(s: _State) -> None:
    s.top()


def _op_pop(s: _State) -> None:
    if s.stack:
        s.stack.pop()
    else:  # POP with an empty stack pops the mark in CPython
        s.pop_mark()


def _op_pop_mark(s: _State) -> None:
    s.pop_mark()


def _op_dup(s: _State) -> None:
    s.stack.append(s.top())


def _op_get(s: _State) -> None:
    raw = s.line()
    try:
        key = int(raw)
    except ValueError:
        raise s.err("bad GET index") from None
    s.stack.append(s.get(key))


def _op_long_binget(s: _State) -> None:
    s.stack.append(s.get(_U4(s.take(4), 0)[0]))


def _op_put(s: _State) -> None:
    raw = s.line()
    try:
        key = int(raw)
    except ValueError:
        raise s.err("bad PUT index") from None
    s.put(key)


def _op_long_binput(s: _State) -> None:
    s.put(_U4(s.take(4), 0)[0])


def _op_list(s: _State) -> None:
    items = s.pop_mark()
    s.stack.append(list(items))


def _op_dict(s: _State) -> None:
    items = s.pop_mark()
    if len(items) % 2:
        raise s.err("DICT with an odd number of items")
    s.stack.append(PDict(zip(items[::2], items[1::2])))


def _op_empty_set(s: _State) -> None:
    s.stack.append(PSet())


def _op_additems(s: _State) -> None:
    items = s.pop_mark()
    target = s.top()
    _add_items(target, items, s.at, s.out)


def _op_frozenset(s: _State) -> None:
    items = s.pop_mark()
    s.stack.append(PSet(items))


def _op_persid(s: _State) -> None:
    s.stack.append(PersRef(_latin(s.line()), s.at))


def _op_binpersid(s: _State) -> None:
    pid = s.pop()
    s.stack.append(PersRef(pid, s.at))


def _op_inst(s: _State) -> None:
    module = _latin(s.line())
    name = _latin(s.line())
    args = s.pop_mark()
    g = s.glob(module, name, "INST")
    s.stack.append(s.call(g, tuple(args), "inst"))


def _op_obj(s: _State) -> None:
    items = s.pop_mark()
    if not items:
        raise s.err("OBJ without a class")
    s.stack.append(s.call(items[0], tuple(items[1:]), "obj"))


def _ext(s: _State, code: int) -> None:
    # The extension registry (copyreg.add_extension) is empty unless the loading program fills it.
    s.stack.append(s.glob("copyreg", f"<extension {code}>", "EXT"))


def _op_ext1(s: _State) -> None:
    _ext(s, s.take(1)[0])


def _op_ext2(s: _State) -> None:
    _ext(s, _U2(s.take(2), 0)[0])


def _op_ext4(s: _State) -> None:
    _ext(s, _I4(s.take(4), 0)[0])


_TABLE: dict[int, Callable[[_State], None]] = {
    ord("I"): _op_int, ord("L"): _op_long, ord("F"): _op_float, 0x8A: _op_long1, 0x8B: _op_long4,
    ord("S"): _op_string, ord("T"): _op_binstring, ord("U"): _op_short_binstring, ord("V"): _op_unicode,
    0x8D: _op_binunicode8, ord("B"): _op_binbytes, ord("C"): _op_short_binbytes, 0x8E: _op_binbytes8,
    0x96: _op_bytearray8, 0x97: _op_next_buffer, 0x98: _op_readonly_buffer,
    ord("0"): _op_pop, ord("1"): _op_pop_mark, ord("2"): _op_dup,
    ord("g"): _op_get, ord("j"): _op_long_binget, ord("p"): _op_put, ord("r"): _op_long_binput,
    ord("l"): _op_list, ord("d"): _op_dict, 0x8F: _op_empty_set, 0x90: _op_additems, 0x91: _op_frozenset,
    ord("P"): _op_persid, ord("Q"): _op_binpersid, ord("i"): _op_inst, ord("o"): _op_obj,
    0x82: _op_ext1, 0x83: _op_ext2, 0x84: _op_ext4,
}

# -- joblib: arrays are written raw into the pickle stream right after the wrapper's BUILD -----------

_JOBLIB_WRAPPERS = {"joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"}
_DTYPE_SIZES = {"b": 1, "B": 1, "?": 1, "h": 2, "H": 2, "e": 2, "i": 4, "I": 4, "f": 4, "l": 8, "L": 8,
                "q": 8, "Q": 8, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32, "M": 8, "m": 8}


def _joblib_array_skip(obj: Any, state: Any, buf: Any, p: int, end: int) -> tuple[str, int] | None:
    """joblib's NumpyUnpickler reads the array bytes that follow a NumpyArrayWrapper's BUILD; return
    ("raw", n) for the bytes to skip or ("pickle", 0) when an object array's pickle follows."""
    if type(obj) is not Call or type(obj.func) is not Global or obj.func.qualname not in _JOBLIB_WRAPPERS:
        return None
    if type(state) is not PDict:
        return None
    st = {k: v for k, v in state if type(k) is str}
    shape, dtype = st.get("shape"), st.get("dtype")
    if type(shape) is not tuple or not all(type(d) is int and d >= 0 for d in shape):
        return None
    code = _dtype_code(dtype)
    if code is None:
        return None
    if code.lstrip("<>|=")[:1] == "O":  # "O", "|O", "O8" (numpy 2 writes the item size): an object array
        return ("pickle", 0)
    size = _dtype_size(code)
    if size is None:
        return None
    n = size
    for d in shape:
        n *= d
    pad = 0
    if st.get("numpy_array_alignment_bytes") is not None and p < end:
        pad = 1 + buf[p]
    if p + pad + n > end:
        return None  # not joblib's layout after all; let the parser report what it sees
    return ("raw", pad + n)


def _dtype_code(dtype: Any) -> str | None:
    """The dtype string of ``numpy.dtype('<f8', ...)`` as pickled by numpy (a REDUCE call + BUILD)."""
    if type(dtype) is Call and type(dtype.func) is Global and dtype.func.name == "dtype" and dtype.args:
        first = dtype.args[0] if type(dtype.args) is tuple else None
        if type(first) is str:
            return first
    return None


def _dtype_size(code: str) -> int | None:
    c = code.lstrip("<>|=")
    if not c:
        return None
    kind, digits = c[0], c[1:]
    if kind in ("U", "S", "V", "a") and digits.isdigit():
        return int(digits) * (4 if kind == "U" else 1)
    if kind in ("f", "i", "u", "c", "b", "M", "m") and digits.isdigit():
        return int(digits)
    if not digits and kind in _DTYPE_SIZES:
        return _DTYPE_SIZES[kind]
    return None


# -- formatting for evidence -----------------------------------------------------------------------


def fmt(v: Any, depth: int = 0, limit: int = 160) -> str:
    """A short, bounded rendering of a symbolic value for evidence strings."""
    if depth > 4:
        return "…"
    t = type(v)
    if t in (Global, Call, PersRef, Buffer):
        return _cut(repr(v), limit)
    if t is str or t is bytes or t is bytearray:
        return _cut(repr(v if t is not bytearray else bytes(v)), limit)
    if t is tuple:
        return _cut("(" + ", ".join(fmt(x, depth + 1, 80) for x in v[:8]) + (", …" if len(v) > 8 else "")
                    + ("," if len(v) == 1 else "") + ")", limit)
    if t is list:
        return _cut("[" + ", ".join(fmt(x, depth + 1, 80) for x in v[:8]) + (", …" if len(v) > 8 else "") + "]",
                    limit)
    if t is PDict:
        return _cut("{" + ", ".join(f"{fmt(k, depth + 1, 40)}: {fmt(x, depth + 1, 80)}" for k, x in v[:6])
                    + (", …" if len(v) > 6 else "") + "}", limit)
    if t is PSet:
        return _cut("{" + ", ".join(fmt(x, depth + 1, 80) for x in v[:8]) + "}", limit)
    return _cut(repr(v), limit)


def fmt_args(args: Any) -> str:
    if type(args) is tuple:
        return ", ".join(fmt(a, 1, 200) for a in args[:8])
    return f"*{fmt(args, 1)}"


def _cut(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def bench_vm_vs_genops(data: bytes) -> dict[str, float]:
    """CPU seconds of this machine vs a bare ``pickletools.genops`` loop on the same bytes (benchmark)."""
    import pickletools
    import time

    t0 = time.process_time()
    analyze(data)
    t1 = time.process_time()
    for _ in pickletools.genops(data):
        pass
    t2 = time.process_time()
    return {"symbolic_vm_s": t1 - t0, "genops_only_s": t2 - t1}
