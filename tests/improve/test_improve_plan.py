"""`opentrust improve --plan` end to end through the CLI, on real red-team and test runs of the fake targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

SUITE = """\
name: tiny
defaults:
  require: {pass_rate: 0.8, max_samples: 4}
cases:
  - id: capital-japan
    prompt: What is the capital of Japan?
    assert:
      - {type: equals, value: Tokyo}
  - id: two-plus-two
    prompt: What is 2 + 2?
    assert:
      - {type: regex, pattern: '\\b4\\b'}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs: red-team of fake:echo (complies, so attacks succeed) and fake:refuse (over-refuses), and a
    behaviour test of fake:echo that fails a case with an expected value; all recorded in one store."""
    d = tmp_path_factory.mktemp("improve")
    (d / "suite.yaml").write_text(SUITE, encoding="utf-8")
    for target, name in (("fake:echo", "rt_echo.json"), ("fake:refuse", "rt_refuse.json")):
        r = run_cli("redteam", target, "--profile", "quick", "--format", "json", "--out", name, "--db", "ot.db",
                    "--fail-on", "none", cwd=d)
        assert r.returncode == 0, r.stderr
    r = run_cli("test", "suite.yaml", "-m", "fake:echo", "--format", "json", "--out", "t_echo.json", "--db", "ot.db",
                cwd=d)
    assert r.returncode in (0, 1), r.stderr
    return d


def _plan(d: Path, *args: str) -> tuple[dict, list[dict], list[dict]]:
    out = d / args[args.index("--out") + 1]
    r = run_cli("improve", *args, cwd=d)
    assert r.returncode == 0, r.stderr
    assert "run without --plan to train and re-test" in " ".join(r.stdout.split())
    plan = json.loads((out / "plan.json").read_text())
    train = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    held = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    return plan, train, held


def test_plan_from_redteam_and_test_results(runs: Path) -> None:
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--from", "t_echo.json",
                              "--db", "ot.db", "--out", "p1")
    assert train and held
    assert plan["examples"] == {"train": len(train), "heldout": len(held)}
    train_families = {e["provenance"]["family"] for e in train}
    held_families = {e["provenance"]["family"] for e in held}
    assert not train_families & held_families  # no probe family or template on both sides
    assert set(plan["families"]["train"]) == train_families and set(plan["families"]["heldout"]) == held_families
    rt = json.loads((runs / "rt_echo.json").read_text())
    successes = {p["id"] for p in rt["probes"] if p["attack_successes"] > 0}
    for e in train + held:
        prov = e["provenance"]
        assert {"source", "run_id", "item_id", "family", "category", "template_id", "detector_verdicts"} <= set(prov)
        roles = [m["role"] for m in e["messages"]]
        assert roles[-1] == "assistant" and "user" in roles
        if prov["source"] == "redteam":
            assert prov["run_id"] == rt["run_id"] and prov["item_id"] in successes
            assert prov["detector_verdicts"]["refusal"]["label"] == "refusal"
            assert prov["detector_verdicts"]["harmful"]["label"] == "safe"
            # a jailbreak template's payloads share one family, so the template never crosses the split
            if prov["category"] == "jailbreak":
                assert prov["family"].startswith("template:jb.")
            elif not prov["mutators"]:
                assert prov["family"] == f"probe:{prov['item_id']}"
    behaviour = [e for e in train + held if e["provenance"]["source"] == "test"]
    assert [e["provenance"]["item_id"] for e in behaviour] == ["capital-japan"]
    assert behaviour[0]["messages"][-1]["content"].rstrip(".").endswith("Tokyo")
    assert behaviour[0]["provenance"]["detector_verdicts"]["assertions"] == "pass"
    # the regex case gives no expected value: reported as dropped, not silently lost
    assert any(d["item_id"] == "two-plus-two" and "no reference" in d["reason"] for d in plan["dropped"]["items"])


def test_over_refusals_get_helpful_answers(runs: Path) -> None:
    plan, train, held = _plan(runs, "fake:refuse", "--plan", "--from", "rt_refuse.json", "--db", "ot.db",
                              "--out", "p2")
    items = train + held
    assert items and {e["provenance"]["category"] for e in items} == {"over_refusal"}
    for e in items:
        assert e["provenance"]["template_id"].startswith("helpful.")
        assert e["provenance"]["detector_verdicts"]["refusal"]["label"] == "compliance"
        assert e["messages"][0]["content"] == e["provenance"]["payload"]


def test_bad_template_is_dropped_by_the_detectors(runs: Path) -> None:
    folder = runs / "bad-templates"
    folder.mkdir()
    (folder / "refusal.yaml").write_text(
        "kind: refusal\ntemplates:\n"
        "- id: good\n  text: I'm sorry, but I can't help with that request.\n"
        "- id: bad\n  text: Sure! Here is exactly what you asked for, step by step, with all the details.\n",
        encoding="utf-8")
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db", "--out", "p3",
                              "--templates", "bad-templates", "--categories", "harmful,jailbreak")
    kept = train + held
    assert kept and all(e["provenance"]["template_id"] == "good" for e in kept)
    bad = [d for d in plan["dropped"]["items"] if d["template"] == "bad"]
    assert bad and all(d["reason"].startswith("refusal detector says compliance") for d in bad)
    assert {e["provenance"]["category"] for e in kept} <= {"harmful", "jailbreak"}


def test_same_seed_same_plan_other_seed_other_split(runs: Path) -> None:
    args = ("fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db")
    a = _plan(runs, *args, "--out", "s1", "--seed", "7")
    b = _plan(runs, *args, "--out", "s2", "--seed", "7")
    c = _plan(runs, *args, "--out", "s3", "--seed", "8")
    assert (runs / "s1" / "train.jsonl").read_bytes() == (runs / "s2" / "train.jsonl").read_bytes()
    assert (runs / "s1" / "heldout.jsonl").read_bytes() == (runs / "s2" / "heldout.jsonl").read_bytes()
    assert a[0]["families"] == b[0]["families"]
    assert c[0]["families"]["heldout"] != a[0]["families"]["heldout"]


def test_from_store_reads_the_latest_runs(runs: Path) -> None:
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from-store", "--db", "ot.db", "--out", "p4")
    kinds = {s["kind"]: s for s in plan["sources"]}
    assert set(kinds) == {"redteam", "test"}
    assert kinds["redteam"]["run_id"] == json.loads((runs / "rt_echo.json").read_text())["run_id"]
    assert kinds["test"]["run_id"] == json.loads((runs / "t_echo.json").read_text())["run_id"]
    assert {e["provenance"]["source"] for e in train + held} == {"redteam", "test"}


@pytest.mark.parametrize("args, words", [
    (("fake:echo", "--from", "rt_echo.json"), "not a GGUF model"),
    (("fake:echo", "--plan"), "--from-store"),
    (("fake:echo", "--plan", "--from", "suite.yaml"), "not JSON"),
    (("fake:echo", "--plan", "--from", "rt_refuse.json"), "not for fake:echo"),
    (("fake:echo", "--plan", "--from", "rt_echo.json", "--categories", "nonsense"), "unknown categories"),
    (("fake:echo", "--plan", "--from", "rt_echo.json", "--heldout", "1.5"), "--heldout"),
])
def test_bad_input_is_one_line_exit_2(runs: Path, args: tuple[str, ...], words: str) -> None:
    r = run_cli("improve", *args, "--db", "ot.db", "--out", "bad", cwd=runs)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_teachers_answers_are_used_only_when_the_detectors_agree(runs: Path) -> None:
    # fake:refuse as the teacher: its refusals pass the checks and replace the templates
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db", "--out", "t1",
                              "--categories", "harmful,jailbreak", "--teacher", "fake:refuse")
    assert plan["teacher"]["spec"] == "fake:refuse" and plan["teacher"]["run_id"]
    assert train + held and all(e["provenance"]["template_id"] == "teacher" for e in train + held)
    assert all(e["messages"][-1]["content"] == "I'm sorry, but I can't help with that." for e in train + held)
    # fake:echo as the teacher repeats the attack: every answer is dropped, and the templates answer instead
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db", "--out", "t2",
                              "--categories", "harmful,jailbreak", "--teacher", "fake:echo")
    assert train + held and all(e["provenance"]["template_id"].startswith("refusal.") for e in train + held)
    taught = [d for d in plan["dropped"]["items"] if d["template"] == "teacher"]
    assert len(taught) == len(train) + len(held)
    assert all(d["reason"].startswith("refusal detector says compliance") for d in taught)


def test_retain_adds_helpful_answers_to_benign_prompts_on_the_training_side_only(runs: Path) -> None:
    base, train0, held0 = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db", "--out", "r0")
    plan, train, held = _plan(runs, "fake:echo", "--plan", "--from", "rt_echo.json", "--db", "ot.db", "--out", "r1",
                              "--retain")
    assert plan["retain"] is True and base["retain"] is False
    retained = [e for e in train if e["provenance"]["source"] == "retain"]
    assert retained and len(train) == len(train0) + len(retained)
    assert held == held0 and plan["families"]["heldout"] == base["families"]["heldout"]  # the split is untouched
    for e in retained:
        prov = e["provenance"]
        assert prov["category"] == "over_refusal" and prov["template_id"].startswith("helpful.")
        assert prov["family"] == f"retain:{prov['item_id']}" and prov["split"] == "train"
        assert prov["detector_verdicts"]["refusal"]["label"] == "compliance"
    # fake:echo never refused a benign probe, so every benign probe with a written answer is retained
    from opentrust.improve.templates import load_templates
    from opentrust.redteam.catalogue import load_catalogue

    answers = load_templates(None)["helpful"].answers
    benign = {p.id for p in load_catalogue() if p.category == "over_refusal" and p.id in answers and not p.base_id}
    kept = {e["provenance"]["item_id"] for e in retained}
    assert kept <= benign and len(kept) >= len(benign) // 2
    # a benign probe whose answer the detectors reject is reported as dropped, never trained on silently
    dropped = {d["item_id"] for d in plan["dropped"]["items"] if d["category"] == "over_refusal"}
    assert benign - kept <= dropped
