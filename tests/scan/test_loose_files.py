"""Files scanned on their own, wherever they are: configs whose auto_map reaches another repository, loose
Python files, and paths that are not regular files (FIFOs, devices, links), which are never read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opentrust.findings import Severity
from opentrust.scan.dispatch import scan_paths
from tests.conftest import run_cli


def _findings(path: Path, fail_on: str = "none") -> tuple[int, list[dict]]:
    r = run_cli("scan", str(path), "--format", "json", "--fail-on", fail_on)
    return r.returncode, json.loads(r.stdout)["findings"]


def test_auto_map_to_another_repository_is_high_naming_it(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "x", "auto_map": {
        "AutoModel": "other-user/other-repo--modeling_x.Model"}}))
    r = run_cli("scan", str(cfg), "--format", "json")
    assert r.returncode == 1, r.stderr
    ext = [f for f in json.loads(r.stdout)["findings"] if f["rule_id"] == "REMOTE-CODE-EXTERNAL-REPO"]
    assert ext and ext[0]["severity"] == "high" and "other-user/other-repo" in ext[0]["message"]
    assert ext[0]["properties"]["repository"] == "other-user/other-repo"


def test_config_given_alone_follows_its_code(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["M"], "auto_map": {"AutoModel": "mod.M"}}))
    (tmp_path / "mod.py").write_text("import subprocess\nsubprocess.run(['id'])\nclass M:\n    pass\n")
    code, found = _findings(tmp_path / "config.json")
    assert ("REMOTE-CODE-EXEC", "critical") in {(f["rule_id"], f["severity"]) for f in found}
    assert any(f["path"].endswith("mod.py") for f in found)


def test_folder_scan_reports_each_code_finding_once(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["M"], "auto_map": {"AutoModel": "mod.M"}}))
    (tmp_path / "mod.py").write_text("import subprocess\nsubprocess.run(['id'])\nclass M:\n    pass\n")
    found = scan_paths([tmp_path]).findings
    execs = [f for f in found if f.rule_id == "REMOTE-CODE-EXEC"]
    assert len(execs) == 1 and execs[0].severity == Severity.critical


def _evil_module(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "marker"
    path = tmp_path / "modeling_evil.py"
    path.write_text(f"import os\n\nos.system('touch {marker}')\n\n\nclass EvilModel:\n    pass\n")
    return path, marker


def test_loose_python_file_is_analysed(tmp_path: Path) -> None:
    path, marker = _evil_module(tmp_path)
    r = run_cli("scan", str(path), "--format", "json")
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["files"][0]["format"] == "python"
    assert ("REMOTE-CODE-EXEC", "critical") in {(f["rule_id"], f["severity"]) for f in doc["findings"]}
    assert not marker.exists()


def test_python_inside_an_archive_and_under_another_name(tmp_path: Path) -> None:
    import tarfile

    path, marker = _evil_module(tmp_path)
    renamed = tmp_path / "weights.txt"
    renamed.write_bytes(path.read_bytes())
    tar = tmp_path / "repo.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(path, arcname="repo/modeling_evil.py")
    for target in (renamed, tar):
        rules = {(f.rule_id, f.severity) for f in scan_paths([target]).findings}
        assert ("REMOTE-CODE-EXEC", Severity.critical) in rules, target
    assert not marker.exists()


@pytest.mark.slow
def test_loose_python_payload_is_real(tmp_path: Path) -> None:
    """Importing the file (what trust_remote_code does) runs the module-level call."""
    path, marker = _evil_module(tmp_path)
    subprocess.run([sys.executable, "-c", "import modeling_evil"], cwd=tmp_path, capture_output=True, timeout=60)
    assert marker.exists()


# -- paths that are not regular files ---------------------------------------------------------------------


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


@needs_fifo
def test_fifo_given_on_the_command_line_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "pytorch_model.bin"
    os.mkfifo(fifo)
    r = run_cli("scan", str(fifo), "--format", "json", timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(f["rule_id"], f["severity"]) for f in doc["findings"]] == [("SCAN-SKIPPED", "info")]
    assert "FIFO" in doc["findings"][0]["message"] and doc["files"][0]["format"] == "skipped"


@needs_fifo
def test_special_paths_in_a_folder_are_reported_not_read(tmp_path: Path) -> None:
    d = tmp_path / "repo"
    d.mkdir()
    # FIFOs named like the files loaders and the folder-level checks open by name
    for name in ("pytorch_model.bin", "config.json", "tokenizer_config.json", "modeling_x.py"):
        os.mkfifo(d / name)
    (d / "dev_link").symlink_to("/dev/zero")
    (d / "broken").symlink_to(tmp_path / "nowhere")
    (d / "dir_link").symlink_to(tmp_path)
    (d / "ok.json").write_text("{}")
    r = run_cli("scan", str(d), "--format", "json", timeout=120)
    assert r.returncode == 0, r.stderr
    skipped = {Path(f["path"]).name: f["message"] for f in json.loads(r.stdout)["findings"]
               if f["rule_id"] == "SCAN-SKIPPED"}
    assert set(skipped) == {"pytorch_model.bin", "config.json", "tokenizer_config.json", "modeling_x.py",
                            "dev_link", "broken", "dir_link"}
    assert "character device" in skipped["dev_link"] and "broken link" in skipped["broken"]


@needs_fifo
def test_file_swapped_for_a_fifo_is_not_opened(tmp_path: Path) -> None:
    """The open itself refuses non-regular files (a race between the walk and the read)."""
    from opentrust.scan.base import NotRegularFile, Source

    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        Source(display="f", path=fifo).read(0, 10)


def test_python_with_a_byte_order_mark_and_crlf_is_recognised(tmp_path: Path) -> None:
    p = tmp_path / "helper"
    p.write_bytes(b"\xef\xbb\xbf# -*- coding: utf-8 -*-\r\nimport os\r\nos.system('id')\r\n")
    r = scan_paths([p])
    assert r.files[0].format == "python"
    assert ("REMOTE-CODE-EXEC", Severity.critical) in {(f.rule_id, f.severity) for f in r.findings}
