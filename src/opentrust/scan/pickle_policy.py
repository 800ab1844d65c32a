"""Which imports a pickle may make: safe (allow-listed per ecosystem), dangerous, or unknown.

Data first, then a few lines of logic. A name that is neither allow-listed nor known to be dangerous is
"unknown" and reported at medium: unknown is not malicious, but nothing vouches for it. Dangerous
names are reported where a REDUCE/NEWOBJ/BUILD actually invokes them (see ``opentrust.scan.pickles``),
with the resolved arguments as evidence.
"""

from __future__ import annotations

import re
from typing import Literal

Verdict = Literal["safe", "dangerous", "unknown"]

# Modules that are other names for the same thing (pickle resolves them the same way).
ALIASES = {
    "__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg", "posix": "os", "nt": "os",
    "_posixsubprocess": "subprocess", "commands": "subprocess", "popen2": "subprocess", "cPickle": "pickle",
    "_pickle": "pickle", "posixpath": "os.path", "ntpath": "os.path", "_io": "io", "_socket": "socket",
    "_thread": "threading", "thread": "threading", "_ctypes": "ctypes", "_asyncio": "asyncio",
    "_operator": "operator", "_functools": "functools", "_codecs": "codecs", "dill._dill": "dill",
    "numpy.core.multiarray": "numpy._core.multiarray", "numpy.core.numeric": "numpy._core.numeric",
    "numpy.core": "numpy._core", "_sqlite3": "sqlite3", "_winapi": "subprocess", "_signal": "signal",
    "_pydecimal": "decimal", "_datetime": "datetime", "_collections": "collections",
}

# Every name in these modules (and their submodules) runs code, touches processes, files, the network or
# the import machinery, or loads more pickles.
DANGEROUS_MODULES = frozenset({
    "os", "subprocess", "sys", "socket", "socketserver", "ssl", "shutil", "importlib", "runpy", "code",
    "codeop", "pdb", "bdb", "trace", "timeit", "cProfile", "profile", "pstats", "ctypes", "pip", "webbrowser",
    "asyncio", "multiprocessing", "concurrent", "threading", "signal", "pty", "tty", "tempfile", "fileinput",
    "glob", "urllib", "urllib2", "urllib3", "http", "httplib", "ftplib", "smtplib", "telnetlib", "poplib",
    "imaplib", "nntplib", "xmlrpc", "requests", "httpx", "aiohttp", "marshal", "types", "pickle", "dill",
    "cloudpickle", "shelve", "dbm", "zipimport", "pkgutil", "imp", "site", "gc", "inspect", "distutils",
    "setuptools", "venv", "ensurepip", "idlelib", "tkinter", "antigravity", "compileall", "py_compile",
    "zipfile", "tarfile", "mmap", "resource", "syslog", "atexit", "pydoc", "sqlite3", "logging", "builtins",
    "platform", "uuid_popen", "select", "selectors", "faulthandler", "sysconfig", "ast", "dis", "opcode",
    "sympy", "yaml", "jinja2", "mako", "IPython", "ipykernel", "jupyter_client", "paramiko", "fabric",
    "pexpect", "sh", "plumbum", "torch.hub", "torch.jit", "torch.package", "torch.utils.cpp_extension",
    "torch._C", "torch.ops", "torch.classes", "torch.cuda", "torch.distributed", "torch.multiprocessing",
    "torch.serialization", "torch.storage", "numpy.testing", "numpy.f2py", "numpy.distutils",
    "numpy.ctypeslib", "numpy.lib.npyio", "numpy.lib.format", "pandas.io", "keras", "tensorflow",
    "transformers.dynamic_module_utils", "huggingface_hub", "bz2file", "smart_open", "fsspec", "s3fs",
    "boto3", "botocore", "google.cloud", "operator", "functools", "io", "os.path", "pathlib", "nturl2path",
    "email", "mailbox", "wsgiref", "cgi", "cgitb", "crypt", "spwd", "pwd", "grp", "sched",
})

# Names that are dangerous although their module is not.
DANGEROUS_NAMES = frozenset({
    "numpy.load", "numpy.loads", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt",
    "numpy.loadtxt", "numpy.fromfile", "numpy.genfromtxt", "numpy.fromregex", "numpy.memmap", "numpy.tofile",
    "numpy.DataSource", "torch.load", "torch.save", "torch.compile", "joblib.load", "joblib.dump",
    "pandas.read_pickle", "pandas.eval", "pandas.read_csv", "pandas.read_sql", "pandas.to_pickle",
    "numpy._core.multiarray._vec_string",
})

#: functions that return ``module.name`` given the two as strings: numpy pickles every ufunc as
#: ``_ufunc_reconstruct('numpy', 'log1p')``. Allow-listed, but the scanner judges what they resolve to
#: (``_ufunc_reconstruct('os', 'system')`` is os.system) — see ``pickles._resolved_global``.
RESOLVERS = frozenset({"numpy._core._ufunc_reconstruct", "numpy.core._ufunc_reconstruct"})

# Safe exceptions inside dangerous modules: pure data constructors and pure decoders.
SAFE_NAMES = frozenset({
    # builtins: containers and scalars only
    *(f"builtins.{n}" for n in (
        "dict", "list", "tuple", "set", "frozenset", "bytearray", "bytes", "str", "int", "float", "complex",
        "bool", "slice", "range", "object", "NoneType", "Ellipsis", "NotImplemented", "True", "False", "None")),
    "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "collections.OrderedDict", "collections.defaultdict", "collections.deque", "collections.Counter",
    "collections.ChainMap",
    "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
    "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "re._compile", "enum.Enum",
    "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath", "io.BytesIO", "io.StringIO", "functools.partial",
    # pure decoders (evaluated symbolically on constant arguments by the scanner)
    "codecs.encode", "codecs.decode", "base64.b64decode", "base64.standard_b64decode",
    "base64.urlsafe_b64decode", "base64.b32decode", "base64.b16decode", "base64.b85decode",
    "base64.a85decode", "base64.decodebytes", "binascii.a2b_base64", "binascii.a2b_hex", "binascii.unhexlify",
    "zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress",
    # numpy reconstruction
    "numpy.ndarray", "numpy.dtype", "numpy._core.multiarray._reconstruct", "numpy._core.multiarray.scalar",
    "numpy._core.numeric._frombuffer", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor", "numpy.random.__RandomState_ctor",
    "numpy.matrix", "numpy.recarray", "numpy.record", "numpy.bool_",
    # torch rebuild helpers (the same set torch's weights_only unpickler accepts)
    *(f"torch._utils.{n}" for n in (
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
        "_rebuild_nested_tensor", "_rebuild_device_tensor_from_numpy", "_rebuild_meta_tensor_no_storage",
        "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_cpu_tensor")),
    "torch._tensor._rebuild_from_type_v2", "torch.Size", "torch.device", "torch.Tensor",
    "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer", "torch.serialization._get_layout",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.storage._StorageBase",
    "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.per_tensor_affine",
    "torch.per_channel_affine", "torch.contiguous_format", "torch.channels_last", "torch.preserve_format",
    "torch._utils._type", "torch.nn.modules.container.ModuleDict", "torch.utils.hooks._remove_from",
    # TorchScript archives: constants and debug info are rebuilt by these pure list/type builders
    *(f"torch.jit._pickle.{n}" for n in (
        "build_intlist", "build_doublelist", "build_boollist", "build_tensorlist", "build_tensor_from_id",
        "restore_type_tag")),
    *RESOLVERS,
    # scikit-learn's KD/Ball trees and distance metrics are rebuilt by a Cython helper that only calls
    # cls.__new__(cls) (it moved between releases)
    "sklearn.neighbors._kd_tree.newObj", "sklearn.neighbors._ball_tree.newObj",
    "sklearn.neighbors._binary_tree.newObj", "sklearn.metrics._dist_metrics.newObj",
    # joblib's array wrappers (their arrays follow the wrapper in the stream; see pickle_vm)
    "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
})

#: calls that load another pickle from their (constant) argument: the scanner decodes and scans it
NESTED_LOADERS = frozenset({
    "pickle.loads", "pickle._loads", "dill.loads", "cloudpickle.loads", "numpy.loads", "joblib.load",
    "torch.load", "torch.storage._load_from_bytes", "pandas.read_pickle", "pickle.load", "pickle._load",
    "dill.load", "cloudpickle.load",
})

#: decoders the scanner may evaluate on constants (never through the real module: see pickles.evaluate)
DECODERS = frozenset(n for n in SAFE_NAMES if n.split(".")[0] in (
    "codecs", "base64", "binascii", "zlib", "gzip", "bz2", "lzma")) | {"builtins.bytes", "builtins.bytearray",
                                                                        "io.BytesIO"}

#: wrappers whose first argument is what eventually gets called
CALL_WRAPPERS = frozenset({"functools.partial", "functools.partialmethod", "functools.reduce",
                           "builtins.map", "builtins.filter", "itertools.starmap"})

_TORCH_DTYPES = frozenset({
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32", "complex64",
    "complex128", "cfloat", "cdouble", "uint8", "int8", "int16", "short", "int32", "int", "int64", "long",
    "bool", "qint8", "quint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "uint16", "uint32", "uint64", "bits8", "bits16",
})
_SCIPY_SPARSE = re.compile(r"^(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)$")
#: ecosystems whose classes (CapWords names) are data containers rebuilt by __new__ + __setstate__
_CLASS_ECOSYSTEMS = ("sklearn.", "scipy.", "torch.nn.modules.", "xgboost.", "lightgbm.", "numpy.random.",
                     "numpy.dtypes", "numpy._core.multiarray", "numpy.core.", "catboost.", "statsmodels.",
                     "torch.optim.", "torch.utils.data.dataset", "numpy.ma.")


def normalize(module: str, name: str) -> tuple[str, str]:
    """Resolve module aliases and dotted names (protocol 4 STACK_GLOBAL allows ``name='path.join'``)."""
    module = module.strip()
    for alias, real in ALIASES.items():
        if module == alias or module.startswith(alias + "."):
            module = real + module[len(alias):]
            break
    return module, name.strip()


def _in_module(module: str, roots: frozenset[str]) -> str | None:
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in roots:
            return candidate
    return None


def classify(module: str, name: str) -> tuple[Verdict, str]:
    """(verdict, reason) for the import ``module.name`` as a pickle would resolve it."""
    module, name = normalize(module, name)
    qual = f"{module}.{name}"
    first = name.split(".")[0]
    if "." in name:
        # getattr chains: `os` + `path.join`, `builtins` + `getattr.__self__` ... judge the first hop too
        verdict, reason = classify(module, first)
        if verdict != "safe":
            return verdict, reason
    if qual in SAFE_NAMES:
        return "safe", "allow-listed"
    if qual in DANGEROUS_NAMES or f"{module}.{first}" in DANGEROUS_NAMES:
        return "dangerous", f"{qual} reads/writes files or loads pickles"
    if name.startswith("__") and name.endswith("__") and name not in ("__newobj__", "__newobj_ex__"):
        return "dangerous", f"dunder attribute {name} reaches interpreter internals"
    if module == "builtins":
        if name in ("eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "open",
                    "globals", "locals", "vars", "input", "breakpoint", "execfile", "apply", "help",
                    "memoryview", "exit", "quit", "type", "super", "classmethod", "staticmethod", "property"):
            return "dangerous", f"builtins.{name} executes code or reaches arbitrary objects"
        return "unknown", "builtin outside the container allow-list"
    root = _in_module(module, DANGEROUS_MODULES)
    if root is not None:
        if root == "operator" and name not in ("methodcaller", "attrgetter", "itemgetter", "call"):
            return "unknown", "operator function"
        if root == "functools" and name not in CALL_WRAPPERS:
            return "unknown", "functools helper"
        return "dangerous", f"module {root} runs code, processes, files, network or imports"
    if module == "__torch__" or module.startswith("__torch__."):
        # TorchScript classes: defined by the archive's own code/ members (analysed by the torch scanner),
        # resolved by torch.jit.load from that code, never imported from Python
        return "safe", "TorchScript class compiled from the archive's code"
    if module == "torch":
        if name in _TORCH_DTYPES or name.endswith("Storage"):
            return "safe", "torch dtype or storage"
        return "unknown", "torch function outside the rebuild allow-list"
    if module.startswith("numpy"):
        if module in ("numpy", "numpy.dtypes", "numpy._core.multiarray") and (name[:1].isupper() or name.endswith("_")
                                                                            or name.rstrip("0123456789") in (
                "float", "int", "uint", "complex", "bool", "str", "bytes", "object", "datetime", "timedelta",
                "half", "single", "double", "longdouble", "longlong", "ulonglong", "intc", "uintc", "short",
                "ushort", "byte", "ubyte", "csingle", "cdouble", "clongdouble", "void", "intp", "uintp")):
            return "safe", "numpy scalar or dtype class"
    if module.startswith(_CLASS_ECOSYSTEMS) or module in ("numpy.random", "numpy.ma"):
        # (what they run on load — __new__, __setstate__ — is still checked against the derived sink table)
        if first.lstrip("_")[:1].isupper() or _SCIPY_SPARSE.match(first) or first.startswith("__pyx_unpickle_"):
            return "safe", "class of a known ML ecosystem (rebuilt from data)"
    return "unknown", "not on any allow-list"


def looks_like_function(name: str) -> bool:
    """Whether a global a pickle calls is, by Python's naming conventions, a function or method rather
    than a class: ``run``, ``Profile.run``, ``_get_command_stdout`` vs ``OrderedDict``, ``Linear``.

    Used only where no analysis of the module's source exists (not installed, C extension): calling a plain
    function at load time is rare in data files, while rebuilding a class is what they do. Cython's
    ``__pyx_unpickle_<Class>`` helpers rebuild a class and count as one.
    """
    last = name.rsplit(".", 1)[-1]
    if last.startswith("__pyx_unpickle_"):
        return False
    return not last.lstrip("_")[:1].isupper()
