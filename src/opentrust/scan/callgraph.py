"""Which library callables reach a code-execution or system sink: a static call graph of Python source.

A pickle may name any importable callable, and loading it calls that callable (REDUCE/INST/OBJ), its class's
``__new__`` (NEWOBJ), ``__setstate__`` (BUILD) or ``__setitem__``/``append``/``extend`` (SETITEMS/APPENDS).
A hand-written deny-list of dangerous callables always trails attackers (``doctest.debug_script``,
``uuid._get_command_stdout``, ``torch.utils.collect_env.run`` ...), so the dangerous set is derived from the
code itself: a callable is dangerous when its call graph reaches a sink (``SINKS``: exec/eval/compile, process
creation, ctypes, the import machinery with a computed name, pickle/marshal loads, code objects, sockets and
name resolution, file writes, tracing hooks).

Used two ways:

* ``scripts/gen_sink_table.py`` analyses the standard library and the installed ML libraries once and writes
  ``opentrust/data/scan/sinks.json.gz`` (shipped; see ``opentrust.scan.sink_table``);
* the scanner derives a module on first use when a pickle names one the shipped table lacks (another Python
  version, another library), from the source it finds on ``sys.path`` (``derive``).

It never imports what it analyses: modules are located on the file system and parsed with ``ast``.

Why hand-written: the call-graph generators for Python either import the code (jedi/pytype inference runs
module code paths, pytype needs a full type check of every dependency, minutes per package), are archived
research prototypes (PyCG), or build drawing-oriented graphs without cross-module alias resolution (pyan).
What we need is small and specific — names resolved through imports, re-exports, ``self``/``super()`` and
class hierarchies, plus the *arguments* of sink calls (a sink called only with literals, e.g. a lazy
``__import__("json")``, is not attacker-controlled) — and must run offline, on hostile-file budgets.

Semantics (may-reach, flow-insensitive):

* a call or a reference (a callback) to a function adds an edge; calling a class adds an edge to its
  ``__init__`` and ``__new__`` (found through its bases);
* ``self.m``/``cls.m`` inside a class resolve through the class's bases; ``super().m`` through the bases only;
  a local variable assigned from a class call is an instance of that class (``t = Timer(...); t.timeit()``);
* nested functions and lambdas count as part of the function that defines them;
* what cannot be resolved statically (attributes of arbitrary objects, ``getattr`` with computed names,
  C extension internals) adds no edge: the table is complete only for what Python source shows, which is why
  the scanner keeps a fallback rule for calls the table does not vouch for.
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

#: module aliases resolved before matching sinks (the same set pickle_policy normalises)
MODULE_ALIASES = {"posix": "os", "nt": "os", "_io": "io", "_pickle": "pickle", "_socket": "socket",
                  "__builtin__": "builtins", "_posixsubprocess": "_posixsubprocess"}

_OS_PROCESS = ("system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp",
               "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
               "spawnvpe", "posix_spawn", "posix_spawnp", "fork", "forkpty", "startfile", "kill", "killpg")
_OS_FILES = ("remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "truncate", "chmod",
             "lchmod", "chown", "lchown", "fchmod", "fchown", "symlink", "link", "mkdir", "makedirs", "mkfifo",
             "mknod", "putenv", "unsetenv", "chroot", "setuid", "setgid", "seteuid", "setegid")

#: sink name -> category. A call of a sink with only literal arguments is not counted (the caller does not
#: control it); ``open``-like sinks count only when the mode may write (see ``OPEN_SINKS``).
SINKS: dict[str, str] = {
    # compile() alone only builds a code object; running it takes exec/eval/FunctionType, which are sinks.
    # Counting compile too made every typing.ForwardRef (and through it most of typing) "dangerous".
    **{f"builtins.{n}": "code execution" for n in ("exec", "eval", "breakpoint", "execfile")},
    "builtins.__import__": "import machinery",
    **{f"os.{n}": "process execution" for n in _OS_PROCESS},
    **{f"os.{n}": "file system write" for n in _OS_FILES},
    "subprocess.Popen": "process execution", "_posixsubprocess.fork_exec": "process execution",
    "_winapi.CreateProcess": "process execution", "pty.fork": "process execution", "pty.spawn": "process execution",
    **{f"ctypes.{n}": "native code (ctypes)" for n in (
        "CDLL", "PyDLL", "WinDLL", "OleDLL", "LibraryLoader", "cdll", "pydll", "windll", "oledll", "pythonapi",
        "memmove", "memset", "string_at", "wstring_at", "cast", "CFUNCTYPE", "PYFUNCTYPE", "WINFUNCTYPE")},
    "_ctypes.dlopen": "native code (ctypes)", "_ctypes.LoadLibrary": "native code (ctypes)",
    "importlib.import_module": "import machinery", "importlib.__import__": "import machinery",
    "importlib._bootstrap._gcd_import": "import machinery", "importlib.util.module_from_spec": "import machinery",
    "importlib.util.spec_from_file_location": "import machinery", "imp.load_source": "import machinery",
    "imp.load_module": "import machinery", "imp.load_dynamic": "import machinery",
    "_imp.create_dynamic": "import machinery", "_imp.exec_dynamic": "import machinery",
    "zipimport.zipimporter": "import machinery",
    **{f"pickle.{n}": "pickle deserialisation" for n in ("load", "loads", "Unpickler")},
    "marshal.load": "code deserialisation", "marshal.loads": "code deserialisation",
    "types.CodeType": "code object", "types.FunctionType": "code object", "types.LambdaType": "code object",
    **{f"socket.{n}": "network" for n in (
        "socket", "create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo", "gethostbyname",
        "gethostbyname_ex", "gethostbyaddr", "getnameinfo")},
    "sys.settrace": "tracing hook", "sys.setprofile": "tracing hook", "threading.settrace": "tracing hook",
    "threading.setprofile": "tracing hook", "sys.addaudithook": "tracing hook",
    # file writes: counted only when the mode argument may write (see OPEN_SINKS)
    "builtins.open": "file system write", "io.open": "file system write", "io.FileIO": "file system write",
    "codecs.open": "file system write", "os.fdopen": "file system write", "os.open": "file system write",
}
#: sinks whose danger depends on a mode argument: (positional index of the mode, keyword name, default mode)
OPEN_SINKS = {"builtins.open": (1, "mode", "r"), "io.open": (1, "mode", "r"), "io.FileIO": (1, "mode", "r"),
              "codecs.open": (1, "mode", "r"), "os.fdopen": (1, "mode", "r"), "os.open": (1, "flags", None)}
#: library helpers whose sink use their callers cannot steer: an edge *into* them is not followed (their own
#: table entry is still computed, so a pickle calling them directly is judged on what they do)
VETTED = {
    "collections.namedtuple": "eval()s a class body built from field names it validates as identifiers",
    "inspect._signature_fromstr": "eval()s only identifiers found in a C function's __text_signature__",
    "dataclasses._create_fn": "exec()s methods generated from the dataclass's own field names",
    "dataclasses._FuncBuilder.add_fns_to_class": "exec()s methods generated from the dataclass's field names",
}

#: prefixes: everything below them is a sink (ctypes' loaders and function pointers)
SINK_PREFIXES = ("ctypes.cdll.", "ctypes.windll.", "ctypes.oledll.", "ctypes.pydll.", "ctypes.pythonapi.",
                 "_ctypes.")

# flags of a reference
CALL = 1  # the name is called (not only referenced)
LITERAL_ARGS = 2  # every argument of the call is a literal
READ_ONLY = 4  # an open()-like call whose mode is a literal without w/a/x/+ (or absent)


def normalize(dotted: str) -> str:
    head = dotted.split(".", 1)[0]
    real = MODULE_ALIASES.get(head)
    return real + dotted[len(head):] if real else dotted


def sink_of(dotted: str) -> str | None:
    """The sink ``dotted`` names (after module aliases), or None."""
    name = normalize(dotted)
    if name in SINKS:
        return name
    if name.startswith(SINK_PREFIXES):
        return name
    return None


# -- locating modules without importing them ------------------------------------------------------------


class SourceFinder:
    """Find the source file of a module on a search path, as the import system would, without importing."""

    def __init__(self, search_path: Iterable[str]):
        self.path = [p for p in search_path if p and os.path.isdir(p)]
        self._cache: dict[str, tuple[str, bool] | None] = {}

    def find(self, module: str) -> tuple[str, bool] | None:
        """(source file, is a package) for ``module``, or None (not found, or a compiled extension)."""
        if module in self._cache:
            return self._cache[module]
        found = None
        parts = module.split(".")
        if all(p.isidentifier() for p in parts):
            for base in self.path:
                d = os.path.join(base, *parts[:-1])
                if not os.path.isdir(d):
                    continue
                pkg_init = os.path.join(d, parts[-1], "__init__.py")
                if os.path.isfile(pkg_init):
                    found = (pkg_init, True)
                    break
                mod = os.path.join(d, parts[-1] + ".py")
                if os.path.isfile(mod):
                    found = (mod, False)
                    break
                if os.path.isdir(os.path.join(d, parts[-1])) and len(parts) > 0 and _namespace_ok(d, parts):
                    found = ("", True)  # namespace package: no source of its own
                    break
        self._cache[module] = found
        return found


def _namespace_ok(d: str, parts: list[str]) -> bool:
    # a directory without __init__.py is a namespace package only if it holds Python files or packages
    try:
        return any(n.endswith(".py") or os.path.isdir(os.path.join(d, parts[-1], n))
                   for n in os.listdir(os.path.join(d, parts[-1])))
    except OSError:
        return False


# -- per-module summaries ---------------------------------------------------------------------------------


@dataclass
class ClassInfo:
    bases: list[str] = field(default_factory=list)  # dotted names, as resolved in the defining module
    members: dict[str, str] = field(default_factory=dict)  # name -> "def" | "class" | "=<dotted alias>"


@dataclass
class ModuleSummary:
    name: str
    is_package: bool
    #: local name -> "def" (function) | "class" | "=<dotted>" (alias: import or assignment) | "var"
    namespace: dict[str, str] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)  # class qualname (module-relative) -> info
    #: function qualname (module-relative, e.g. "f", "C.m") -> references (dotted target, flags)
    functions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)  # modules imported with `from m import *`


_BUILTIN_NAMES = frozenset(dir(builtins))


def summarize(name: str, source: str, is_package: bool) -> ModuleSummary:
    """Parse one module's source and collect its names, classes and per-function references."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    s = ModuleSummary(name=name, is_package=is_package)
    _ModuleVisitor(s).run(tree)
    return s


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: max(0, len(parts) - (level - 1))]
    base = ".".join(parts)
    if target:
        return f"{base}.{target}" if base else target
    return base


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.Starred):
        return False
    return False


def _read_only_mode(call: ast.Call, spec: tuple[int, str, str | None]) -> bool:
    index, keyword, default = spec
    mode: ast.AST | None = None
    if len(call.args) > index:
        mode = call.args[index]
    for kw in call.keywords:
        if kw.arg == keyword:
            mode = kw.value
        elif kw.arg is None:  # **kwargs may carry the mode
            return False
    if any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return False
    if mode is None:
        return default is not None and not any(c in default for c in "wax+")
    if keyword == "flags":  # os.open: O_RDONLY alone
        return isinstance(mode, ast.Attribute) and mode.attr == "O_RDONLY"
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and not any(
        c in mode.value for c in "wax+")


class _ModuleVisitor:
    """Walks a module: records the namespace, classes and, for every function, what it references."""

    def __init__(self, summary: ModuleSummary):
        self.s = summary
        self.aliases: dict[str, str] = {}  # module-level local name -> dotted target

    # namespace ---------------------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> None:
        # Pass 1: module-level names (imports anywhere at top level, including inside if/try blocks).
        for stmt in _top_level(tree.body):
            self._bind_top(stmt)
        # Pass 2: bodies.
        for stmt in _top_level(tree.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, stmt.name, None, {})
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, stmt.name, {})

    def _import_targets(self, stmt: ast.AST) -> Iterator[tuple[str, str]]:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                if a.asname:
                    yield a.asname, a.name
                else:
                    head = a.name.split(".")[0]
                    yield head, head
        elif isinstance(stmt, ast.ImportFrom):
            mod = stmt.module or ""
            if stmt.level:
                mod = _resolve_relative(self.s.name, self.s.is_package, stmt.level, stmt.module)
            for a in stmt.names:
                if a.name == "*":
                    continue
                yield a.asname or a.name, f"{mod}.{a.name}" if mod else a.name

    def _bind_top(self, stmt: ast.AST) -> None:
        ns = self.s.namespace
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                mod = stmt.module or ""
                if stmt.level:
                    mod = _resolve_relative(self.s.name, self.s.is_package, stmt.level, stmt.module)
                if mod and mod not in self.s.stars:
                    self.s.stars.append(mod)
            for local, target in self._import_targets(stmt):
                self.aliases[local] = target
                ns.setdefault(local, "=" + target)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ns[stmt.name] = "def"
        elif isinstance(stmt, ast.ClassDef):
            ns[stmt.name] = "class"
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = stmt.value
            dotted = self._dotted_static(value) if value is not None else None
            for t in targets:
                if isinstance(t, ast.Name):
                    if dotted:
                        ns.setdefault(t.id, "=" + dotted)
                        self.aliases.setdefault(t.id, dotted)
                    else:
                        ns.setdefault(t.id, "var")

    def _dotted_static(self, node: ast.AST) -> str | None:
        """A module-level alias value (``run = _run``, ``loads = pickle.loads``) as a dotted name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.aliases.get(node.id)
        if base is None:
            if self.s.namespace.get(node.id) in ("def", "class"):
                base = f"{self.s.name}.{node.id}"
            elif node.id in _BUILTIN_NAMES:
                base = f"builtins.{node.id}"
            else:
                return None
        return ".".join([base, *reversed(parts)])

    # classes and functions ---------------------------------------------------------------------------
    def _class(self, node: ast.ClassDef, qual: str, outer_locals: dict[str, str]) -> None:
        info = ClassInfo()
        for b in node.bases:
            d = self._dotted_static(b)
            if d is None and isinstance(b, ast.Name) and b.id in outer_locals:
                d = outer_locals[b.id]
            if d:
                info.bases.append(d)
        self.s.classes[qual] = info
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                info.members[stmt.name] = "def"
            elif isinstance(stmt, ast.ClassDef):
                info.members[stmt.name] = "class"
            elif isinstance(stmt, ast.Assign):
                value = stmt.value
                target = None
                if isinstance(value, ast.Name) and value.id in info.members:
                    target = f"{self.s.name}.{qual}.{value.id}"  # alias of another method
                else:
                    target = self._dotted_static(value)
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        info.members[t.id] = "=" + target if target else "var"
        # instance attributes bound in methods (`self.open = open`, `self.compile = CommandCompiler()`)
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.args.args:
                me = stmt.args.args[0].arg
                for sub in ast.walk(stmt):
                    if not isinstance(sub, ast.Assign):
                        continue
                    value = sub.value
                    called = isinstance(value, ast.Call)
                    target = self._dotted_static(value.func if called else value)
                    if target is None:
                        continue
                    for t in sub.targets:
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == me \
                                and t.attr not in info.members:
                            info.members[t.attr] = "=" + target + (".()" if called else "")
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt, f"{qual}.{stmt.name}", qual, {})
            elif isinstance(stmt, ast.ClassDef):
                self._class(stmt, f"{qual}.{stmt.name}", {})

    def _function(self, node: ast.AST, qual: str, cls: str | None, outer_locals: dict[str, str]) -> None:
        collector = _BodyCollector(self, cls, outer_locals)
        collector.collect(node)
        refs: dict[tuple[str, int], None] = {}
        for r in collector.refs:
            refs.setdefault(r, None)
        self.s.functions[qual] = list(refs)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at module level, looking into if/try/with blocks (conditional imports)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            yield from _top_level(stmt.body)  # type: ignore[attr-defined]
            for h in stmt.handlers:  # type: ignore[attr-defined]
                yield from _top_level(h.body)
            yield from _top_level(stmt.orelse)  # type: ignore[attr-defined]
            yield from _top_level(stmt.finalbody)  # type: ignore[attr-defined]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            yield from _top_level(stmt.body)
        else:
            yield stmt


class _BodyCollector(ast.NodeVisitor):
    """Collects the references of one function body (nested functions and lambdas included)."""

    def __init__(self, mod: _ModuleVisitor, cls: str | None, outer_locals: dict[str, str]):
        self.mod = mod
        self.cls = cls  # module-relative qualname of the enclosing class, if a method
        self.refs: list[tuple[str, int]] = []
        self.locals: dict[str, str] = dict(outer_locals)  # local name -> dotted (imports, instances)
        self.shadowed: set[str] = set()  # parameters and plain local variables
        self.self_names: set[str] = set()
        self.recording = False

    def collect(self, node: Any) -> None:
        args = node.args
        params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
        if args.vararg:
            params.append(args.vararg.arg)
        if args.kwarg:
            params.append(args.kwarg.arg)
        self.shadowed.update(params)
        if self.cls is not None and params:
            is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
            if not is_static:
                self.self_names.add(params[0])
        # local imports and instance assignments first (flow-insensitive)
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                for local, target in self.mod._import_targets(sub):
                    self.locals[local] = target
                    self.shadowed.discard(local)
            elif isinstance(sub, ast.Assign) and isinstance(sub.value, (ast.Call, ast.Name, ast.Attribute)):
                value = sub.value
                target = self._resolve(value.func if isinstance(value, ast.Call) else value)
                for t in sub.targets:
                    if isinstance(t, ast.Name) and t.id not in self.locals:
                        if target is not None and not target.startswith(("*", "super:")):
                            # an instance of a called class, or a local alias (`run = subprocess.run`)
                            self.locals[t.id] = target + ".()" if isinstance(value, ast.Call) else target
                        else:
                            self.shadowed.add(t.id)
            elif isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.comprehension)):
                targets = (sub.targets if isinstance(sub, ast.Assign) else
                           [sub.target])
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id not in self.locals:
                            self.shadowed.add(n.id)
        self.recording = True
        for stmt in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(stmt)

    # a nested def/lambda: its body is part of this function (may be called from here); its decorators
    # and defaults are evaluated here too, which generic_visit covers
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for stmt in node.body:
            self.visit(stmt)

    def visit_Call(self, node: ast.Call) -> None:
        target = self._resolve(node.func)
        if target is not None:
            flags = CALL
            if all(_literal(a) for a in node.args) and all(k.arg is not None and _literal(k.value)
                                                           for k in node.keywords):
                flags |= LITERAL_ARGS
            spec = OPEN_SINKS.get(normalize(target))
            if spec is None and target.endswith((".open", ".FileIO")):
                spec = (1, "mode", "r")
            if spec is not None and _read_only_mode(node, spec):
                flags |= READ_ONLY
            self.refs.append((target, flags))
        else:
            self.visit(node.func)
        for a in node.args:
            self.visit(a)
        for k in node.keywords:
            self.visit(k.value)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            t = self._resolve(node)
            if t is not None:
                self.refs.append((t, 0))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            t = self._resolve(node)
            if t is not None:
                self.refs.append((t, 0))
                return
        self.generic_visit(node)

    def _resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression denotes, or None. Encodings the solver understands:
        ``Class.()`` an instance of Class (``Class.().m`` its method m), ``super:Class|m`` a method of the
        bases of Class, ``*module|name`` a name that may come from the module's star imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        parts.reverse()
        base: str | None = None
        mod = self.mod
        modname = mod.s.name
        if isinstance(node, ast.Name):
            n = node.id
            if n in self.locals:
                base = self.locals[n]
            elif n in self.self_names and self.cls is not None:
                base = f"{modname}.{self.cls}.()"
            elif n in self.shadowed:
                return None
            elif n == "cls" and self.cls is not None:
                base = f"{modname}.{self.cls}"
            elif n in mod.aliases:
                base = mod.aliases[n]
            elif mod.s.namespace.get(n) in ("def", "class"):
                base = f"{modname}.{n}"
            elif n in _BUILTIN_NAMES:
                base = f"builtins.{n}"
            elif mod.s.stars:
                return f"*{modname}|" + ".".join([n, *parts])
            else:
                return None
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "super" and self.cls is not None:
                return f"super:{modname}.{self.cls}|" + ".".join(parts) if parts else None
            if isinstance(f, ast.Name) and f.id == "type" and len(node.args) == 1 and \
                    isinstance(node.args[0], ast.Name) and node.args[0].id in self.self_names and self.cls:
                base = f"{modname}.{self.cls}"
            else:
                inner = self._resolve(f)
                if inner is None:
                    return None
                # record the inner call itself, then treat the result as an instance of what was called
                if self.recording:
                    self.visit_Call(node)
                base = inner + ".()"
        else:
            return None
        return ".".join([base, *parts]) if parts else base


# -- the graph ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    kind: str  # "func" | "class" | "sink"
    name: str  # fully qualified dotted name


class CallGraph:
    """Summaries of many modules, loaded on demand, and name resolution across them."""

    def __init__(self, finder: SourceFinder, *, max_modules: int = 100_000,
                 check_budget: Callable[[], None] | None = None):
        self.finder = finder
        self.modules: dict[str, ModuleSummary | None] = {}
        self.max_modules = max_modules
        self.check_budget = check_budget
        self.errors: dict[str, str] = {}
        self._resolved: dict[str, Node | None] = {}

    # modules -------------------------------------------------------------------------------------------
    def module(self, name: str) -> ModuleSummary | None:
        if name in self.modules:
            return self.modules[name]
        if len(self.modules) >= self.max_modules:
            return None
        if self.check_budget is not None:
            self.check_budget()
        found = self.finder.find(name)
        summary = None
        if found is not None:
            path, is_pkg = found
            if not path:
                summary = ModuleSummary(name=name, is_package=True)
            else:
                try:
                    with open(path, "rb") as fh:
                        raw = fh.read(8 << 20)
                    summary = summarize(name, raw.decode("utf-8", "replace"), is_pkg)
                except (SyntaxError, ValueError, RecursionError, MemoryError, OSError) as exc:
                    self.errors[name] = f"{type(exc).__name__}: {exc}"[:200]
        self.modules[name] = summary
        return summary

    def add(self, summary: ModuleSummary) -> None:
        self.modules[summary.name] = summary

    # resolution -----------------------------------------------------------------------------------------
    def resolve(self, dotted: str, depth: int = 0) -> Node | None:
        """What a dotted name denotes: a function, a class or a sink (None: unknown or not callable)."""
        if depth > 24:
            return None
        key = dotted
        if key in self._resolved:
            return self._resolved[key]
        self._resolved[key] = None  # cycle guard
        node = self._resolve(dotted, depth)
        self._resolved[key] = node
        return node

    def _resolve(self, dotted: str, depth: int) -> Node | None:
        if dotted.startswith("super:"):
            cls, _, member = dotted[6:].partition("|")
            c = self.resolve(cls, depth + 1)
            if c is None or c.kind != "class" or not member:
                return None
            head, _, tail = member.partition(".")
            for base in self.mro(c.name)[1:]:
                m = self.member(base, head, depth + 1)
                if m is not None:
                    return self._descend(m, tail, depth) if tail else m
            return None
        if dotted.startswith("*"):
            modname, _, rest = dotted[1:].partition("|")
            summ = self.module(modname)
            for star in (summ.stars if summ else []):
                star_summ = self.module(star)
                if star_summ is not None:
                    r = self._in_module(star_summ, rest.split("."), depth + 1)
                    if r is not None:
                        return r
            return None
        if ".()" in dotted:  # an instance: look the attribute up on its class
            cls_part, _, rest = dotted.partition(".()")
            rest = rest.lstrip(".") or "__call__"  # calling an instance calls its __call__
            c = self.resolve(cls_part, depth + 1)
            if c is None or c.kind != "class":
                return None
            head, _, tail = rest.partition(".")
            m = self.member(c.name, head, depth + 1)
            if m is None:
                return None
            return self._descend(m, tail, depth) if tail else m
        name = normalize(dotted)
        s = sink_of(name)
        if s is not None:
            return Node("sink", s)
        parts = name.split(".")
        # the longest prefix that is a module we can read
        for i in range(len(parts), 0, -1):
            modname = ".".join(parts[:i])
            summ = self.module(modname)
            if summ is None:
                continue
            rest = parts[i:]
            if not rest:
                return None  # a module itself
            return self._in_module(summ, rest, depth)
        return None

    def _sink(self, name: str) -> Node | None:
        s = sink_of(name)
        return Node("sink", s) if s else None

    def _in_module(self, summ: ModuleSummary, rest: list[str], depth: int) -> Node | None:
        key = f"{summ.name}|{'.'.join(rest)}"
        if key in self._resolved:
            return self._resolved[key]
        self._resolved[key] = None  # cycle guard (star imports of star imports)
        node = self._in_module_uncached(summ, rest, depth) if depth <= 24 else None
        self._resolved[key] = node
        return node

    def _in_module_uncached(self, summ: ModuleSummary, rest: list[str], depth: int) -> Node | None:
        head, tail = rest[0], rest[1:]
        entry = summ.namespace.get(head)
        if entry == "def":
            return Node("func", f"{summ.name}.{head}") if not tail else None
        if entry == "class":
            c = Node("class", f"{summ.name}.{head}")
            return self._descend(c, ".".join(tail), depth) if tail else c
        if entry is not None and entry.startswith("="):
            return self.resolve(".".join([entry[1:], *tail]), depth + 1)
        if entry is None:
            sub = self.module(f"{summ.name}.{head}") if summ.is_package else None
            if sub is not None:
                return self._in_module(sub, tail, depth + 1) if tail else None
            for star in summ.stars:
                star_summ = self.module(star)  # a star import from a C extension tells us nothing
                if star_summ is not None and star_summ is not summ:
                    r = self._in_module(star_summ, rest, depth + 1)
                    if r is not None:
                        return r
        return None

    def _descend(self, node: Node, tail: str, depth: int) -> Node | None:
        if not tail:
            return node
        if node.kind != "class":
            return None
        head, _, rest = tail.partition(".")
        m = self.member(node.name, head, depth + 1)
        if m is None:
            return None
        return self._descend(m, rest, depth + 1) if rest else m

    def class_info(self, qual: str) -> tuple[ModuleSummary, str, ClassInfo] | None:
        """The summary, module-relative qualname and info of a class given its full qualname."""
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            summ = self.modules.get(".".join(parts[:i]))
            if summ is None:
                continue
            rel = ".".join(parts[i:])
            info = summ.classes.get(rel)
            if info is not None:
                return summ, rel, info
        return None

    def bases(self, qual: str, depth: int = 0) -> list[str]:
        ci = self.class_info(qual)
        if ci is None or depth > 16:
            return []
        out: list[str] = []
        for b in ci[2].bases:
            r = self.resolve(b, depth + 1)
            if r is not None and r.kind == "class" and r.name != qual:
                out.append(r.name)
        return out

    def mro(self, qual: str) -> list[str]:
        """Depth-first, left-to-right linearisation (close enough to C3 for may-reach analysis)."""
        out: list[str] = []
        stack = [qual]
        while stack and len(out) < 64:
            c = stack.pop(0)
            if c in out:
                continue
            out.append(c)
            stack[0:0] = self.bases(c)
        return out

    def member(self, cls_qual: str, name: str, depth: int = 0) -> Node | None:
        """``name`` looked up on a class and its bases."""
        if depth > 24:
            return None
        for c in self.mro(cls_qual):
            s = self._sink(f"{c}.{name}")
            if s is not None:
                return s
            ci = self.class_info(c)
            if ci is None:
                continue
            summ, rel, info = ci
            entry = info.members.get(name)
            if entry is None:
                continue
            if entry == "def":
                return Node("func", f"{c}.{name}")
            if entry == "class":
                return Node("class", f"{c}.{name}")
            if entry.startswith("="):
                return self.resolve(entry[1:], depth + 1)
            return None  # a data attribute
        return None

    # edges ---------------------------------------------------------------------------------------------
    def function_refs(self, qual: str) -> list[tuple[str, int]]:
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            summ = self.modules.get(".".join(parts[:i]))
            if summ is not None:
                refs = summ.functions.get(".".join(parts[i:]))
                if refs is not None:
                    return refs
        return []

    def edges(self, node: Node) -> list[tuple[Node, int]]:
        """Successors of a node: (target, flags). A class's successors are its __init__ and __new__."""
        if node.kind == "class":
            out = []
            for m in ("__init__", "__new__"):
                t = self.member(node.name, m)
                if t is not None:
                    out.append((t, CALL))
            return out
        if node.kind != "func":
            return []
        out = []
        for target, flags in self.function_refs(node.name):
            t = self.resolve(target)
            if t is None or t.name in VETTED:
                continue
            if t.kind == "class" and not flags & CALL:
                continue  # isinstance(x, C), annotations: referencing a class does not run it
            out.append((t, flags))
        return out


def counts_as_sink(node: Node, flags: int) -> bool:
    """Whether reaching a sink with these call flags is attacker-controllable."""
    if node.kind != "sink":
        return False
    if flags & LITERAL_ARGS:
        return False
    if SINKS.get(node.name) == "file system write" and node.name in OPEN_SINKS and flags & READ_ONLY:
        return False
    if not flags & CALL and node.name in OPEN_SINKS:
        return False  # passing `open` around is common (e.g. as an opener); calls are judged where they occur
    return True


# -- solving --------------------------------------------------------------------------------------------


def solve(graph: CallGraph, nodes: Iterable[Node]) -> dict[str, str]:
    """Every node of ``nodes`` (and what they reach) that reaches a sink -> the next hop towards it.

    Reverse breadth-first search from the sinks over the edges of the given nodes' closure, so each hop
    lies on a shortest path to a sink; ties are broken by name, which makes the result deterministic.
    """
    forward: dict[Node, list[tuple[Node, int]]] = {}
    queue = deque(sorted(set(nodes), key=lambda n: (n.name, n.kind)))
    while queue:
        n = queue.popleft()
        if n in forward:
            continue
        es = graph.edges(n)
        forward[n] = es
        for t, _ in es:
            if t not in forward and t.kind != "sink":
                queue.append(t)
    reverse: dict[Node, list[Node]] = {}
    hop: dict[str, str] = {}
    frontier: list[Node] = []
    for n in sorted(forward, key=lambda x: (x.name, x.kind)):
        if sink_of(n.name) is not None:  # a class or function that is itself a sink (subprocess.Popen)
            hop[_key(n)] = _key(n)
            frontier.append(n)
            continue
        direct = sorted((_PRIORITY.get(SINKS.get(t.name, ""), 99), t.name) for t, f in forward[n]
                        if counts_as_sink(t, f))
        if direct:
            hop[_key(n)] = direct[0][1]
            frontier.append(n)
        for t, _ in forward[n]:
            if t.kind != "sink":
                reverse.setdefault(t, []).append(n)
    while frontier:
        nxt: list[Node] = []
        for t in sorted(frontier, key=lambda x: (x.name, x.kind)):
            for src in sorted(reverse.get(t, ()), key=lambda x: (x.name, x.kind)):
                if _key(src) not in hop:
                    hop[_key(src)] = _key(t)
                    nxt.append(src)
        frontier = nxt
    return hop


_PRIORITY = {c: i for i, c in enumerate((
    "code execution", "process execution", "import machinery", "code deserialisation",
    "pickle deserialisation",
    "code object", "native code (ctypes)", "network", "tracing hook", "file system write"))}


def _key(n: Node) -> str:
    return n.name


def chain(hops: dict[str, str], start: str, limit: int = 12) -> list[str]:
    """The call chain from ``start`` to its sink following next hops."""
    out = [start]
    cur = start
    while cur in hops and len(out) < limit:
        cur = hops[cur]
        if cur in out:  # a sink's hop is itself
            break
        out.append(cur)
    return out


# -- the table ------------------------------------------------------------------------------------------


def module_nodes(graph: CallGraph, summ: ModuleSummary) -> tuple[dict[str, Node], set[str]]:
    """Every callable a pickle can name in this module: functions, classes, methods (defined or inherited)
    and names imported or assigned at module level that denote a function or class -> its node; and the
    names the module itself defines (inherited methods excluded)."""
    out: dict[str, Node] = {}
    for f in summ.functions:
        out[f] = Node("func", f"{summ.name}.{f}")
    for c in summ.classes:
        cq = f"{summ.name}.{c}"
        out[c] = Node("class", cq)
        seen: set[str] = set()
        for k in graph.mro(cq):
            ci = graph.class_info(k)
            if ci is None:
                continue
            for m in ci[2].members:
                if m in seen:
                    continue
                seen.add(m)
                t = graph.member(cq, m)
                if t is not None and t.kind in ("func", "sink"):
                    out.setdefault(f"{c}.{m}", t)
    defined = set(summ.functions) | set(summ.classes)
    for name, entry in sorted(summ.namespace.items()):
        if entry.startswith("=") and name not in out:
            t = graph.resolve(entry[1:])
            if t is not None:
                out[name] = t
                defined.add(name)
    return out, defined


def table_for(graph: CallGraph, modules: Iterable[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """({module: {"d": {name: next hop}, "k": "names it defines, space-separated"}}, via) for ``modules``.

    ``d`` holds the names that reach a sink, each with the next hop of a shortest chain (a qualified name,
    itself in the table, or a sink); ``k`` every callable name the module defines, dangerous or not, so a
    lookup can tell "analysed and harmless" from "not in the analysed version of the module".
    """
    per_module: dict[str, dict[str, Node]] = {}
    defined: dict[str, set[str]] = {}
    all_nodes: list[Node] = []
    for m in modules:
        summ = graph.module(m)
        if summ is None:
            continue
        nodes, defined[m] = module_nodes(graph, summ)
        per_module[m] = nodes
        all_nodes.extend(n for n in nodes.values() if n.kind != "sink")
    hops = solve(graph, all_nodes)
    out: dict[str, dict[str, Any]] = {}
    for m, nodes in per_module.items():
        dangerous: dict[str, str] = {}
        for name, node in nodes.items():
            if node.kind == "sink":
                dangerous[name] = node.name
            elif node.name in hops:
                own = f"{m}.{name}"
                # an alias or inherited method: the hop is the node it denotes; a definition: its own hop
                dangerous[name] = hops[node.name] if node.name == own else node.name
        out[m] = {"d": dict(sorted(dangerous.items())), "k": " ".join(sorted(defined[m]))}
    # hops of the intermediate nodes that chains pass through but no module entry holds (e.g. __init__ of a
    # class, or a function of a module outside the list), so every chain can be followed to its sink
    via: dict[str, str] = {}
    todo = [h for entry in out.values() for h in entry["d"].values()]
    while todo:
        cur = todo.pop()
        if cur in via or sink_of(cur) == cur and cur not in hops:
            continue
        nxt = hops.get(cur)
        if nxt is None or nxt == cur:
            continue
        mod, _, name = cur.rpartition(".")
        if out.get(mod, {}).get("d", {}).get(name) == nxt:
            continue
        via[cur] = nxt
        todo.append(nxt)
    return out, dict(sorted(via.items()))
