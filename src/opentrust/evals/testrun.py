"""One test run end to end (target → store → sampler → runner → results), shared by `opentrust test`, the
audit's behaviour check and the pytest plugin, so none of them holds engine logic."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from opentrust.evals.runner import CaseResult, JudgePool, Runner, RunStats, summarize, summarize_by_suite
from opentrust.results.test import SCHEMA_VERSION  # the version its model reads back

if TYPE_CHECKING:
    from opentrust.evals.suite import CaseSpec
    from opentrust.session import RunSession
    from opentrust.target import Target



@dataclass
class TestRun:
    model: dict[str, Any]
    results: list[CaseResult]
    stats: RunStats
    run_id: str = ""
    resumed: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    #: where the samples were drawn (opentrust.executor's ``describe``); None: this process
    executor: dict[str, Any] | None = None

    __test__ = False  # not a pytest test class

    @property
    def suite(self) -> dict[str, Any]:
        return {**summarize(self.results), "by_suite": summarize_by_suite(self.results),
                "generated": self.stats.generated, "reused": self.stats.reused}

    def failed(self, fail_on_inconclusive: bool = False) -> bool:
        bad = {"fail", "error"} | ({"inconclusive"} if fail_on_inconclusive else set())
        return any(r.verdict in bad for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": "test", "model": self.model, "run_id": self.run_id,
                "executor": self.executor,
                "parameters": self.parameters,
                "cases": [r.to_json() for r in self.results], "suite": self.suite}


async def run_cases_async(cases: list["CaseSpec"], session: "RunSession", *, seed: int = 0,
                          judge: str | None = None, api_key_env: str | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> tuple[list[CaseResult], RunStats]:
    """Run ``cases`` on the session's target (samples cached and linked to the session's run)."""
    pool = JudgePool(session, judge, api_key_env=api_key_env)
    runner = Runner(session.sampler(), seed=seed, judge=pool, progress=progress)
    results = await runner.run(cases)
    return results, runner.stats


def run_cases(cases: list["CaseSpec"], model: "str | Target", *, db: Path | str | None = None, seed: int = 0,
              use_cache: bool = True, concurrency: int | None = None, judge: str | None = None,
              api_key_env: str | None = None, command: str = "test",
              parameters: dict[str, Any] | None = None, model_id: str | None = None, backend: Any = None,
              progress: Callable[[str, int, int], None] | None = None, executor: Any = None) -> TestRun:
    """Run ``cases`` against the target ``model`` (a spec: smollm2, a .gguf, openai:URL#MODEL) in one session."""
    from opentrust.executor import result_block
    from opentrust.session import RunSession

    params = {"seed": seed, "cases": [c.id for c in cases], "judge": judge, **(parameters or {})}
    with RunSession(model, command, params, db=db, api_key_env=api_key_env, model_id=model_id,
                    use_cache=use_cache, concurrency=concurrency, backend=backend, executor=executor) as session:
        results, stats = session.run(lambda: run_cases_async(cases, session, seed=seed, judge=judge,
                                                             api_key_env=api_key_env, progress=progress))
        run = TestRun(model=session.model_info(), results=results, stats=stats, run_id=session.run_id,
                      resumed=session.resumed, parameters={**params, "use_cache": use_cache, "cases": len(cases)},
                      executor=result_block(executor))
        session.finish(run.to_json())
    return run

