"""Keras: ``.keras`` zips (``config.json``) and legacy HDF5 ``.h5`` files (``model_config`` attribute).

Loading a Keras model deserializes its config, and three things in it can run code:
* ``Lambda`` layers carry a Python function as marshalled bytecode (``__lambda__`` / ``func_dump``,
  base64) that ``marshal.loads`` + ``FunctionType`` turn into a live function (tf.keras loads it without
  any safe mode; Keras 3 only refuses it in ``safe_mode``);
* function references ``{"module": ..., "class_name": "function", "config": name}`` make the loader
  import ``module`` and fetch ``name`` — ``os.system`` is one such reference (CVE-2025-1550);
* custom objects (``module`` outside Keras, ``registered_name`` ``package>Class``) import third-party code.
We never unmarshal the bytecode: the printable names inside it are shown as evidence.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zipfile
from typing import Any

from opentrust.scan.archive import ARCHIVE_ERRORS
from opentrust.scan.base import Rule, ScanContext, Severity, Source

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_CONFIG = 64 * 1024 * 1024
MAX_JSON_DEPTH = 200
_KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}
KERAS_MODULES = ("keras", "tf_keras", "tensorflow", "keras_hub", "keras_nlp", "keras_cv", "tensorflow_hub")
#: modules / names whose reference alone means command execution, file or network access
DANGEROUS_MODULES = {"os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "shutil", "socket",
                     "pty", "runpy", "importlib", "ctypes", "pickle", "marshal", "code", "codeop", "timeit",
                     "webbrowser", "urllib", "requests", "http", "ftplib", "telnetlib", "smtplib", "asyncio",
                     "multiprocessing", "pdb", "cProfile", "profile", "trace", "pip", "io", "tempfile",
                     "pathlib", "glob"}
DANGEROUS_NAMES = {"system", "popen", "exec", "eval", "execfile", "compile", "__import__", "open", "getattr",
                   "setattr", "spawn", "fork", "remove", "unlink", "rmtree", "call", "run", "check_output",
                   "check_call", "Popen", "loads", "load", "socket", "connect", "urlopen", "get", "post",
                   "input", "breakpoint", "import_module", "execv", "execve", "execl", "execvp", "spawnv",
                   "startfile", "write_text", "write_bytes"}
_BYTECODE_DANGER = re.compile(rb"\b(os|posix|subprocess|system|popen|exec|eval|compile|__import__|__builtins__|"
                              rb"socket|urllib|requests|open|getattr|importlib|ctypes|shutil|pty)\b")
_PRINTABLE = re.compile(rb"[A-Za-z_./:\-][A-Za-z0-9_./:\- ]{2,}")

_help = ("Load only with safe_mode=True (Keras 3) or not at all; ask the publisher for a model without Lambda "
         "layers or custom code, or review that code first.")
R_LAMBDA = Rule("KERAS-LAMBDA", "KerasLambda", Severity.high, "Keras Lambda layer carries Python bytecode",
                "A Lambda layer (or __lambda__ object) stores a marshalled Python function that runs when the "
                "model is loaded or called. " + _help)
R_FUNCTION_REF = Rule("KERAS-DANGEROUS-REFERENCE", "KerasDangerousReference", Severity.critical,
                      "Keras config references a dangerous Python function",
                      "The loader imports the module and fetches the function named in the config "
                      "(e.g. os.system), a known safe_mode bypass (CVE-2025-1550). " + _help)
R_CUSTOM = Rule("KERAS-CUSTOM-OBJECT", "KerasCustomObject", Severity.medium,
                "Keras config needs code from outside Keras",
                "Loading imports a module outside Keras (custom layer, loss or function). Unknown code is "
                "not malicious, but it runs with your privileges; review it. " + _help)
R_MALFORMED = Rule("KERAS-MALFORMED", "KerasMalformed", Severity.medium, "Keras file cannot be read",
                   "The config is not valid JSON or the container is damaged; Keras cannot load it either, "
                   "and a damaged container may be crafted to confuse scanners. Re-export the model.")
R_H5_CRASH = Rule("KERAS-H5-CRASH", "KerasH5Crash", Severity.high, "HDF5 library crashed on the file",
                  "libhdf5 crashed or hung reading this file's attributes (in an isolated worker): loading "
                  "it in a real process is a memory-safety risk. Do not load it.")

RULES = [R_LAMBDA, R_FUNCTION_REF, R_CUSTOM, R_MALFORMED, R_H5_CRASH]


def is_keras_zip(names: list[str]) -> bool:
    """Zip classification helper: a Keras v3 archive stores config.json and metadata.json at its root."""
    s = set(names)
    return "config.json" in s and ("metadata.json" in s or "model.weights.h5" in s)


claims_zip = is_keras_zip  # the dispatcher's zip-routing hook


def sniff(head: bytes, size: int) -> bool:
    """Legacy HDF5 (magic at 0), or a zip whose first member is a Keras v3 archive member."""
    if head.startswith(HDF5_MAGIC):
        return True
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        n = int.from_bytes(head[26:28], "little")
        return head[30 : 30 + n].decode("utf-8", errors="replace") in _KERAS_MEMBERS
    return False


def scan(source: Source, ctx: ScanContext) -> None:
    head = source.read(0, 8)
    if head.startswith(HDF5_MAGIC):
        _scan_h5(source, ctx)
    else:
        _scan_zip(source, ctx)


def _scan_zip(source: Source, ctx: ScanContext) -> None:
    try:
        with source.open() as fh, zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            cfg = next((i for i in infos if i.filename == "config.json"), None)
            if cfg is None:
                ctx.report(R_MALFORMED, source, "no config.json in the archive")
            elif cfg.file_size > MAX_CONFIG:
                ctx.report(R_MALFORMED, source, f"config.json declares {cfg.file_size} bytes", key="config.json")
            else:
                with zf.open(cfg) as member:
                    raw = member.read(MAX_CONFIG + 1)
                ctx.bytes_examined += len(raw)
                analyse_config_text(raw.decode("utf-8", errors="replace"), source, ctx, key="config.json")
            # Anything else in the archive (extra pickles, code) is scanned with full dispatch.
            for info in infos:
                if info.filename in _KERAS_MEMBERS or info.filename.endswith("/"):
                    continue
                _nested_member(zf, info, source, ctx)
    except ARCHIVE_ERRORS as exc:
        ctx.report(R_MALFORMED, source, f"damaged zip: {type(exc).__name__}: {exc}")


def _nested_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: Source, ctx: ScanContext) -> None:
    from opentrust.scan.archive import scan_nested

    if ctx.scan_nested is None:
        return
    limit = min(ctx.max_total_bytes - ctx.bytes_examined, 256 * 1024 * 1024)
    if info.file_size > limit:
        return
    ctx.check_budget()
    with zf.open(info) as member:
        data = member.read(limit + 1)
    scan_nested(ctx, source, f"{source.display}!{info.filename}", data[:limit])


def _scan_h5(source: Source, ctx: ScanContext) -> None:
    import time

    from opentrust.scan.h5_attrs import H5Crash, read_root_attrs

    timeout = max(1.0, min(30.0, ctx.deadline - time.monotonic()))
    try:
        if source.path is not None:
            resp = read_root_attrs(path=str(source.path), timeout=timeout)
        else:
            resp = read_root_attrs(data=source.data, timeout=timeout)
    except H5Crash as exc:
        ctx.report(R_H5_CRASH, source, str(exc))
        return
    if "error" in resp:
        ctx.report(R_MALFORMED, source, f"HDF5 file not readable: {resp['error']}")
        return
    attrs = resp.get("attrs", {})
    for key in ("model_config", "training_config"):
        value = attrs.get(key)
        if isinstance(value, str):
            analyse_config_text(value, source, ctx, key=key)


def analyse_config_text(text: str, source: Source, ctx: ScanContext, key: str) -> None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        ctx.report(R_MALFORMED, source, f"{key} is not JSON: {exc}"[:300], key=key, evidence=text[:200])
        return
    analyse_config(doc, source, ctx, key)


def analyse_config(doc: Any, source: Source, ctx: ScanContext, key: str) -> None:
    """Walk a Keras config (any version) for Lambda bytecode, function references and custom objects."""
    reported: set[tuple[str, str]] = set()

    def report(rule: Rule, message: str, pointer: str, evidence: str = "",
               severity: Severity | None = None) -> None:
        if (rule.id, message) not in reported:
            reported.add((rule.id, message))
            ctx.report(rule, source, message, key=f"{key}{pointer}", evidence=evidence, severity=severity)

    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    visited = 0
    while stack:
        node, pointer, depth = stack.pop()
        visited += 1
        if visited % 2048 == 0:
            ctx.check_budget()
        if depth > MAX_JSON_DEPTH:
            report(R_MALFORMED, f"config nests deeper than {MAX_JSON_DEPTH} levels", pointer)
            continue
        if isinstance(node, list):
            stack.extend((v, f"{pointer}/{i}", depth + 1) for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        _inspect_object(node, pointer, report)
        stack.extend((v, f"{pointer}/{k}", depth + 1) for k, v in node.items())


def _inspect_object(node: dict[str, Any], pointer: str, report: Any) -> None:
    class_name = node.get("class_name")
    config = node.get("config")
    module = node.get("module")
    if class_name == "Lambda" and isinstance(config, dict):
        for field in ("function", "output_shape", "mask"):
            value = config.get(field)
            code = _lambda_code(value, config.get(f"{field}_type") if field != "function" else
                                config.get("function_type"))
            if code is not None:
                _report_bytecode(code, f"Lambda layer {config.get('name', '?')!r} {field}",
                                 f"{pointer}/config/{field}", report)
            elif isinstance(value, str) and config.get("function_type") == "function" and field == "function":
                _report_reference(str(config.get("module") or ""), value, f"{pointer}/config/{field}", report)
    if class_name == "__lambda__" and isinstance(config, dict):
        code = config.get("code")
        if code is None and isinstance(config.get("value"), list) and config["value"]:
            code = config["value"][0]
        if isinstance(code, str):
            _report_bytecode(code, "__lambda__ object", pointer, report)
    if class_name == "function" and isinstance(module, str) and isinstance(config, str):
        _report_reference(module, config, pointer, report)
    elif isinstance(module, str) and isinstance(class_name, str) and class_name != "__lambda__":
        registered = node.get("registered_name")
        top = module.split(".")[0]
        if top in DANGEROUS_MODULES:
            report(R_FUNCTION_REF, f"object {module}.{class_name} from a dangerous module", pointer,
                   f"module={module} class_name={class_name}")
        elif top not in KERAS_MODULES or (isinstance(registered, str) and ">" in registered):
            report(R_CUSTOM, f"custom object {class_name!r} from module {module!r}", pointer,
                   f"module={module} class_name={class_name} registered_name={registered}")


def _lambda_code(value: Any, function_type: Any) -> str | None:
    """The base64 bytecode of a serialized lambda, in its Keras 3 or tf.keras form."""
    if isinstance(value, dict) and value.get("class_name") == "__lambda__":
        return None  # reported when the walk reaches the __lambda__ object itself
    if isinstance(value, list) and value and isinstance(value[0], str) and function_type in ("lambda", None):
        return value[0]
    if isinstance(value, str) and function_type == "lambda":
        return value
    return None


def _report_bytecode(code_b64: str, what: str, pointer: str, report: Any) -> None:
    try:
        raw = base64.b64decode(code_b64[: 8 * 1024 * 1024], validate=False)
    except (binascii.Error, ValueError):
        raw = code_b64.encode(errors="replace")
    names = [m.decode() for m in _PRINTABLE.findall(raw)][:60]
    danger = sorted({m.decode() for m in _BYTECODE_DANGER.findall(raw)})
    evidence = "names in bytecode: " + ", ".join(names)
    if danger:
        report(R_LAMBDA, f"{what} runs bytecode using {', '.join(danger)}", pointer, evidence, Severity.critical)
    else:
        report(R_LAMBDA, f"{what} runs marshalled bytecode", pointer, evidence)


def _report_reference(module: str, name: str, pointer: str, report: Any) -> None:
    top = module.split(".")[0]
    if top in DANGEROUS_MODULES or name in DANGEROUS_NAMES and top not in KERAS_MODULES:
        report(R_FUNCTION_REF, f"function reference {module}.{name}", pointer, f"module={module} config={name}")
    elif top not in KERAS_MODULES:
        report(R_CUSTOM, f"function {name!r} from module {module!r}", pointer, f"module={module} config={name}")


def is_hdf5(head: bytes) -> bool:
    return head.startswith(HDF5_MAGIC)

