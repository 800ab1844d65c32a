"""Terminal rendering of an openness result (rich), kept out of the command module for fast start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrust.openness.assess import OpennessResult

STATUS_STYLE = {"included": "green", "missing": "dim", "unlicensed": "yellow", "licence not open": "red",
                "unknown": "magenta"}


def bar(pct: float, width: int = 20) -> str:
    filled = round(pct / 100 * width)
    return "█" * filled + "░" * (width - filled)


def print_table(result: "OpennessResult", console: Any) -> None:
    from rich.table import Table

    d = result.to_dict()
    mof = d["mof"]
    names = {e["id"]: e["name"] for e in d["licenses"] if e["id"]}
    dist = mof["distribution_license"]
    console.print(f"[bold]{d['target']['name']}[/] ({d['target']['kind']}): [bold]{mof['label']}[/]"
                  f"  distribution licence: {names.get(dist, dist) if dist else 'none found'}")
    for cls, name in (("3", "Class III  Open Model   "), ("2", "Class II   Open Tooling "), ("1", "Class I    Open Science ")):
        pct = mof["progress"][cls]
        console.print(f"  {name} {bar(pct)} {pct:5.1f}%")
    table = Table(title="MOF components", show_lines=False)
    for col in ("class", "component", "status", "licence", "confidence", "evidence"):
        table.add_column(col, overflow="fold")
    for c in mof["components"]:
        style = STATUS_STYLE.get(c["status"], "")
        cls = {1: "I", 2: "II", 3: "III"}[c["class"]] + ("" if c["required"] else " (opt)")
        first = c["evidence"][0]
        where = f" [{first['where']}]" if first["where"] else ""
        licence = names.get(c["license"], c["license"]) if c["license"] else "—"
        table.add_row(cls, c["name"], f"[{style}]{c['status']}[/]", licence, c["confidence"], first["detail"] + where)
    console.print(table)
    if d["licenses"]:
        lt = Table(title="Licences")
        for col in ("licence", "category", "why", "restrictions"):
            lt.add_column(col, overflow="fold")
        for entry in d["licenses"]:
            where = entry["evidence"][0]["where"] if entry["evidence"] else ""
            lt.add_row(entry["name"] or f"(unidentified) {where}", entry["category"], entry["reason"],
                       "\n".join(f"{r['kind']}: {r['text']}" for r in entry["restrictions"]) or "—")
        console.print(lt)
    osaid = d["osaid"]
    colour = "green" if osaid["verdict"] == "open-source-ai" else "red"
    console.print(f"[bold]{osaid['definition']}[/]: [{colour}]{osaid['verdict']}[/] — {osaid['summary']}")
    for req in osaid["requirements"]:
        mark = "[green]✓[/]" if req["met"] else "[red]✗[/]"
        console.print(f"  {mark} {req['name']}" + ("" if req["met"] else ": " + "; ".join(req["reasons"][:4])))
    if d["next_steps"]:
        console.print("[bold]Next steps[/] (nearest class first, cheapest fix first):")
        for s in d["next_steps"][:8]:
            console.print(f"  {s['rank']}. [{s['for_label']}] {s['action']}")
    for w in mof["type_warnings"]:
        console.print(f"[yellow]type warning:[/] {w['message']}")
    for c in d["conflicts"]:
        console.print(f"[yellow]licence conflict:[/] {', '.join(c['licenses'])}; using {c['chosen']}")
