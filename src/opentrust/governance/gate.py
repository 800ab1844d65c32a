"""`opentrust gate` and `opentrust audit --policy`: a policy's verdict on result files or on a fresh audit report,
kept in the store so that `opentrust models` and `opentrust history` show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentrust.governance.evaluate import evaluate
from opentrust.governance.evidence import collect, load_inputs
from opentrust.governance.policy import LoadedPolicy, load_policy
from opentrust.results.gate import GateResult


def gate_files(policy: str | Path, reports: list[Path], *, db: Any = None, record: bool = True) -> GateResult:
    """Evaluate a policy (a file, or a preset by tier name) on result files."""
    loaded = load_policy(policy)
    result = evaluate(loaded, load_inputs(reports))
    if record:
        record_gate(result, db)
    return result


def gate_report(loaded: LoadedPolicy, report: Any, label: str = "report.json") -> GateResult:
    """Evaluate a policy on an audit report object (the fresh report of `audit --policy`)."""
    return evaluate(loaded, collect([(label, report)]))


def record_gate(result: GateResult, db: Any = None) -> None:
    """Keep the verdict in the store, for the model and run it judged (a result without a model is not kept)."""
    from opentrust.store import Store

    fingerprint = result.target.get("fingerprint")
    if not fingerprint:
        return
    run_id = next((i.run_id for i in result.inputs if i.kind == "audit" and i.run_id), None) or next(
        (i.run_id for i in result.inputs if i.run_id), None)
    t = result.target
    with Store(db) as store:
        # a report from elsewhere makes its model known to this store too (`opentrust models` lists it)
        store.record_model(fingerprint, t.get("kind") or "unknown", t.get("spec") or t.get("name") or fingerprint[:16],
                           t.get("name") or fingerprint[:16], t.get("location"))
        store.record_gate(result.model_dump(mode="json", by_alias=True), fingerprint, run_id)


class AuditGate:
    """`opentrust audit --policy`: the policy is read before the audit runs; ``attach`` gates the finished report
    and adds the gate section (and gate.json) to it before it is written; ``finish`` keeps the verdict in the store
    and prints the gate's table."""

    def __init__(self, policy: str | Path):
        self.loaded = load_policy(policy)
        self.result: GateResult | None = None

    def attach(self, report: Any) -> None:
        from opentrust.governance.render import section

        self.result = gate_report(self.loaded, report)
        report.sections.append(section(self.result))

    def finish(self, db: Any, console: Any) -> None:
        from opentrust.governance.render import print_table

        assert self.result is not None
        record_gate(self.result, db)
        print_table(self.result, console)
