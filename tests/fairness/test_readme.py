"""The README's fairness example suite loads as written, and its example commands use only real options."""

from __future__ import annotations

import re
from pathlib import Path

from opentrust.fairness.run import FairnessPlan

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("### `opentrust fairness")
    return text[start:text.index("\n### ", start + 1)]


def test_the_readme_suite_loads_and_its_attribute_selection_matches(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(# hiring\.yaml\n.*?)```", _section(), re.S)
    assert block, "the README's hiring.yaml example is missing"
    suite = tmp_path / "hiring.yaml"
    suite.write_text(block.group(1))
    commands = re.findall(r"^opentrust fairness .*hiring\.yaml.*$", _section(), re.M)
    assert commands
    for command in commands:
        attributes = re.search(r"--attributes (\S+)", command)
        plan = FairnessPlan.build([suite], False, None, attributes.group(1).split(",") if attributes else None,
                                  "standard", "auto")
        templates = {t.id for s in plan.suites for t in s.templates}
        assert templates == {"rate", "joke", "loan", "raise"}, command


def test_the_readme_commands_use_existing_options() -> None:
    import typer
    from typer.main import get_command

    from opentrust.commands.fairness import register

    app = typer.Typer()
    register(app)
    app.command(name="other")(lambda: None)  # two commands, so that typer builds a group
    names = {opt for p in get_command(app).commands["fairness"].params for opt in getattr(p, "opts", [])}
    commands = re.findall(r"^opentrust fairness .*$", _section(), re.M)
    assert len(commands) >= 4
    for command in commands:
        for flag in re.findall(r"(?<!\S)(--[a-z-]+)", re.sub(r"\s+#\s.*$", "", command)):
            assert flag in names, (flag, command)
