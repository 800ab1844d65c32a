"""Hostile pickles built by code (never checked in). Each payload, if it ever ran, would only create
``marker`` (a file in the test's tmp_path): tests assert the marker never appears after scanning.

``LIVE`` lists the payloads that really create the marker under ``pickle.loads`` — a test proves that in a
child process, so the detection tests cannot pass on fixtures that are not real attacks.
"""

from __future__ import annotations

import base64
import io
import pickle
import struct
import zlib
from pathlib import Path


def _s(text: str) -> bytes:
    """SHORT_BINUNICODE / BINUNICODE for ``text``."""
    raw = text.encode()
    return (b"\x8c" + bytes([len(raw)]) + raw) if len(raw) < 256 else (b"X" + struct.pack("<I", len(raw)) + raw)


def _g(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call1(module: str, name: str, arg: str) -> bytes:
    """protocol 2: module.name(arg)"""
    return _g(module, name) + _s(arg) + b"\x85R"


def py_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def shell(marker: Path) -> str:
    return f"touch {marker}"


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def pickle_payloads(marker: Path) -> dict[str, bytes]:
    import os

    code = py_code(marker)
    sh = shell(marker)
    p: dict[str, bytes] = {}
    # os.system pickled by CPython itself: GLOBAL 'posix' 'system' on Linux (a module alias)
    p["reduce_posix_system"] = pickle.dumps(_Reduce(os.system, (sh,)), protocol=2)
    p["proto0_os_system"] = b"cos\nsystem\n(S'" + sh.encode() + b"'\ntR."
    p["nt_system_alias"] = b"\x80\x02" + _call1("nt", "system", sh) + b"."
    p["builtins_exec"] = b"\x80\x02" + _call1("builtins", "exec", code) + b"."
    p["builtin_py2_eval"] = b"c__builtin__\neval\n(V" + code.encode() + b"\ntR."
    # timeit.timeit(code, "pass", timeit.default_timer, 1): the statement runs once
    p["timeit"] = (b"\x80\x04" + _g("timeit", "timeit") + b"(" + _s(code) + _s("pass") + _g("timeit", "default_timer")
                   + b"K\x01tR.")
    p["cprofile_run"] = b"\x80\x04" + _call1("cProfile", "run", code) + b"."
    p["profile_run"] = b"\x80\x04" + _call1("profile", "run", code) + b"."
    p["pdb_run"] = b"\x80\x04" + _call1("pdb", "run", code) + b"."
    # trace.Trace().runctx(code): methodcaller indirection over an object built by the pickle
    p["trace_methodcaller"] = (b"\x80\x04" + _g("operator", "methodcaller") + _s("run") + _s(code) + b"\x86R"
                               + _g("trace", "Trace") + b")R\x85R.")
    # code.InteractiveInterpreter().runsource(code) through operator.methodcaller
    p["code_interp_methodcaller"] = (b"\x80\x04" + _g("operator", "methodcaller") + _s("runsource") + _s(code)
                                     + b"\x86R" + _g("code", "InteractiveInterpreter") + b")R\x85R.")
    # functools.partial(os.system, cmd)()
    p["partial_system"] = (b"\x80\x02" + _g("functools", "partial") + _g("os", "system") + _s(sh) + b"\x86R)R.")
    # getattr(__import__('os'), 'system')(cmd)
    p["getattr_import"] = (b"\x80\x02" + _g("builtins", "getattr") + _call1("builtins", "__import__", "os")
                           + _s("system") + b"\x86R" + _s(sh) + b"\x85R.")
    # STACK_GLOBAL whose module and name come from the memo (no 'os system' string next to the opcode)
    p["memo_stack_global"] = (b"\x80\x04" + _s("o" + "s") + b"\x94" + _s("sys" + "tem") + b"\x94" + b"00"
                              + b"h\x00h\x01\x93" + _s(sh) + b"\x85R.")
    # INST and OBJ opcodes (protocol 0/1 object creation)
    p["inst_opcode"] = b"(S'" + sh.encode() + b"'\nios\nsystem\n."
    p["obj_opcode"] = b"\x80\x02(" + _g("os", "system") + _s(sh) + b"o."
    # NEWOBJ on subprocess.Popen
    p["newobj_popen"] = b"\x80\x02" + _g("subprocess", "Popen") + _s(sh) + b"\x85\x81."
    p["runpy"] = b"\x80\x04" + _call1("runpy", "run_path", str(marker) + ".py") + b"."
    p["posixsubprocess"] = b"\x80\x02" + _g("_posixsubprocess", "fork_exec") + b")R."
    p["webbrowser"] = b"\x80\x02" + _call1("webbrowser", "open", "file://" + str(marker)) + b"."
    p["ctypes"] = b"\x80\x02" + _call1("ctypes", "CDLL", str(marker)) + b"."
    p["pip_main"] = b"\x80\x02" + _g("pip", "main") + _s("install") + _s(str(marker)) + b"\x86\x85R."
    p["asyncio_subprocess"] = b"\x80\x02" + _call1("asyncio.subprocess", "create_subprocess_shell", sh) + b"."
    p["socket"] = b"\x80\x02" + _call1("socket", "create_connection", "127.0.0.1") + b"."
    p["shutil_rmtree"] = b"\x80\x02" + _call1("shutil", "rmtree", str(marker)) + b"."
    p["importlib"] = b"\x80\x02" + _call1("importlib", "import_module", "os") + b"."
    p["attrgetter"] = (b"\x80\x02" + _g("operator", "attrgetter") + _s("system") + b"\x85R"
                       + _call1("builtins", "__import__", "os") + b"\x85R" + _s(sh) + b"\x85R.")
    # nested pickle.loads on a base64 / zlib-wrapped constant
    inner = p["builtins_exec"]
    p["nested_b64_loads"] = (b"\x80\x02" + _g("pickle", "loads") + _g("base64", "b64decode")
                             + _s(base64.b64encode(inner).decode()) + b"\x85R\x85R.")
    p["nested_zlib_loads"] = (b"\x80\x03" + _g("_pickle", "loads") + _g("zlib", "decompress")
                              + b"C" + bytes([len(zlib.compress(inner))]) + zlib.compress(inner) + b"\x85R\x85R.")
    b64 = base64.b64encode(inner)
    p["nested_codecs_loads"] = (b"\x80\x03" + _g("pickle", "loads") + _g("codecs", "decode")
                                + b"C" + bytes([len(b64)]) + b64 + _s("base64") + b"\x86R\x85R.")
    # the payload runs, then garbage makes pickle.load raise: the call has already happened
    p["payload_then_garbage"] = b"\x80\x02" + _call1("os", "system", sh) + b"\xff\xfe garbage"
    p["proto0_then_garbage"] = b"cos\nsystem\n(S'" + sh.encode() + b"'\ntR\xff\xfe garbage"
    # two pickles in one stream: a benign one, then the payload (legacy torch files stack 5 pickles)
    p["second_pickle"] = pickle.dumps({"weights": [1.0, 2.0]}, protocol=2) + p["builtins_exec"]
    # BUILD on an imported global mutates library state
    p["build_on_global"] = b"\x80\x02" + _g("collections", "OrderedDict") + b"}" + _s("x") + b"K\x01sb."
    return p


#: payloads that really create the marker when unpickled (checked in a child process by a test)
LIVE = {
    "reduce_posix_system", "proto0_os_system", "builtins_exec", "builtin_py2_eval", "timeit", "cprofile_run",
    "profile_run", "code_interp_methodcaller", "partial_system", "getattr_import", "memo_stack_global",
    "inst_opcode", "obj_opcode", "attrgetter", "nested_b64_loads", "nested_zlib_loads",
    "nested_codecs_loads", "payload_then_garbage", "proto0_then_garbage", "second_pickle", "trace_methodcaller",
}


def benign_pickles() -> dict[str, bytes]:
    """Ordinary data pickles in every protocol: no finding at medium or above is acceptable on them."""
    import collections
    import datetime
    import decimal

    obj = {"layers": [1, 2, 3], "name": "model", "cfg": collections.OrderedDict(lr=0.1, steps=10),
           "shape": (3, 4), "blob": b"\x00\x01", "tags": {"a", "b"}, "frozen": frozenset({1}),
           "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "dec": decimal.Decimal("1.5"), "big": 10**40,
           "neg": -2**31, "f": 1.5e-9, "none": None, "t": True, "ba": bytearray(b"xy"),
           "dd": collections.defaultdict(list), "cnt": collections.Counter("abca")}
    out = {f"std_proto{n}": pickle.dumps(obj, protocol=n) for n in range(6)}
    buf = io.BytesIO()
    pickle.dump([1, 2], buf)
    pickle.dump({"x": 1}, buf)
    out["two_benign_pickles"] = buf.getvalue()
    return out
