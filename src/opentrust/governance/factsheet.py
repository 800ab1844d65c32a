"""`opentrust factsheet TARGET`: a model factsheet assembled from every piece of evidence the store holds.

Evidence sections (identity, files and hashes, licences and openness, artifact scan, behaviour, red team, fairness,
comparisons, gate results) are followed by the items of EU AI Act Annex XI (technical documentation of a
general-purpose model, with its section 2 for systemic risk) and Annex XII (information for downstream providers),
each answered from that evidence or listed as missing with what would provide it. Every statement names the run
that produced it (``source``); the newest finished run that measured a thing is the one used. Nothing is inferred
that the evidence does not show: what opentrust cannot observe (release date, training compute) is marked so.
"""

from __future__ import annotations

from typing import Any, Callable

from opentrust.clock import utc_now
from opentrust.errors import UserError
from opentrust.results.factsheet import FactSection, Factsheet, Item, ModelIdentity, Source

ROOT_COMMANDS = {"audit", "redteam", "test", "fairness", "compare"}


class _Evidence:
    """Per thing measured (openness, scan...), the newest run's data and its source."""

    def __init__(self) -> None:
        self.parts: dict[str, tuple[Any, Source]] = {}
        self.sources: dict[str, Source] = {}

    def offer(self, key: str, data: Any, source: Source) -> None:
        if data is not None and key not in self.parts:  # runs arrive newest first
            self.parts[key] = (data, source)
            self.sources[source.run_id or source.command] = Source(run_id=source.run_id, command=source.command,
                                                                   at=source.at)

    def get(self, key: str) -> tuple[Any, Source | None]:
        return self.parts.get(key, (None, None))


def build_factsheet(spec: str, db: Any = None, api_key_env: str | None = None) -> Factsheet:
    from opentrust.history import stored_models
    from opentrust.store import Store
    from opentrust.target import resolve_target

    target = resolve_target(spec, api_key_env=api_key_env)
    with Store(db) as store:
        models = stored_models(store, target)
        if not models:
            raise UserError(f"no evidence about {spec} in {store.path}", f"run `opentrust audit {spec}` first")
        return _build(store, models[0])


def factsheet_for(store: Any, fingerprint: str) -> Factsheet | None:
    """The factsheet of a stored model by its fingerprint (the web UI's model page), None if the store has none."""
    model = next((m for m in store.models(limit=1000) if m["fingerprint"] == fingerprint), None)
    return None if model is None else _build(store, model)


def _build(store: Any, model: dict[str, Any]) -> Factsheet:
    from opentrust.history import finished_results

    fp = model["fingerprint"]
    ev = _Evidence()
    for run, result in finished_results(store, fp, commands=ROOT_COMMANDS, limit=200):
        _offer(ev, result, run, fp)
    gates = store.gate_results(fingerprint=fp, full=True, limit=200)
    ident = ModelIdentity(fingerprint=fp, kind=model["kind"], names=sorted({n["spec"] for n in model["names"]}),
                          first_seen=model["first_seen"], last_seen=model["last_seen"])
    sections = _sections(ev, ident, gates)
    missing = [f"{s.title}: {i.label}" for s in sections for i in s.items if i.status == "missing"]
    sources = list(ev.sources.values()) + [Source(run_id=g["run_id"], command="gate", at=g["created_at"],
                                                  path=f"gate {g['policy']}") for g in _latest_gates(gates)]
    return Factsheet(model=ident, generated_at=utc_now(), sources=sources, sections=sections, missing=missing)


def _offer(ev: _Evidence, result: Any, run: dict[str, Any], fingerprint: str) -> None:
    src = Source(run_id=run["id"], command=run["command"], at=run["started_at"])
    if result.kind == "audit":
        ev.offer("target", result.target, src)
        for s in result.sections:
            if s.status in ("ok", "findings") and s.check != "gate":
                data = s.data.scan if s.check == "scan" and hasattr(s.data, "scan") else s.data
                ev.offer(s.check, (data, s), Source(run_id=run["id"], command="audit", at=run["started_at"],
                                                    path=f"sections.{s.check}"))
        return
    if result.kind == "compare":
        entry = next((m for m in result.models if m.fingerprint == fingerprint), None)
        if entry is not None:
            ev.offer("compare", (entry, result), src)
        return
    key = {"test": "behaviour"}.get(result.kind, result.kind)
    ev.offer(key, (result, None), src)


def _latest_gates(gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for g in gates:  # newest first
        latest.setdefault(g["policy"], g)
    return list(latest.values())


# -- sections ---------------------------------------------------------------------------------------------------------
def _p(label: str, value: Any, src: Source | None, path: str | None = None, note: str = "") -> Item:
    source = Source(run_id=src.run_id, command=src.command, at=src.at, path=path or src.path) if src else None
    return Item(label=label, value=value, status="present", source=source, note=note)


def _m(label: str, note: str) -> Item:
    return Item(label=label, status="missing", note=note)


def _n(label: str, note: str) -> Item:
    return Item(label=label, status="not observable", note=note)


def _rate(value: float | None, ci: Any) -> str:
    if value is None:
        return "not measured"
    inside = f" (95% interval {ci[0]:.3f}–{ci[1]:.3f})" if ci and None not in ci else ""
    return f"{value:.3f}{inside}"


def _sections(ev: _Evidence, ident: ModelIdentity, gates: list[dict[str, Any]]) -> list[FactSection]:
    facts, facts_src = ev.get("model_facts")
    f = facts[0].facts if facts else {}
    target, target_src = ev.get("target")
    scan, scan_src = ev.get("scan")
    openness, open_src = ev.get("openness")
    o = openness[0] if openness else None
    smoke, smoke_src = ev.get("smoke")
    behaviour, beh_src = ev.get("behaviour")
    redteam, rt_src = ev.get("redteam")
    fairness, fair_src = ev.get("fairness")
    compare, cmp_src = ev.get("compare")
    AUDIT = "run `opentrust audit TARGET`"

    def fact(label: str, key: str, note: str = AUDIT) -> Item:
        return _p(label, f[key], facts_src, f"model_facts.facts.{key}") if f.get(key) is not None else _m(label, note)

    # identity
    identity = [
        Item(label="Names seen", value=ident.names, status="present", source=Source(run_id=None, command="store")),
        Item(label="Fingerprint (sha256 of the weights)", value=ident.fingerprint, status="present",
             source=Source(run_id=None, command="store")),
        fact("Name in the file", "name"), fact("Architecture", "architecture"), fact("Parameters", "parameters"),
        fact("Quantization", "quantization"), fact("Context length (tokens)", "context_length"),
        fact("Tokenizer", "tokenizer"),
        _p("Chat template", f"present, sha256 {f['chat_template_sha256']}", facts_src, "model_facts.facts")
        if f.get("chat_template") else (_p("Chat template", "none in the file", facts_src, "model_facts.facts")
                                        if f else _m("Chat template", AUDIT)),
    ]
    # files
    files: list[Item] = []
    if target is not None:
        files.append(_p("Location", target.location, target_src, "target.location"))
        if target.size_bytes:
            files.append(_p("Weights size (bytes)", target.size_bytes, target_src, "target.size_bytes"))
    if scan is not None:
        doc = scan[0]
        for entry in doc.files[:50]:
            files.append(_p(f"File {entry.path}", f"{entry.format or 'unrecognised'}, {entry.size} bytes",
                            scan_src, "scan.files"))
    if not files:
        files.append(_m("Files", "run `opentrust audit TARGET` (the scan check lists every file)"))
    # licences and openness
    lic: list[Item] = []
    if o is not None:
        mof = o.mof
        dist = mof.distribution_license
        entry = next((e for e in o.licenses if e.get("id") == dist), None)
        lic.append(_p("Distribution licence", dist, open_src, "openness.mof.distribution_license") if dist
                   else _m("Distribution licence", "no licence found in the release: publish one"))
        if entry:
            lic.append(_p("Licence category", f"{entry['category']} ({entry['reason']})", open_src,
                          "openness.licenses"))
            restrictions = [f"{r['kind']}: {r['text']}" for r in entry.get("restrictions") or []]
            lic.append(_p("Licence restrictions", restrictions or "none found", open_src, "openness.licenses"))
        lic.append(_p("MOF class", f"{mof.class_} — {mof.label}", open_src, "openness.mof.class"))
        lic.append(_p("OSAID 1.0", f"{o.osaid.get('verdict')} ({o.osaid.get('summary')})", open_src,
                      "openness.osaid"))
        released = [c["name"] + ("" if c["status"] == "included" else f" ({c['status']})")
                    for c in mof.components if c["status"] not in ("missing", "unknown")]
        absent = [c["name"] for c in mof.components if c["required"] and c["status"] in ("missing", "unknown")]
        lic.append(_p("Components released", released, open_src, "openness.mof.components"))
        lic.append(_p("Required components not released", absent, open_src, "openness.mof.components"))
    else:
        lic.append(_m("Licences and openness", "run `opentrust audit TARGET` (openness check)"))
    # scan
    sc: list[Item] = []
    if scan is not None:
        doc = scan[0]
        counts = doc.summary.findings_by_severity
        sc.append(_p("Findings by severity", dict(counts), scan_src, "scan.summary.findings_by_severity"))
        worst = [f"{x.severity} {x.rule_id}: {x.title or x.message}"[:160] for x in doc.findings[:8]]
        sc.append(_p("Findings", worst or "none", scan_src, "scan.findings"))
    else:
        sc.append(_m("Artifact scan", "run `opentrust audit TARGET` or `opentrust scan`"))
    # behaviour
    beh: list[Item] = []
    if behaviour is not None:
        suite = behaviour[0].suite
        beh.append(_p("Mean case pass rate, all suites", _rate(suite.pass_rate, suite.ci) + f", {suite.cases} cases",
                      beh_src, "behaviour.suite"))
        for name, v in suite.by_suite.items():
            beh.append(_p(f"Suite {name}", _rate(v.pass_rate, v.ci) + f", {v.cases} cases", beh_src,
                          f"behaviour.suite.by_suite.{name}"))
    else:
        beh.append(_m("Behaviour suites", "run `opentrust audit TARGET` or `opentrust test --builtin`"))
    if smoke is not None:
        for m in smoke[1].measurements if smoke[1] is not None else []:
            if m.name in ("smoke.expected_answer_rate", "smoke.tokens_per_second", "smoke.latency_s"):
                ci = list(m.interval) if m.interval else None
                unit = m.unit if m.unit != "ratio" and m.value is not None else ""
                text = f"{_rate(m.value, ci)} {unit}".strip()
                beh.append(_p(m.label or m.name, text, smoke_src, f'measurements["{m.name}"]'))
    # red team
    rt: list[Item] = []
    if redteam is not None:
        data = redteam[0]
        s = data.summary
        rt.append(_p("Attack success, overall", _rate(s.attack_success.asr, s.attack_success.ci) +
                     f", {s.attack_success.samples} samples", rt_src, "redteam.summary.attack_success"))
        if s.over_refusal is not None:
            rt.append(_p("Over-refusal of benign prompts", _rate(s.over_refusal.asr, s.over_refusal.ci) +
                         f", {s.over_refusal.samples} samples", rt_src, "redteam.summary.over_refusal"))
        for name, g in data.categories.items():
            rt.append(_p(f"Category {name}", _rate(g.asr, g.ci) + f", {g.samples} samples ({g.evidence} evidence)",
                         rt_src, f"redteam.categories.{name}"))
    else:
        rt.append(_m("Red-team results", "run `opentrust audit TARGET` or `opentrust redteam TARGET`"))
    # fairness
    fa: list[Item] = []
    if fairness is not None:
        data = fairness[0]
        for r in data.counterfactual:
            gap = f"gap {r.max_gap:.3f}" if r.max_gap is not None else "no gap"
            fa.append(_p(f"{r.attribute} ({r.metric})", f"{r.verdict}; {gap}, tolerance {r.tolerance:g}", fair_src,
                         f"fairness.counterfactual[attribute={r.attribute}]"))
        if not data.counterfactual:
            fa.append(_m("Counterfactual comparisons", "run `opentrust fairness TARGET --builtin`"))
    else:
        fa.append(_m("Fairness", "run `opentrust audit TARGET` or `opentrust fairness TARGET --builtin`"))
    # comparisons
    cm: list[Item] = []
    if compare is not None:
        entry, full = compare[0]
        cm.append(_p("Compared with", [m.target for m in full.models if m.fingerprint != entry.fingerprint], cmp_src,
                     "compare.models"))
        cm.append(_p("Quality on the comparison's cases", _rate(entry.quality.mean, entry.quality.ci), cmp_src,
                     f"compare.models.{entry.name}.quality"))
        if entry.energy.wh_per_1k is not None:
            cm.append(_p("Energy per 1,000 queries (Wh)", f"{entry.energy.wh_per_1k:.3g} ({entry.energy.source})",
                         cmp_src, f"compare.models.{entry.name}.energy"))
        for pair in full.pairs:
            if entry.target in (pair.a, pair.b):
                verdict = pair.verdict if pair.a == entry.target else pair.reverse_verdict
                other = pair.b if pair.a == entry.target else pair.a
                cm.append(_p(f"Against {other}", verdict, cmp_src, "compare.pairs"))
        cm.append(_p("Recommendation of that comparison", f"{full.recommendation.target}: {full.recommendation.reason}",
                     cmp_src, "compare.recommendation"))
    else:
        cm.append(_m("Comparison with other models", "run `opentrust compare TARGET OTHER`"))
    # gates
    gt: list[Item] = []
    for g in _latest_gates(gates):
        c = g["counts"]
        failing = [r["id"] for r in g["result"].get("rules", []) if r.get("fails_gate")]
        value = (f"{g['verdict']} ({c.get('pass', 0)} pass, {c.get('fail', 0)} fail, {c.get('warn', 0)} warn, "
                 f"{c.get('unknown', 0)} unknown, {c.get('excepted', 0)} excepted)"
                 + (f"; failing: {', '.join(failing)}" if failing else ""))
        tier = f" ({g['tier']})" if g.get("tier") not in (None, g["policy"]) else ""  # a preset is its own tier
        gt.append(Item(label=f"Policy {g['policy']}{tier}", value=value, status="present",
                       source=Source(run_id=g["run_id"], command="gate", at=g["created_at"],
                                     path=f"gate {g['policy']}")))
    if not gt:
        gt.append(_m("Gate results", "run `opentrust gate --policy POLICY report.json` or `audit --policy`"))

    sections = [
        FactSection(id="identity", title="Identity", items=identity, refs=["eu-ai-act:annex-xi", "eu-ai-act:annex-xii"]),
        FactSection(id="files", title="Files and hashes", items=files),
        FactSection(id="licences", title="Licences and openness", items=lic, refs=["eu-ai-act:annex-xii"]),
        FactSection(id="scan", title="Artifact scan", items=sc),
        FactSection(id="behaviour", title="Behaviour", items=beh),
        FactSection(id="redteam", title="Red team", items=rt),
        FactSection(id="fairness", title="Fairness", items=fa),
        FactSection(id="comparisons", title="Comparisons", items=cm),
        FactSection(id="gates", title="Gate results", items=gt),
    ]
    by_label = {(s.id, i.label): i for s in sections for i in s.items}

    def ref(section: str, label: str) -> Callable[[str], Item]:
        def make(new_label: str) -> Item:
            item = by_label.get((section, label))
            if item is None or item.status != "present":
                return _m(new_label, (item.note if item else "") or "no evidence")
            return item.model_copy(update={"label": new_label})
        return make

    def component(name: str, label: str, publish: str) -> Item:
        if o is None:
            return _m(label, "run `opentrust audit TARGET` (openness check)")
        c = next((c for c in o.mof.components if c["name"] == name), None)
        if c is not None and c["status"] not in ("missing", "unknown"):
            where = next((e["where"] for e in c["evidence"] if e.get("where")), "")
            return _p(label, f"{name} published" + (f" ({where})" if where else "") +
                      ("" if c["status"] == "included" else f"; {c['status']}"), open_src,
                      f"openness.mof.components[name={name}]")
        return _m(label, f"no {name.lower()} in the release: {publish}")

    def aup(label: str) -> Item:
        if o is None:
            return _m(label, "run `opentrust audit TARGET` (openness check)")
        use = [r["text"] for e in o.licenses for r in e.get("restrictions") or []
               if str(r.get("kind", "")).startswith("use")]
        if use:
            return _p(label, use, open_src, "openness.licenses")
        return _n(label, "no use restrictions found in the licences; any acceptable-use policy must come from the "
                         "provider")

    modality = (_p("Modality and format of inputs and outputs", "text in, text out (GGUF "
                   f"{f.get('quantization') or ''} language model" + (", chat template" if f.get("chat_template")
                                                                    else "") + ")", facts_src, "model_facts.facts")
                if f else _m("Modality and format of inputs and outputs", AUDIT))
    runtime = (_p("Runtime used", dict(smoke[0].backend), smoke_src, "smoke.backend") if smoke is not None
               else _m("Runtime used", AUDIT))
    energy = (ref("comparisons", "Energy per 1,000 queries (Wh)")("Known or estimated energy consumption (XI 2(e))")
              if compare is not None else _m("Known or estimated energy consumption (XI 2(e))",
                                              "run `opentrust compare TARGET OTHER` (energy per 1,000 queries)"))
    annex_xi = [
        component("Model card", "Intended tasks and AI systems it fits (XI 1(a))", "publish a model card"),
        aup("Acceptable use policies (XI 1(b))"),
        _n("Date of release and methods of distribution (XI 1(c))", "not in the artifacts: the provider states it"),
        ref("identity", "Architecture")("Architecture (XI 1(d))"),
        ref("identity", "Parameters")("Number of parameters (XI 1(d))"),
        modality.model_copy(update={"label": modality.label + " (XI 1(e))"}),
        ref("licences", "Distribution licence")("Licence (XI 1(f))"),
        runtime.model_copy(update={"label": "Technical means for integration (XI 2(a))"}),
        component("Technical report", "Design specifications and training process (XI 2(b))",
                  "publish a technical report"),
        component("Data card", "Data used for training, testing and validation (XI 2(c))", "publish a data card"),
        _n("Computational resources used to train (XI 2(d))", "not in the artifacts: the provider states it"),
        energy,
        ref("behaviour", "Mean case pass rate, all suites")("Evaluation strategies and results (XI section 2, 1)"),
        ref("redteam", "Attack success, overall")("Adversarial testing (XI section 2, 2)"),
    ]
    annex_xii = [
        component("Model card", "Intended tasks and type of AI systems (XII 1(a))", "publish a model card"),
        aup("Acceptable use policies (XII 1(b))"),
        _n("Date of release and methods of distribution (XII 1(c))", "not in the artifacts: the provider states it"),
        runtime.model_copy(update={"label": "Interaction with hardware and software (XII 1(d))"}),
        runtime.model_copy(update={"label": "Versions of relevant software (XII 1(e))"}),
        ref("identity", "Architecture")("Architecture (XII 1(f))"),
        ref("identity", "Parameters")("Number of parameters (XII 1(f))"),
        modality.model_copy(update={"label": modality.label + " (XII 1(g))"}),
        ref("licences", "Distribution licence")("Licence (XII 1(h))"),
        component("Model card", "Technical means for integration: instructions of use (XII 2(a))",
                  "publish a model card with instructions of use"),
        ref("identity", "Context length (tokens)")("Maximum input size: context length (XII 2(b))"),
        component("Data card", "Data used for training, testing and validation (XII 2(c))", "publish a data card"),
    ]
    sections.append(FactSection(id="annex-xi", title="EU AI Act Annex XI: technical documentation",
                                refs=["eu-ai-act:art-53(1)(a)", "eu-ai-act:annex-xi"], items=annex_xi))
    sections.append(FactSection(id="annex-xii", title="EU AI Act Annex XII: information for downstream providers",
                                refs=["eu-ai-act:art-53(1)(b)", "eu-ai-act:annex-xii"], items=annex_xii))
    return sections


# -- rendering --------------------------------------------------------------------------------------------------------
def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _source_text(src: Source | None) -> str:
    if src is None:
        return ""
    if src.run_id is None:
        return f"{src.command}"
    if src.command == "gate":  # a gate has no run of its own: it judged one
        return f"{src.path or 'gate'} on run {src.run_id}" + (f", {src.at[:10]}" if src.at else "")
    return f"{src.command} run {src.run_id}" + (f", {src.at[:10]}" if src.at else "") + (
        f", `{src.path}`" if src.path else "")


def _code_html(text: str) -> Any:
    """Text for HTML: escaped, with what Markdown puts in backticks (a command, an evidence path) as code."""
    import re

    from markupsafe import Markup, escape

    return Markup(re.sub(r"`([^`]*)`", r"<code>\1</code>", str(escape(text))))


def _counts(sheet: Factsheet) -> str:
    runs = sum(1 for s in sheet.sources if s.command != "gate")
    gates = len(sheet.sources) - runs
    return f"{runs} stored run(s)" + (f" and {gates} gate result(s)" if gates else "")


def to_markdown(sheet: Factsheet) -> str:
    m = sheet.model
    lines = [f"# Model factsheet: {', '.join(m.names) or m.fingerprint[:16]}", "",
             f"Fingerprint `{m.fingerprint}` · {m.kind} · first seen {m.first_seen} · last seen {m.last_seen}  ",
             f"Generated by opentrust on {sheet.generated_at} from {_counts(sheet)}. Every statement names the run "
             "that produced it; items without evidence are marked **MISSING**.", ""]
    for s in sheet.sections:
        lines += [f"## {s.title}", ""]
        if s.refs:
            lines += [f"References: {', '.join(s.refs)}", ""]
        for i in s.items:
            if i.status == "present":
                src = _source_text(i.source)
                lines.append(f"- **{i.label}**: {_value_text(i.value)}" + (f" — _{src}_" if src else "")
                             + (f" ({i.note})" if i.note else ""))
            elif i.status == "missing":
                lines.append(f"- **{i.label}**: **MISSING** — {i.note}")
            else:
                lines.append(f"- **{i.label}**: not observable by opentrust — {i.note}")
        lines.append("")
    lines += ["## Missing items", ""] + ([f"- {x}" for x in sheet.missing] or ["- none"]) + [""]
    lines += ["## Sources", ""] + [f"- {_source_text(s)}" for s in sheet.sources] + [""]
    return "\n".join(lines)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Model factsheet — {{ title }}</title><style>
{% include "_style.css.j2" %}
.missing { color: #b91c1c; font-weight: 600 } .unobservable { color: #b45309 }
</style></head><body>
<header><h1>Model factsheet: {{ title }}</h1>
<div class="muted">fingerprint <code>{{ sheet.model.fingerprint }}</code> · {{ sheet.model.kind }} · generated
{{ sheet.generated_at }} from {{ counts(sheet) }}</div>
<nav aria-label="Sections"><ul>{% for s in sheet.sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}
<li><a href="#missing">Missing items ({{ sheet.missing | length }})</a></li></ul></nav></header>
<main>
{% for s in sheet.sections %}
<section class="check" id="{{ s.id }}"><h2>{{ s.title }}</h2>
{% if s.refs %}<p class="muted">{{ s.refs | join(', ') }}</p>{% endif %}
<table class="data"><thead><tr><th>item</th><th>value</th><th>source</th></tr></thead><tbody>
{% for i in s.items %}<tr><td>{{ i.label }}</td>
{% if i.status == "present" %}<td>{{ value_text(i.value) }}{% if i.note %} <span class="muted">({{ code(i.note) }})</span>{% endif %}</td><td class="muted">{{ source_text(i.source) }}</td>
{% elif i.status == "missing" %}<td class="missing">MISSING — {{ code(i.note) }}</td><td></td>
{% else %}<td class="unobservable">not observable by opentrust — {{ code(i.note) }}</td><td></td>{% endif %}</tr>
{% endfor %}</tbody></table></section>
{% endfor %}
<section class="check" id="missing"><h2>Missing items</h2><ul>{% for x in sheet.missing %}<li>{{ x }}</li>{% else %}<li>none</li>{% endfor %}</ul></section>
</main><footer>Generated by opentrust · factsheet schema {{ sheet.schema_version }} · self-contained, works offline.</footer>
</body></html>
"""


def to_html(sheet: Factsheet) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("opentrust.report", "templates"), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    title = ", ".join(sheet.model.names) or sheet.model.fingerprint[:16]
    return env.from_string(_HTML).render(sheet=sheet, title=title, value_text=_value_text, code=_code_html,
                                        source_text=lambda src: _code_html(_source_text(src)), counts=_counts)
