"""Suite files: schema, defaults, vars tables, includes, tags, and errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opentrust.errors import UserError
from opentrust.evals.suite import builtin_suite_paths, load_suite, schema_text

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_published_json_schema_is_up_to_date() -> None:
    published = (REPO / "docs" / "suite-schema.json").read_text()
    assert published == schema_text(), "regenerate: python -m opentrust.evals.suite > docs/suite-schema.json"


def test_builtin_suites_validate_against_the_published_schema_and_have_25_cases() -> None:
    import jsonschema
    import yaml

    schema = json.loads((REPO / "docs" / "suite-schema.json").read_text())
    paths = builtin_suite_paths()
    assert {p.stem for p in paths} >= {"factual-qa", "instruction-following", "json-output", "over-refusal"}
    for path in paths:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
        suite = load_suite(path)
        assert len(suite.cases) >= 25, path
        quick = sum("quick" in c.tags for c in suite.cases)
        assert quick == 0 or quick >= 18, path  # the audit's quick profile needs >= 18 cases per suite


def test_defaults_vars_and_tags(tmp_path: Path) -> None:
    path = _write(tmp_path, """
defaults:
  system: Be brief.
  sampling: {max_tokens: 20}
  require: {pass_rate: 0.9, indifference: 0.05}
  assert: [{type: length, max: 200}]
  tags: [all]
cases:
  - id: cap
    prompt: "Capital of {{ country }}?"
    vars:
      - {id: fr, country: France, city: Paris}
      - {country: Italy, city: Rome}
    assert: [{type: contains, value: "{{ city }}"}]
    tags: [geo]
  - id: grid
    messages: [{role: user, content: "{{ a }} + {{ b }}"}]
    vars: {a: [1, 2], b: [3, 4, 5]}
    sampling: {temperature: 0}
""")
    suite = load_suite(path)
    ids = [c.id for c in suite.cases]
    assert ids[:2] == ["cap[fr]", "cap[1]"]
    assert len(ids) == 2 + 6
    fr = suite.cases[0]
    assert fr.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    assert [a.type for a in fr.assertions] == ["length", "contains"]
    assert fr.assertions[1].value == "Paris"
    assert fr.require.pass_rate == 0.9 and fr.require.max_samples == 32  # default kept
    assert fr.sampling.max_tokens == 20 and fr.sampling.temperature == 0.7
    assert suite.cases[2].sampling.temperature == 0 and suite.cases[2].messages == [{"role": "user", "content": "1 + 3"}]
    assert fr.source == f"{path}:9"
    assert [c.id for c in suite.select(["geo"]).cases] == ["cap[fr]", "cap[1]"]
    assert len(suite.select(["all"]).cases) == 8
    assert [c.id for c in suite.select(["grid[0]"]).cases] == ["grid[0]"]


def test_include(tmp_path: Path) -> None:
    _write(tmp_path, "cases: [{id: base, prompt: hi}]", "base.yaml")
    main = _write(tmp_path, "include: [base.yaml]\ncases: [{id: extra, prompt: yo}]")
    assert [c.id for c in load_suite(main).cases] == ["base", "extra"]
    cyclic = _write(tmp_path, "include: [suite.yaml]\ncases: []", "suite.yaml")
    with pytest.raises(UserError, match="include cycle"):
        load_suite(cyclic)


@pytest.mark.parametrize("text, where", [
    ("cases:\n  - id: a\n    prompt: hi\n    assert:\n      - {type: regex, pattern: '(unclosed'}\n",
     r":5: cases\.0\.assert\.0\.regex\.pattern: Value error, invalid regular expression"),
    ("cases:\n  - id: a\n    prompt: hi\n  - id: b\n    promt: typo\n", r":5: cases\.1\.promt: Extra inputs"),
    ("cases:\n  - id: a\n    prompt: hi\n    require: {pass_rate: 1.5}\n", r":4: cases\.0\.require\.pass_rate"),
    ("cases:\n  - id: a\n    prompt: hi\n    assert: [{type: nonsense}]\n", r":4: cases\.0\.assert\.0.*tag 'nonsense'"),
    ("cases:\n  - id: a\n    prompt: [unclosed\n", r":4: invalid YAML"),
    ("cases:\n  - id: a\n", r":2: cases\.0: Value error, a case needs exactly one of 'prompt' or 'messages'"),
    ("cases:\n  - id: a\n    prompt: '{{ missing }}'\n    vars: [{x: 1}]\n", r":2: case 'a': template"),
    ("cases:\n  - {id: a, prompt: x}\n  - {id: a, prompt: y}\n", r":3: duplicate case id 'a'"),
    ("- just a list\n", r":1: a suite must be a mapping"),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - type: is-json\n        schema: {type: 12}\n",
     r":6: cases\.0\.assert\.0\.is-json\.schema: Value error, invalid JSON Schema"),
])
def test_malformed_suite_is_reported_with_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UserError, match=rf"^{path}{where}"):
        load_suite(path)


def test_cli_reports_a_bad_suite_in_one_line_with_exit_2(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = _write(tmp_path, "cases:\n  - id: a\n    prompt: hi\n    assert: [{type: regex, pattern: '('}]\n")
    res = run_cli("test", str(path), "--model", "smollm2")
    assert res.returncode == 2
    assert res.stderr.startswith(f"opentrust: error: {path}:4:") and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = run_cli("test", "--model", "smollm2")
    assert res.returncode == 2 and "no suite given" in res.stderr
    res = run_cli("test", "--builtin", "--model", "smollm2", "-k", "no-such-tag")
    assert res.returncode == 2 and "no case matches" in res.stderr
