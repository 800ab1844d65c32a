"""auto_map remote code and Python files: parsed with ast, never imported, wherever they appear."""

from __future__ import annotations

import json
from pathlib import Path

from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_paths
from tests.scan import fixtures_formats as F


def _scan(root: Path) -> list[tuple[str, str, Severity, str]]:
    result = scan_paths([root])
    return [(Path(f.location.path or "").name, f.rule_id, f.severity, f.message) for f in result.findings]


def test_malicious_remote_code(tmp_path: Path) -> None:
    found = _scan(F.make_hf_remote_code_malicious(tmp_path))
    assert ("config.json", "REMOTE-CODE-AUTO-MAP", Severity.low) in [x[:3] for x in found]
    # the relatively-imported helper is followed and its import-time subprocess call is critical
    assert ("utils_evil.py", "REMOTE-CODE-EXEC", Severity.critical) in [x[:3] for x in found]
    assert any(f == "modeling_evil.py" and r == "REMOTE-CODE-EXEC" and s == Severity.high and "os.system" in m
               for f, r, s, m in found)
    assert ("utils_evil.py", "REMOTE-CODE-RISKY-IMPORT", Severity.medium) in [x[:3] for x in found]
    assert not F.marker_path(tmp_path).exists()


def test_benign_remote_code_is_low_only(tmp_path: Path) -> None:
    found = _scan(F.make_hf_remote_code_benign(tmp_path))
    assert [x[:3] for x in found] == [("config.json", "REMOTE-CODE-AUTO-MAP", Severity.low)]


def test_missing_external_and_traversal_references(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"auto_map": {
        "AutoModel": "modeling_gone.GoneModel", "AutoTokenizer": ["other/repo--tok.T", None],
        "AutoConfig": "...etc.passwd"}}))
    rules = [r for _, r, _, _ in _scan(root)]
    assert rules.count("REMOTE-CODE-MISSING-FILE") == 2 and "REMOTE-CODE-EXTERNAL-REPO" in rules


def test_aliases_dunder_import_and_main_guard(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "m.M"}}))
    (root / "m.py").write_text(
        "import subprocess as sp\nfrom os import system as s\n"
        "x = __import__('socket')\n"
        "def f():\n    sp.Popen(['id'])\n    s('id')\n"
        "if __name__ == '__main__':\n    s('only when run as a script')\n"
        "class M:\n    data = sp.check_output(['uname'])\n")
    found = [(r, s, m) for _, r, s, m in _scan(root) if r == "REMOTE-CODE-EXEC"]
    messages = " | ".join(m for _, _, m in found)
    assert "subprocess.Popen" in messages and "os.system" in messages and "__import__" in messages
    assert "line 8" not in messages  # the __main__ block never runs on import
    assert ("REMOTE-CODE-EXEC", Severity.critical) in [(r, s) for r, s, m in found if "check_output" in m]


def test_unparsable_code(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "m.M"}}))
    (root / "m.py").write_text("def broken(:\n")
    assert "REMOTE-CODE-UNPARSABLE" in [r for _, r, _, _ in _scan(root)]
