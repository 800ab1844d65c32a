"""Hugging Face ``auto_map`` and Python source: code the loader imports with ``trust_remote_code=True``.

``config.json`` / ``tokenizer_config.json`` (and ``processor_config.json`` …) may map Auto classes to
``module.Class`` in the model folder; transformers copies those ``.py`` files (and every file they import
relatively) into its module cache and imports them — module-level code runs at once, the rest when the
model is built. A config is recognised by content wherever it appears (a folder, a file given alone, an
archive member). Any Python file of a model repository is code users run, so ``python_source`` analyses
every one with the same rules. We parse with ``ast`` (never import) and report:

* the ``auto_map`` itself (low: remote code is required to use this model at all);
* references to code in another repository (``owner/repo--module.Class``): high, downloaded and run unvetted;
* referenced files that are missing;
* imports of process / network / code-loading modules, and calls of ``eval``/``exec``/``os.system``/
  ``subprocess``/``socket``/``requests``/``urllib`` …;
* module-level side effects (calls that run at import time, beyond the usual logger/typing boilerplate).
"""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path
from typing import Any

from opentrust.scan.base import Rule, ScanContext, Severity, Source, read_regular

MAX_CONFIG = 32 * 1024 * 1024
MAX_SOURCE = 8 * 1024 * 1024
MAX_FILES = 200  # code files followed through relative imports

#: module (top level) -> severity of importing it
RISKY_IMPORTS: dict[str, Severity] = {
    "subprocess": Severity.medium, "socket": Severity.medium, "requests": Severity.medium,
    "urllib": Severity.medium, "urllib3": Severity.medium, "http": Severity.medium, "httpx": Severity.medium,
    "aiohttp": Severity.medium, "ftplib": Severity.medium, "telnetlib": Severity.medium,
    "smtplib": Severity.medium, "paramiko": Severity.medium, "ctypes": Severity.medium, "cffi": Severity.medium,
    "pty": Severity.medium, "pickle": Severity.medium, "dill": Severity.medium, "marshal": Severity.medium,
    "shutil": Severity.low, "os": Severity.low, "sys": Severity.info, "importlib": Severity.low,
    "runpy": Severity.medium, "code": Severity.medium, "webbrowser": Severity.medium, "base64": Severity.low,
}
#: dotted call names (after resolving import aliases) that execute code, spawn processes or reach the network
DANGEROUS_CALLS = {
    "eval", "exec", "compile", "__import__", "execfile", "breakpoint",
    "os.system", "os.popen", "os.execv", "os.execve", "os.execl", "os.execlp", "os.execvp", "os.execvpe",
    "os.spawnl", "os.spawnv", "os.spawnve", "os.spawnlp", "os.posix_spawn", "os.posix_spawnp", "os.fork",
    "os.startfile", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.chmod", "os.kill",
    "posix.system", "nt.system", "pty.spawn", "shutil.rmtree",
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
    "subprocess.Popen", "subprocess.getoutput", "subprocess.getstatusoutput",
    "socket.socket", "socket.create_connection", "socket.create_server",
    "urllib.request.urlopen", "urllib.request.urlretrieve", "urllib.request.Request",
    "requests.get", "requests.post", "requests.put", "requests.request", "requests.Session",
    "httpx.get", "httpx.post", "httpx.Client", "http.client.HTTPConnection", "http.client.HTTPSConnection",
    "importlib.import_module", "runpy.run_path", "runpy.run_module", "pickle.loads", "pickle.load",
    "marshal.loads", "ctypes.CDLL", "ctypes.cdll.LoadLibrary", "ctypes.WinDLL", "webbrowser.open",
    "code.interact", "code.InteractiveInterpreter",
}
#: module-level calls that are boilerplate in transformers modeling files
BENIGN_TOPLEVEL = {"logging.get_logger", "logging.getLogger", "TypeVar", "namedtuple", "collections.namedtuple",
                   "dataclass", "field", "dataclasses.field", "_CHECKPOINT_FOR_DOC", "is_torch_available",
                   "is_flash_attn_2_available", "is_flash_attn_greater_or_equal_2_10", "add_start_docstrings",
                   "replace_return_docstrings", "warnings.filterwarnings", "torch.jit.script", "print",
                   "Enum", "frozenset", "set", "dict", "list", "tuple", "re.compile", "object",
                   "torch.fx.wrap", "is_torch_fx_available", "version.parse", "packaging.version.parse",
                   "importlib.util.find_spec", "get_logger", "getLogger", "require_version", "str", "int",
                   "float", "bool", "len", "range", "sorted", "os.environ.get", "os.getenv", "os.path.join",
                   "os.path.dirname", "os.path.abspath", "os.path.exists", "torch.device", "torch.dtype",
                   "is_torch_greater_or_equal", "is_torchdynamo_compiling", "logger.warning",
                   "logger.warning_once", "logger.info", "torch.no_grad", "lru_cache",
                   "functools.lru_cache", "list", "isinstance", "hasattr", "Union", "Optional", "field",
                   "register_for_auto_class", "register", "math.sqrt", "math.log", "math.pi"}

_help = ("Loading requires trust_remote_code=True, which imports this code with your privileges. Read the "
         "referenced files before loading, pin the revision, or use a model supported natively.")
R_AUTO_MAP = Rule("REMOTE-CODE-AUTO-MAP", "RemoteCodeAutoMap", Severity.low, "model requires remote code",
                  "auto_map points the loader at Python files shipped with the model. " + _help)
R_EXTERNAL = Rule("REMOTE-CODE-EXTERNAL-REPO", "RemoteCodeExternalRepo", Severity.high,
                  "remote code comes from another repository",
                  "auto_map references code in another repository (owner/repo--module.Class): transformers "
                  "downloads that module from the other repository at load time and runs it with "
                  "trust_remote_code=True. Its author can change it at any moment and nothing in this folder "
                  "shows what it does. Vet that repository's code at a pinned revision and copy it into the model "
                  "folder, or do not load with trust_remote_code. " + _help)
R_MISSING = Rule("REMOTE-CODE-MISSING-FILE", "RemoteCodeMissingFile", Severity.medium,
                 "remote code file missing",
                 "auto_map references a module that is not in the folder; the loader would fetch it from the "
                 "Hub at load time, so it cannot be reviewed. " + _help)
R_IMPORT = Rule("REMOTE-CODE-RISKY-IMPORT", "RemoteCodeRiskyImport", Severity.medium,
                "remote code imports process, network or code-loading modules",
                "The code imports modules that can run processes, reach the network or load code. " + _help)
R_EXEC = Rule("REMOTE-CODE-EXEC", "RemoteCodeExec", Severity.high,
              "remote code executes commands, code or network calls",
              "The code calls eval/exec, spawns processes, deletes files or opens network connections. " + _help)
R_SIDE_EFFECT = Rule("REMOTE-CODE-IMPORT-TIME-CALL", "RemoteCodeImportTimeCall", Severity.low,
                     "remote code runs calls at import time",
                     "Module-level statements run as soon as the loader imports the file, before any model "
                     "is built. " + _help)
R_SYNTAX = Rule("REMOTE-CODE-UNPARSABLE", "RemoteCodeUnparsable", Severity.medium,
                "remote code cannot be parsed",
                "The referenced Python file is not valid Python (or too large to analyse). " + _help)

RULES = [R_AUTO_MAP, R_EXTERNAL, R_MISSING, R_IMPORT, R_EXEC, R_SIDE_EFFECT, R_SYNTAX]


#: keys that mark a JSON file as a Hugging Face config (one of them appears in the first bytes of any config)
_CONFIG_KEYS = (b'"auto_map"', b'"model_type"', b'"architectures"', b'"_name_or_path"', b'"tokenizer_class"',
                b'"processor_class"', b'"feature_extractor_type"', b'"image_processor_type"', b'"transformers_version"')


def sniff(head: bytes, size: int) -> bool:
    """A Hugging Face config (config.json, tokenizer_config.json ...): a JSON object with a config key."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return text[:1] == b"{" and size <= MAX_CONFIG and any(k in head for k in _CONFIG_KEYS)


def scan(source: Source, ctx: ScanContext) -> None:
    """A config wherever it appears — in a folder, given alone, or inside an archive: its ``auto_map``.

    Referenced code files are analysed from here only when they will not be scanned on their own, i.e. when
    the config was not found by walking its folder (every .py file in a walked folder is scanned as Python).
    """
    raw = source.read(0, MAX_CONFIG + 1)
    if len(raw) > MAX_CONFIG:
        return
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return  # not a valid config: loaders reject it too
    folder = source.path.parent if source.path is not None else None
    report_auto_map(doc, source, ctx, folder, follow_code=folder is not None and not ctx.walked)


def report_auto_map(doc: Any, source: Source, ctx: ScanContext, folder: Path | None, *,
                    follow_code: bool) -> None:
    auto_map = doc.get("auto_map") if isinstance(doc, dict) else None
    if not isinstance(auto_map, dict) or not auto_map:
        return
    refs: list[tuple[str, str]] = []  # (auto class, reference)
    for auto_cls, value in auto_map.items():
        values = value if isinstance(value, list) else [value]
        refs.extend((str(auto_cls), v) for v in values if isinstance(v, str) and v)
    ctx.report(R_AUTO_MAP, source, f"auto_map maps {len(refs)} class(es) to code in the model folder",
               key="auto_map", evidence=json.dumps(auto_map)[:1000])
    modules: dict[Path, str] = {}
    for auto_cls, ref in refs:
        if "--" in ref:
            repo, _, target = ref.partition("--")
            module = target.rsplit(".", 1)[0] if "." in target else target
            ctx.report(R_EXTERNAL, source, f"{auto_cls} -> {ref}: loading downloads {module}.py from the "
                       f"repository {repo} and runs it; that code is not in this folder and nobody vetted it here",
                       key=f"auto_map.{auto_cls}", evidence=ref, repository=repo)
            continue
        module = ref.rsplit(".", 1)[0] if "." in ref else ref
        parts = module.split(".")
        if any(p in ("", "..") or "/" in p or "\\" in p for p in parts):
            ctx.report(R_MISSING, source, f"{auto_cls} -> {ref}: not a module path", key=f"auto_map.{auto_cls}",
                       evidence=ref)
            continue
        if folder is None:
            continue  # inside an archive: the code files are members, scanned on their own
        path = folder.joinpath(*parts).with_suffix(".py")
        if not path.is_file():
            ctx.report(R_MISSING, source, f"{auto_cls} -> {ref}: {path.name} is not in the folder",
                       key=f"auto_map.{auto_cls}", evidence=ref)
            continue
        modules.setdefault(path, ref)
    if not follow_code or folder is None:
        return
    # Follow relative imports as transformers does (get_relative_import_files).
    queue = list(modules)
    done: set[Path] = set()
    while queue and len(done) < MAX_FILES:
        path = queue.pop(0)
        if path in done:
            continue
        done.add(path)
        ctx.check_budget()
        queue.extend(p for p in analyse_file(path, folder, ctx) if p not in done)


def analyse_file(path: Path, folder: Path, ctx: ScanContext) -> list[Path]:
    """Report what one code file does; return the files it imports relatively (to analyse next)."""
    source = Source(display=str(path), path=path)  # as the dispatcher shows files: the path as walked
    try:
        raw = read_regular(path, MAX_SOURCE + 1)
    except OSError:
        return []
    return analyse_source(raw, source, ctx, folder=folder, base=path.parent)


def analyse_source(raw: bytes, source: Source, ctx: ScanContext, *, folder: Path | None = None,
                   base: Path | None = None, report_syntax: bool = True) -> list[Path]:
    """Report what Python source does (parsed with ``ast``, never imported); with ``folder``, return the
    files of that folder it imports relatively."""
    name = source.display.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    if len(raw) > MAX_SOURCE:
        ctx.report(R_SYNTAX, source, f"{name} is larger than {MAX_SOURCE} bytes")
        return []
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")  # Python ignores a leading BOM
    try:
        with warnings.catch_warnings():  # SyntaxWarnings of the scanned code are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=name)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if report_syntax:
            ctx.report(R_SYNTAX, source, f"{name}: {type(exc).__name__}: {exc}"[:300])
        return []
    visitor = _CodeVisitor()
    try:
        visitor.visit(tree)
    except RecursionError:
        ctx.report(R_SYNTAX, source, f"{name} nests too deeply to analyse")
        return []
    lines = text.splitlines()

    def line(n: int) -> str:
        return lines[n - 1].strip()[:300] if 0 < n <= len(lines) else ""

    for module, lineno in visitor.imports:
        severity = RISKY_IMPORTS.get(module.split(".")[0])
        if severity is not None and severity.rank >= Severity.low.rank:
            ctx.report(R_IMPORT, source, f"imports {module} (line {lineno})", evidence=line(lineno),
                       severity=severity, line=lineno)
    for called, lineno, toplevel, decorator in visitor.calls:
        if called in DANGEROUS_CALLS or called.split(".")[-1] in ("system", "popen") and "." in called:
            when = "at import time" if toplevel else "when called"
            ctx.report(R_EXEC, source, f"calls {called} {when} (line {lineno})", evidence=line(lineno),
                       severity=Severity.critical if toplevel else None, line=lineno)
        elif toplevel and not decorator and not _benign(called):
            ctx.report(R_SIDE_EFFECT, source, f"calls {called} at import time (line {lineno})",
                       evidence=line(lineno), line=lineno)
    related: list[Path] = []
    if folder is None or base is None:
        return related
    for level, module in visitor.relative:
        start = base
        for _ in range(level - 1):
            start = start.parent
        candidate = start.joinpath(*module.split(".")).with_suffix(".py") if module else None
        if candidate is not None and candidate.is_file():
            try:
                if candidate.resolve().is_relative_to(folder.resolve()):
                    related.append(candidate)
            except OSError:
                pass
    return related


def _benign(name: str) -> bool:
    parts = name.split(".")
    return (name in BENIGN_TOPLEVEL or ".".join(parts[-2:]) in BENIGN_TOPLEVEL or parts[-1] in BENIGN_TOPLEVEL
            or parts[0] in ("logger", "logging", "typing", "inspect", "math", "warnings"))


class _CodeVisitor(ast.NodeVisitor):
    """Collects imports (with aliases resolved), calls by dotted name and whether they run at import time."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.imports: list[tuple[str, int]] = []
        self.relative: list[tuple[int, str]] = []
        self.calls: list[tuple[str, int, bool, bool]] = []  # name, line, at import time, decorator
        self.depth = 0  # > 0 inside def/lambda: not run at import time
        self.decorators: set[int] = set()  # ids of decorator calls (@torch.no_grad(), @add_start_docstrings(…))

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.imports.append((a.name, node.lineno))
            self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.relative.append((node.level, node.module or ""))
            if not node.module:  # from . import x  -> x.py
                for a in node.names:
                    self.relative.append((node.level, a.name))
            return
        module = node.module or ""
        self.imports.append((module, node.lineno))
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{module}.{a.name}"

    def _scoped(self, node: ast.AST) -> None:
        # Decorators and default values run at import time; the body does not.
        for dec in getattr(node, "decorator_list", []):
            self.decorators.add(id(dec))
            self.visit(dec)
        args = getattr(node, "args", None)
        if isinstance(args, ast.arguments):
            for d in [*args.defaults, *args.kw_defaults]:
                if d is not None:
                    self.visit(d)
        self.depth += 1
        for child in (node.body if isinstance(node.body, list) else [node.body]):  # type: ignore[attr-defined]
            self.visit(child)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scoped  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for dec in node.decorator_list:
            self.decorators.add(id(dec))
            self.visit(dec)
        for base in [*node.bases, *[k.value for k in node.keywords]]:
            self.visit(base)
        for child in node.body:  # class bodies run at import time; methods are scoped by _scoped
            self.visit(child)

    def visit_If(self, node: ast.If) -> None:
        # `if __name__ == "__main__":` never runs on import
        t = node.test
        if (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"
                and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in t.comparators)):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = self._name(node.func)
        if name:
            self.calls.append((name, node.lineno, self.depth == 0, id(node) in self.decorators))
        self.generic_visit(node)

    def _name(self, node: Any) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            head = self.aliases.get(node.id, node.id)
            return ".".join([head, *reversed(parts)])
        if isinstance(node, ast.Call):  # __import__("os").system(...)
            inner = self._name(node.func)
            return ".".join([f"{inner}()", *reversed(parts)]) if inner else None
        return None
