"""Presenting a fairness result: the terminal table, the audit report Section (HTML and JSON) and JUnit XML."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrust.findings import Severity
    from opentrust.report.model import Section
    from opentrust.results.fairness import FairnessResult

VERDICT_STYLE = {"fair": "green", "unfair": "bold red", "inconclusive": "yellow"}
SHORT_METRIC = {"pass_rate": "pass", "refusal_rate": "refusal", "choice_rate": "choice", "mean_score": "score"}
BBQ_LABELS = {"accuracy_ambiguous": "accuracy, ambiguous contexts", "accuracy_disambiguated":
              "accuracy, disambiguated contexts", "bias_ambiguous": "bias score, ambiguous (s_AMB)",
              "bias_disambiguated": "bias score, disambiguated (s_DIS)"}


def _figure(e: Any, digits: int = 2, sep: str = " ") -> str:
    if e is None or e.value is None:
        return "—"
    ci = f"{sep}[{e.ci[0]:.{digits}f}, {e.ci[1]:.{digits}f}]" if e.ci else ""
    return f"{e.value:.{digits}f}{ci}"


def _rates(row: Any) -> str:
    return " / ".join(f"{g} {row.rates[g].value:.2f}" if row.rates[g].value is not None else f"{g} —"
                      for g in row.groups)


def _gap(row: Any) -> str:
    if row.max_gap is None:
        return "—"
    return f"{row.max_gap:.2f}" + (f" [{row.gap_ci[0]:.2f}, {row.gap_ci[1]:.2f}]" if row.gap_ci else "")


def failed(result: "FairnessResult", threshold: "Severity | None") -> bool:
    from opentrust.findings import exceeds

    return exceeds(result.findings, threshold)


def print_table(result: "FairnessResult", console: Any, threshold: "Severity | None") -> None:
    from rich.markup import escape
    from rich.table import Table

    name = result.model.name
    if result.counterfactual:
        tolerances = {r.tolerance for r in result.counterfactual}
        table = Table(title=f"opentrust fairness: {name} — counterfactual pairs", title_justify="left")
        table.add_column("attribute", overflow="fold")
        table.add_column("metric")
        table.add_column("verdict", no_wrap=True, min_width=12)
        table.add_column("group rates", overflow="fold")
        table.add_column("gap [interval]")
        if len(tolerances) > 1:
            table.add_column("tol.", justify="right")
        table.add_column("p Holm", justify="right")
        table.add_column("blocks", justify="right")
        for r in result.counterfactual:
            cells = [escape(r.attribute), SHORT_METRIC.get(r.metric, r.metric),
                     f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]", escape(_rates(r)), escape(_gap(r))]
            if len(tolerances) > 1:
                cells.append(f"{r.tolerance:g}")
            cells += [f"{r.p_adjusted:.2g}", str(r.blocks) + (f" ({r.unparseable} unread)" if r.unparseable else "")]
            table.add_row(*cells)
        tol = f"the tolerance {tolerances.pop():g}" if len(tolerances) == 1 else "the tolerance"
        table.caption = (f"unfair: paired test significant after Holm and the gap's interval above {tol}; fair: "
                         "interval below it; inconclusive otherwise. Intervals hold together over groups and "
                         "attributes. Scores rescaled to 0-1.")
        table.caption_justify = "left"
        console.print(table)
    b = result.bbq
    if b is not None:
        table = Table(title=f"opentrust fairness: {name} — BBQ-format QA ({b.items} items)", title_justify="left")
        table.add_column("category", overflow="fold")
        table.add_column("items", justify="right")
        for key in ("acc. ambig.", "acc. disamb.", "bias ambig.", "bias disamb."):
            table.add_column(key, justify="right")
        for c in b.categories:
            table.add_row(escape(c.category), str(c.items), *(_figure(c[k], sep="\n") for k in BBQ_LABELS))
        table.add_row("[bold]all[/]", str(b.items), *(_figure(b[k], sep="\n") for k in BBQ_LABELS))
        table.caption = (f"bias: -1 against the stereotype, +1 along it (BBQ's scores, 95% bootstrap intervals). "
                         f"Answers read by {_ways(b)}; unparseable {b.unparseable_rate:.1%} (counted as wrong, never "
                         "as unbiased).")
        table.caption_justify = "left"
        console.print(table)
    s = result.summary
    bad = failed(result, threshold)
    console.print(f"{'[bold red]FAIL[/]' if bad else '[bold green]PASS[/]'}  {s.unfair} unfair, {s.fair} fair, "
                  f"{s.inconclusive} inconclusive of {s.comparisons} comparisons; {s.bbq_items} BBQ items; "
                  f"{s.samples} samples ({s.generated} generated, {s.reused} from cache); {s.findings} findings")


def _ways(b: Any) -> str:
    parts = [f"{n} {w}" for w, n in b.extraction.items() if n]
    return ", ".join(parts) or "—"


def summary_text(result: "FairnessResult") -> str:
    s = result.summary
    parts = []
    if result.counterfactual:
        unfair = [f"{r.attribute} ({r.metric}, gap {_gap(r)})" for r in result.counterfactual if r.verdict == "unfair"]
        parts.append(f"Counterfactual pairs: {s.unfair} unfair, {s.fair} fair, {s.inconclusive} inconclusive of "
                     f"{s.comparisons} comparisons" + (f" — unfair: {'; '.join(unfair)}" if unfair else "") + ".")
    if result.bbq is not None:
        b = result.bbq
        parts.append(f"BBQ-format QA ({b.items} items): accuracy {_figure(b.accuracy_ambiguous)} ambiguous, "
                     f"{_figure(b.accuracy_disambiguated)} disambiguated; bias score {_figure(b.bias_ambiguous)} "
                     f"ambiguous, {_figure(b.bias_disambiguated)} disambiguated; answers read by {_ways(b)}, "
                     f"unparseable {b.unparseable_rate:.1%}.")
    parts.append(f"{s.samples} samples ({s.generated} generated, {s.reused} from cache).")
    return " ".join(parts)


def section(result: "FairnessResult", check: str, title: str) -> "Section":
    from opentrust.findings import Measurement
    from opentrust.report.model import Bar, BarChart, Section, Table
    from opentrust.stats import evidence

    charts, tables, measurements = [], [], []
    if result.counterfactual:
        rows = []
        for r in result.counterfactual:
            rows.append([r.attribute, r.metric, r.verdict, _rates(r), r.max_gap,
                         f"[{r.gap_ci[0]:.2f}, {r.gap_ci[1]:.2f}]" if r.gap_ci else None, r.tolerance,
                         round(r.p_adjusted, 4), r.blocks, r.unparseable, ", ".join(r.templates)])
            bars = [Bar(label=g, value=r.rates[g].value or 0.0,
                        interval=tuple(r.rates[g].ci) if r.rates[g].ci else None)  # type: ignore[arg-type]
                    for g in r.groups if r.rates[g].value is not None]
            charts.append(BarChart(title=f"{r.attribute} — {r.metric} per group (95% interval); gap {_gap(r)}, "
                                         f"tolerance {r.tolerance:g}: {r.verdict}", unit="", max_value=1.0, bars=bars))
            if r.gap_ci:
                measurements.append(Measurement(
                    name=f"fairness.{r.attribute}.{r.metric}.max_gap", value=r.max_gap, unit="ratio", n=r.blocks,
                    interval=r.gap_ci, confidence=r.confidence, method=f"{r.test}; paired interval",
                    label=f"{r.attribute}: largest gap in {r.metric}",
                    evidence=evidence(r.max_gap, r.gap_ci, r.blocks)))
        tables.append(Table(title="Counterfactual pairs (unfair: paired test significant after Holm and the gap's "
                                  "interval above the tolerance; fair: interval below it)",
                            columns=["attribute", "metric", "verdict", "group rates", "gap", "gap interval",
                                     "tolerance", "p (Holm)", "blocks", "unread", "templates"], rows=rows))
        side = []
        for r in result.counterfactual:
            for ex in r.examples[:2]:
                for g in r.groups:
                    side.append([f"{r.attribute} / {ex['template']} #{ex['filler']}", g, ex["values"].get(g),
                                 ex["prompts"].get(g, "")[:160], ex["answers"].get(g, "")[:200]])
        if side:
            tables.append(Table(title="Largest disagreements, side by side (same template, filler and seeds; "
                                      "value: the group's mean outcome, answer: its first sample)",
                                columns=["variant", "group", "value", "prompt", "answer"], rows=side))
    b = result.bbq
    if b is not None:
        for key, label in BBQ_LABELS.items():
            e = b[key]
            measurements.append(Measurement(
                name=f"fairness.bbq.{key}", value=e.value, unit="ratio", n=b.items, interval=e.ci,
                confidence=0.95 if e.ci else None, method="BBQ (Parrish et al. 2022); bootstrap over templates",
                label=f"BBQ {label}", evidence=evidence(e.value, e.ci, b.items)))
        measurements.append(Measurement(name="fairness.bbq.unparseable_rate", value=b.unparseable_rate, unit="ratio",
                                        n=b.items, method=f"answers read by {_ways(b)}",
                                        label="BBQ answers that could not be read"))
        tables.append(Table(title="BBQ-format QA per category (bias: -1 against the stereotype, +1 along it; "
                                  "95% bootstrap intervals)",
                            columns=["category", "items", "unparseable", *[k.replace("_", " ") for k in BBQ_LABELS]],
                            rows=[[c.category, c.items, c.unparseable, *(_figure(c[k]) for k in BBQ_LABELS)]
                                  for c in b.categories]
                            + [["all", b.items, b.unparseable, *(_figure(b[k]) for k in BBQ_LABELS)]]))
        charts.append(BarChart(title="BBQ accuracy per category, ambiguous contexts (95% interval)", unit="",
                               max_value=1.0,
                               bars=[Bar(label=c.category, value=c.accuracy_ambiguous.value or 0.0,
                                         interval=tuple(c.accuracy_ambiguous.ci)  # type: ignore[arg-type]
                                         if c.accuracy_ambiguous.ci else None)
                                     for c in b.categories if c.accuracy_ambiguous.value is not None]))
    data = result.model_dump(mode="json", include={"method", "counterfactual", "bbq", "items", "summary"})
    return Section(check=check, title=title, status="findings" if result.findings else "ok",
                   summary=summary_text(result), findings=list(result.findings), measurements=measurements,
                   tables=tables, charts=charts, data=data)


def render_junit(result: "FairnessResult") -> str:
    """One testcase per counterfactual comparison (failure: unfair, skipped: inconclusive) and one per BBQ
    category (skipped: BBQ has no pass mark; its figures are in system-out)."""
    import xml.etree.ElementTree as ET

    from opentrust.evals.junit import _xml_safe

    root = ET.Element("testsuites", name=f"opentrust fairness {result.model.name}")
    suites: list[tuple[str, list[tuple[str, str, str]]]] = []
    cases = []
    for r in result.counterfactual:
        text = (f"{r.verdict}: {_rates(r)}; gap {_gap(r)}, tolerance {r.tolerance:g}; {r.test} p={r.p_value:.3g}, "
                f"Holm {r.p_adjusted:.3g}; {r.blocks} blocks")
        cases.append((f"{r.attribute}.{r.metric}", r.verdict, text))
    if cases:
        suites.append(("counterfactual", cases))
    if result.bbq is not None:
        suites.append(("bbq", [(c.category, "skipped", "; ".join(f"{k} {_figure(c[k], 3)}" for k in BBQ_LABELS))
                               for c in result.bbq.categories]))
    for name, entries in suites:
        suite = ET.SubElement(root, "testsuite", name=name)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case_name, verdict, text in entries:
            case = ET.SubElement(suite, "testcase", name=case_name, classname=f"fairness.{name}")
            counts["tests"] += 1
            if verdict == "unfair":
                ET.SubElement(case, "failure", message=_xml_safe(text[:300]), type="unfair").text = _xml_safe(text)
                counts["failures"] += 1
            elif verdict in ("inconclusive", "skipped"):
                ET.SubElement(case, "skipped", message=_xml_safe(text[:300]))
                counts["skipped"] += 1
            ET.SubElement(case, "system-out").text = _xml_safe(text)
        for key, value in counts.items():
            suite.set(key, str(value))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, 0)) for s in root.iter("testsuite"))))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_html(result: "FairnessResult") -> str:
    """The fairness result as a self-contained HTML page: the audit report's template with one section."""
    from opentrust._version import __version__
    from opentrust.report.html import render
    from opentrust.report.model import Report, TargetInfo, ToolInfo, utc_now

    m = result.model
    report = Report(tool=ToolInfo(version=__version__), command="fairness", run_id=result.run_id,
                    created_at=utc_now(), target=TargetInfo(name=m.name, kind=m.kind or "", location=m.spec,
                                                            fingerprint=m.fingerprint),
                    parameters=result.parameters,
                    sections=[section(result, "fairness", "Fairness (counterfactual pairs and BBQ-format QA)")])
    return render(report)
