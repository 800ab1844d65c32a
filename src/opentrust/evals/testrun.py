"""One test run end to end (target → store → sampler → runner → results), shared by `opentrust test`, the
audit's behaviour check and the pytest plugin, so none of them holds engine logic."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from opentrust.evals.runner import CaseResult, JudgePool, Runner, RunStats, summarize, summarize_by_suite

if TYPE_CHECKING:
    from opentrust.evals.suite import CaseSpec
    from opentrust.store import Store
    from opentrust.target import Target

SCHEMA_VERSION = "1.0"


@dataclass
class TestRun:
    model: dict[str, Any]
    results: list[CaseResult]
    stats: RunStats
    run_id: str = ""
    resumed: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest test class

    @property
    def suite(self) -> dict[str, Any]:
        return {**summarize(self.results), "by_suite": summarize_by_suite(self.results),
                "generated": self.stats.generated, "reused": self.stats.reused}

    def failed(self, fail_on_inconclusive: bool = False) -> bool:
        bad = {"fail", "error"} | ({"inconclusive"} if fail_on_inconclusive else set())
        return any(r.verdict in bad for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "model": self.model, "run_id": self.run_id,
                "parameters": self.parameters,
                "cases": [r.to_json() for r in self.results], "suite": self.suite}


async def run_cases_async(cases: list["CaseSpec"], target: "Target", store: "Store", *, fingerprint: str,
                          run_id: str | None = None, seed: int = 0, use_cache: bool = True,
                          concurrency: int | None = None, judge: str | None = None,
                          api_key_env: str | None = None, backend: Any = None,
                          progress: Callable[[str, int, int], None] | None = None) -> tuple[list[CaseResult], RunStats]:
    from opentrust.sampler import Sampler

    own_backend = backend is None
    backend = backend or target.backend(**({"concurrency": concurrency} if concurrency and target.kind == "endpoint" else {}))
    sampler = Sampler(backend, store, fingerprint, run_id=run_id, use_cache=use_cache, concurrency=concurrency)
    pool = JudgePool(store, judge, fallback=sampler, use_cache=use_cache, api_key_env=api_key_env)
    runner = Runner(sampler, seed=seed, judge=pool, progress=progress)
    try:
        results = await runner.run(cases)
    finally:
        await pool.aclose()
        if own_backend:
            await backend.aclose()
    return results, runner.stats


def run_cases(cases: list["CaseSpec"], model: str, *, db: Path | str | None = None, seed: int = 0,
              use_cache: bool = True, concurrency: int | None = None, judge: str | None = None,
              api_key_env: str | None = None, command: str = "test",
              parameters: dict[str, Any] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> TestRun:
    """Run ``cases`` against the target ``model`` (a spec: smollm2, a .gguf, openai:URL#MODEL)."""
    from opentrust.store import Store
    from opentrust.target import resolve_target

    target = resolve_target(model, api_key_env=api_key_env)
    if not target.can_generate:
        from opentrust.errors import UserError

        raise UserError(f"{model} cannot generate text", "pass a .gguf file, smollm2 or openai:<url>#<model>")
    params = {"seed": seed, "cases": [c.id for c in cases], "judge": judge, **(parameters or {})}
    with Store(db) as store:
        fingerprint = target.fingerprint(store)
        run_id, resumed = store.start_run(command, target.spec, fingerprint, params)
        try:
            results, stats = asyncio.run(run_cases_async(
                cases, target, store, fingerprint=fingerprint, run_id=run_id, seed=seed, use_cache=use_cache,
                concurrency=concurrency, judge=judge, api_key_env=api_key_env, progress=progress))
        except BaseException:
            store.finish_run(run_id, "interrupted")
            raise
        run = TestRun(model={"spec": target.spec, "name": target.name, "kind": target.kind,
                             "fingerprint": fingerprint}, results=results, stats=stats, run_id=run_id,
                      resumed=resumed, parameters={**params, "use_cache": use_cache, "cases": len(cases)})
        import json

        store.finish_run(run_id, "done", json.dumps(run.to_json()))
    return run
