"""before_after.html and the terminal table of `opentrust improve`: the improve result as one section of the
shared report template (opentrust.report: report.html.j2), so the before/after reads like every other report."""

from __future__ import annotations

from typing import Any

VERDICT_STYLE = {"improved": "green", "no change": "", "regressed": "bold red"}


def _pct(rate: dict[str, Any]) -> str:
    if rate.get("rate") is None:
        return "—"
    ci = rate.get("ci")
    return f"{rate['rate']:.0%}" + (f" [{ci[0]:.0%}, {ci[1]:.0%}]" if ci else "")


def _diff(d: dict[str, Any]) -> str:
    if d.get("estimate") is None:
        return "—"
    ci = d.get("ci")
    return f"{d['estimate']:+.0%}" + (f" [{ci[0]:+.0%}, {ci[1]:+.0%}]" if ci else "")


def _p(v: float | None) -> str:
    return "—" if v is None else f"{v:.2g}"


def section(result: dict[str, Any]) -> Any:
    from opentrust.findings import Finding, Location, Severity
    from opentrust.report.model import Bar, BarChart, Section, Table

    rows = result["categories"]
    table = Table(title="Before / after, per category (failure rates: lower is better; 95% intervals)",
                  columns=["category", "kind", "measure", "n", "before", "after", "difference", "p (McNemar)",
                           "p (Holm)", "fixed / broken", "verdict"],
                  rows=[[r["category"], r["kind"], r["measure"], r["n"], _pct(r["before"]), _pct(r["after"]),
                         _diff(r["difference"]), _p(r["p_value"]), _p(r["p_adjusted"]),
                         f"{r['discordant']['fixed']} / {r['discordant']['broken']}", r["verdict"]] for r in rows])
    charts = []
    for side in ("before", "after"):
        bars = [Bar(label=r["category"], value=r[side]["rate"], interval=tuple(r[side]["ci"]) if r[side]["ci"] else None,
                    note=r["verdict"] if side == "after" else "") for r in rows if r[side]["rate"] is not None]
        charts.append(BarChart(title=f"Failure rate {side} tuning ({result[('base' if side == 'before' else 'tuned')]['spec']})",
                               unit="", max_value=1.0, bars=bars))
    tables = [table]
    t = result.get("training")
    if t:
        tables.append(Table(title="Training", columns=["examples", "tokens", "assistant tokens", "steps", "seconds",
                                                       "tokens/s", "peak memory MB", "loss first", "loss last"],
                            rows=[[t.get("examples"), t.get("tokens"), t.get("assistant_tokens"), t.get("steps"),
                                   t.get("seconds"), t.get("tokens_per_s"), t.get("peak_rss_mb"), t.get("loss_first"),
                                   t.get("loss_last")]]))
    changed = [i for i in result["items"] if i["before"] != i["after"]][:40]
    if changed:
        tables.append(Table(title="Items whose outcome changed (first sample's answers, truncated)",
                            columns=["category", "item", "before", "after", "answer before", "answer after"],
                            rows=[[i["category"], i["id"], _outcomes(i["before"]), _outcomes(i["after"]),
                                   (i["answer_before"] or "")[:160], (i["answer_after"] or "")[:160]] for i in changed]))
    findings = []
    for r in rows:
        if r["verdict"] == "regressed":
            findings.append(Finding(
                rule_id="OT-IMPROVE-REGRESSED", title=f"{r['category']} regressed after tuning",
                severity=Severity.high if r["kind"] == "control" else Severity.medium, message=r["reason"], check="improve",
                location=Location(key=r["category"]),
                remedy="tune with fewer steps or a lower learning rate, add examples of this kind to the training "
                       "data, or keep the base model"))
    s = result["summary"]
    summary = (f"{result['tuned']['spec']} against {result['base']['spec']}: improved on "
               f"{', '.join(s['improved']) or 'nothing'}; regressed on {', '.join(s['regressed']) or 'nothing'}; "
               f"no change on {', '.join(s['unchanged']) or 'nothing'}.")
    facts = {"base": result["base"]["spec"], "base fingerprint": result["base"]["fingerprint"],
             "tuned": result["tuned"]["spec"], "tuned fingerprint": result["tuned"]["fingerprint"],
             "train / held-out examples": f"{result['plan'].get('examples', {}).get('train', '?')} / "
                                          f"{result['plan'].get('examples', {}).get('heldout', '?')}",
             "answers generated / reused": f"{result['base']['generated'] + result['tuned']['generated']} / "
                                           f"{result['base']['reused'] + result['tuned']['reused']}",
             "method": result["method"]}
    return Section(check="improve", title="Before / after tuning", status="findings" if findings else "ok",
                   summary=summary, findings=findings, facts=facts, tables=tables, charts=charts,
                   parameters=result["parameters"], duration_s=s["wall_s"])


def _outcomes(outs: list[bool | None]) -> str:
    return " ".join("pass" if o else ("fail" if o is False else "?") for o in outs)


def render_html(result: dict[str, Any]) -> str:
    from opentrust._version import __version__
    from opentrust.report.html import render
    from opentrust.report.model import Report, TargetInfo, ToolInfo, utc_now

    base = result["base"]
    report = Report(tool=ToolInfo(version=__version__), command="improve", run_id=result["tuned"]["run_id"],
                    created_at=utc_now(), target=TargetInfo(name=result["tuned"]["spec"][:80], kind="gguf+adapter",
                                                            location=result["tuned"]["spec"],
                                                            fingerprint=result["tuned"]["fingerprint"]),
                    parameters={**result["parameters"], "base": base["spec"]}, sections=[section(result)])
    return render(report)


def print_table(result: dict[str, Any], console: Any) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"before/after: {escape(result['base']['spec'])} -> tuned (failure rates, 95% intervals)",
              title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("category", "kind", "n", "before", "after", "difference", "p", "verdict"):
        t.add_column(col, justify="right" if col in ("n", "p") else "left")
    for r in result["categories"]:
        style = VERDICT_STYLE[r["verdict"]]
        t.add_row(escape(r["category"]), r["kind"], str(r["n"]), _pct(r["before"]), _pct(r["after"]),
                  _diff(r["difference"]), _p(r["p_value"]), f"[{style}]{r['verdict']}[/]" if style else r["verdict"])
    console.print(t)
    tr = result.get("training")
    if tr:
        console.print(f"training: {tr.get('examples')} examples, {tr.get('tokens')} tokens, {tr.get('steps')} steps in "
                      f"{tr.get('seconds')} s ({tr.get('tokens_per_s')} tokens/s), peak memory "
                      f"{tr.get('peak_rss_mb')} MB; loss {tr.get('loss_first')} -> {tr.get('loss_last')}")
    s = result["summary"]
    console.print(f"{'target met' if s['target_met'] else 'target not met'}: improved on "
                  f"{', '.join(s['improved']) or 'nothing'}, regressed on {', '.join(s['regressed']) or 'nothing'}")
