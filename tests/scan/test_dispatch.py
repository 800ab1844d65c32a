"""Dispatch: content beats names, budgets and depth limits become findings, hostile bytes never crash."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

from opentrust.findings import Severity
from opentrust.scan.dispatch import identify, scan_bytes, scan_paths
from payloads import benign_pickles, pickle_payloads
from torchfiles import write_torch_zip


def test_identify_by_content_only(tmp_path: Path) -> None:
    assert identify(b"GGUF\x03\x00\x00\x00" + b"\x00" * 16, 24) == "gguf"
    assert identify(b"\x93NUMPY\x01\x00", 8) == "numpy"
    assert identify(b"\x80\x04\x95", 3) == "pickles"
    assert identify(b"PK\x03\x04", 4) == "zip"
    assert identify(b"hello world, a text file\n", 25) is None
    assert identify(b"# title\nsome markdown\n", 22) is None


def test_time_budget_exceeded_is_a_high_finding() -> None:
    big = pickle.dumps(list(range(300_000)), protocol=4)
    r = scan_bytes(big, seconds=1e-6)
    assert [f.rule_id for f in r.findings] == ["SCAN-BUDGET"] and r.findings[0].severity == Severity.high


def test_nesting_depth_limit(tmp_path: Path) -> None:
    import base64

    blob = pickle_payloads(tmp_path / "m")["builtins_exec"]
    for _ in range(7):
        blob = (b"\x80\x02cpickle\nloads\ncbase64\nb64decode\nX" + len(base64.b64encode(blob)).to_bytes(4, "little")
                + base64.b64encode(blob) + b"\x85R\x85R.")
    r = scan_bytes(blob)
    assert "SCAN-DEPTH" in {f.rule_id for f in r.findings}


def test_truncations_and_random_bytes_never_crash(tmp_path: Path) -> None:
    rng = random.Random(7)
    blobs = list(pickle_payloads(tmp_path / "m").values()) + list(benign_pickles().values())
    zpath = write_torch_zip(tmp_path / "t.pt", {"w": (2,)})
    blobs.append(zpath.read_bytes())
    for blob in blobs:
        for _ in range(6):
            cut = blob[: rng.randrange(1, len(blob) + 1)]
            mutated = bytearray(blob)
            for _ in range(3):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            for data in (cut, bytes(mutated)):
                r = scan_bytes(data)
                assert all(f.rule_id != "SCAN-ERROR" for f in r.findings), [f.message for f in r.findings]


def test_folder_scan_runs_every_file_and_folder_checks(tmp_path: Path) -> None:
    from fixtures_formats import make_hf_remote_code_malicious, marker_path

    folder = make_hf_remote_code_malicious(tmp_path)
    (folder / "misc.dat").write_bytes(pickle_payloads(tmp_path / "m")["cprofile_run"])
    r = scan_paths([folder])
    rules = {f.rule_id for f in r.findings}
    assert "REMOTE-CODE-EXEC" in rules and "PICKLE-DANGEROUS-CALL" in rules
    assert not marker_path(tmp_path).exists() and not (tmp_path / "m").exists()


def test_plugin_registered_scanner_is_dispatched(tmp_path: Path) -> None:
    """A third-party scanner registered through the register_scanners hook joins dispatch by content."""
    from opentrust.hookspecs import hookimpl
    from opentrust.plugins import plugin_manager
    from opentrust.scan import dispatch
    from opentrust.scan.base import Rule

    rule = Rule("DEMO-MAGIC", "DemoMagic", Severity.medium, "Demo format", "Demo help.")

    class DemoScanner:
        RULES = [rule]
        FORMAT = "demo"

        @staticmethod
        def sniff(head: bytes, size: int) -> bool:
            return head.startswith(b"DEMO")

        @staticmethod
        def scan(source, ctx) -> None:
            ctx.report(rule, source, "demo file", offset=0)

    class Plugin:
        @hookimpl
        def register_scanners(self, register) -> None:
            register(DemoScanner)

    plugin = Plugin()
    plugin_manager().register(plugin)
    try:
        (tmp_path / "x.bin").write_bytes(b"DEMO rest")
        r = scan_paths([tmp_path / "x.bin"])
        assert r.files[0].format == "demo" and [f.rule_id for f in r.findings] == ["DEMO-MAGIC"]
        assert "DEMO-MAGIC" in {x.id for x in dispatch.all_rules()}
    finally:
        plugin_manager().unregister(plugin)
    # no table of plugin scanners outlives the plugin: the next scan no longer knows the format
    assert scan_paths([tmp_path / "x.bin"]).files[0].format != "demo"


def test_text_files_are_not_mistaken_for_pickles(tmp_path: Path) -> None:
    # Python source is recognised as such (and analysed as code), never as a pickle
    for text in (b"class Model:\n    pass\n", b"config = 1\n", b"#!/usr/bin/env python\nprint(1)\n"):
        r = scan_bytes(text)
        assert r.files[0].format == "python" and not r.findings, text
    for text in (b"Name,Value\n1,2\n", b"(note) hello\n", b"}\n", b"# Model card\n\nThis model (v2) is tiny.\n",
                 b"torch==2.13.0\nnumpy>=2\n", b"key: value\nlist:\n  - a\n"):
        r = scan_bytes(text)
        assert r.files[0].format == "other" and not r.findings, text
