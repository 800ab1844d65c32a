"""The derived sink table: dangerous callables found by static call-graph analysis of library source."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.scan import callgraph, sink_table
from opentrust.scan.dispatch import scan_bytes
from payloads import _Reduce, _g, _s, py_code

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module,name,sink", [
    ("doctest", "debug_script", "builtins.exec"),
    ("pydoc", "locate", "builtins.__import__"),
    ("timeit", "timeit", "builtins.exec"),
    ("bdb", "Bdb.run", "builtins.exec"),
    ("pdb", "Pdb.run", "builtins.exec"),  # inherited from bdb.Bdb
    ("code", "InteractiveInterpreter.runsource", "builtins.exec"),
    ("uuid", "_get_command_stdout", "subprocess.Popen"),
    ("_osx_support", "_read_output", "os.system"),
    ("lib2to3.pgen2.grammar", "Grammar.loads", "pickle.loads"),
    ("test.support.script_helper", "assert_python_ok", "subprocess.Popen"),
    ("logging", "FileHandler", "builtins.open"),
    ("torch.utils.collect_env", "run", "subprocess.Popen"),
    ("torch.utils._config_module", "ConfigModule.load_config", "pickle.loads"),
    ("torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression", "builtins.eval"),
])
def test_known_sinks_are_derived(module: str, name: str, sink: str) -> None:
    found = sink_table.lookup(module, name, derive=False)
    assert found.status == "dangerous", found
    assert found.chain[0] == f"{module}.{name}" and found.chain[-1] == sink, found.chain


@pytest.mark.parametrize("module,name", [
    ("collections", "OrderedDict"), ("copyreg", "_reconstructor"), ("datetime", "datetime"),
    ("decimal", "Decimal"), ("fractions", "Fraction"), ("enum", "Enum"),
    ("torch.nn.modules.module", "Module.__setstate__"), ("torch.nn.modules.linear", "Linear.__setstate__"),
    ("torch.nn.modules.module", "Module.__getattr__"), ("torch.optim.adamw", "AdamW.__setstate__"),
    ("torch.optim.lr_scheduler", "StepLR.__setstate__"),
    ("sklearn.base", "BaseEstimator.__setstate__"), ("sklearn.preprocessing._data", "StandardScaler.__setstate__"),
    ("sklearn.pipeline", "Pipeline.__setstate__"), ("scipy.sparse._csr", "csr_matrix"),
])
def test_common_benign_ml_globals_are_not(module: str, name: str) -> None:
    assert sink_table.lookup(module, name, derive=False).status != "dangerous"


def test_table_records_what_it_was_derived_from() -> None:
    t = sink_table.table()
    assert t.python.count(".") == 2 and {"torch", "numpy", "sklearn"} <= set(t.libraries)
    assert "builtins.exec" in t.sinks and len(t.chunk_names) > 100


def test_pydoc_locate_followed_by_a_call_is_critical(tmp_path: Path) -> None:
    cmd = f"touch {tmp_path / 'marker'}"
    data = b"\x80\x02" + _g("pydoc", "locate") + _s("os.system") + b"\x85R" + _s(cmd) + b"\x85R."
    r = scan_bytes(data)
    assert [f.severity for f in r.findings if f.rule_id == "PICKLE-DANGEROUS-CALL"][0] == Severity.critical


def test_generator_is_deterministic_and_derives_from_source(tmp_path: Path) -> None:
    """scripts/gen_sink_table.py on a small synthetic library: same bytes twice, chains through helpers,
    methods, instances and re-exports."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_sink_table as gen
    finally:
        sys.path.remove(str(REPO / "scripts"))
    lib = tmp_path / "site"
    pkg = lib / "mylib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .helpers import run_it as exported\n")
    (pkg / "helpers.py").write_text(
        "import subprocess as sp\n"
        "def _spawn(cmd):\n    return sp.Popen(cmd, shell=True)\n"
        "def run_it(cmd):\n    return _spawn(cmd)\n"
        "def constant_only():\n    return sp.check_output(['uname'])\n"
        "class Runner:\n    def __init__(self, code):\n        self.code = code\n"
        "    def go(self):\n        exec(self.code)\n"
        "def via_instance(code):\n    r = Runner(code)\n    r.go()\n"
        "def reads(path):\n    with open(path) as fh:\n        return fh.read()\n"
        "def writes(path, text):\n    with open(path, 'w') as fh:\n        fh.write(text)\n")
    (lib / "mylib-1.0.dist-info").mkdir()
    stdlib = tmp_path / "stdlib"
    stdlib.mkdir()
    docs = [gen.dump(gen.generate(stdlib, [lib], ["mylib"], quiet=True)) for _ in range(2)]
    assert docs[0] == docs[1]
    out = tmp_path / "sinks.zip"
    out.write_bytes(docs[0])
    old = sink_table._table
    sink_table._table = None
    try:
        t = sink_table.table(out)
        assert t.libraries == {"mylib": "1.0"}
        d = t.entry("mylib.helpers")["d"]
        assert d["run_it"] == "mylib.helpers._spawn" and d["_spawn"] == "subprocess.Popen"
        assert "Runner.go" in d and "via_instance" in d and "writes" in d
        assert "constant_only" not in d and "reads" not in d  # literal arguments, read-only open
        assert t.entry("mylib")["d"]["exported"] == "mylib.helpers.run_it"
    finally:
        sink_table._table = old


def test_module_missing_from_the_table_is_derived_on_first_use(tmp_path: Path, monkeypatch) -> None:
    """A library the shipped table lacks is analysed from the source the interpreter would import."""
    (tmp_path / "fresh_lib.py").write_text("import os\ndef helper(c):\n    os.system(c)\n"
                                           "def entry(c):\n    return helper(c)\ndef harmless(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sink_table, "_derived", {})
    found = sink_table.lookup("fresh_lib", "entry")
    assert found.status == "dangerous" and found.chain == ("fresh_lib.entry", "fresh_lib.helper", "os.system")
    assert "derived on first use" in found.source
    assert sink_table.lookup("fresh_lib", "harmless").status == "known"
    data = b"\x80\x04" + _s("fresh_lib") + _s("entry") + b"\x93" + _s("id") + b"\x85R."
    calls = [f for f in scan_bytes(data).findings if f.rule_id == "PICKLE-DANGEROUS-CALL"]
    assert calls and "fresh_lib.helper" in calls[0].message


def test_scanner_works_without_the_table(tmp_path: Path, monkeypatch) -> None:
    """With no table at all, stdlib modules are derived on first use and the rest fall back to the
    unknown-function rule: doctest.debug_script is still blocked."""
    monkeypatch.setattr(sink_table, "_table", sink_table._Table(tmp_path / "missing.zip"))
    monkeypatch.setattr(sink_table, "_derived", {})
    import doctest

    r = scan_bytes(pickle.dumps(_Reduce(doctest.debug_script, (py_code(tmp_path / "m"), True)), protocol=4))
    assert any(f.rule_id == "PICKLE-DANGEROUS-CALL" and "builtins.exec" in f.message for f in r.findings)
    unknown = b"\x80\x04" + _s("not_installed_lib.sub") + _s("run_cmd") + b"\x93" + _s("id") + b"\x85R."
    r = scan_bytes(unknown)
    assert {(f.rule_id, f.severity) for f in r.findings} == {("PICKLE-UNKNOWN-CALL", Severity.high)}


def test_unknown_class_stays_medium_unknown_function_is_high() -> None:
    cls = b"\x80\x04" + _s("somelib.models") + _s("TinyNet") + b"\x93)R."
    fn = b"\x80\x04" + _s("somelib.models") + _s("build_net") + b"\x93)R."
    meth = b"\x80\x04" + _s("somelib.models") + _s("TinyNet.load") + b"\x93)R."
    assert {f.severity for f in scan_bytes(cls).findings} == {Severity.medium}
    assert {f.severity for f in scan_bytes(fn).findings} == {Severity.high}
    assert {f.severity for f in scan_bytes(meth).findings} == {Severity.high}


def test_callgraph_never_imports_what_it_analyses(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "boom.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n"
                                      "import os\ndef f(c):\n    os.system(c)\n")
    monkeypatch.setattr(sink_table, "_derived", {})
    graph = callgraph.CallGraph(callgraph.SourceFinder([str(tmp_path)]))
    entries, _ = callgraph.table_for(graph, ["boom"])
    assert entries["boom"]["d"] == {"f": "os.system"}
    assert "boom" not in sys.modules and not (tmp_path / "imported").exists()
