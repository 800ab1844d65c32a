"""The JSON API: for every page, the data it shows (the same dict the page's template renders).

    GET /api/models                 the inventory (?q= &mof= &scan= &gate= &sort= &desc= &page= &limit=)
    GET /api/models/{fingerprint}   one model: names, runs (paginated), trend series, findings, licences
    GET /api/runs/{run_id}          a run's stored result (the report JSON)
    GET /api/compare?m=FP&m=FP      the picked models and the newest stored comparison covering them
    GET /api/redteam/{run_id}       the heat map: categories × techniques with rates, intervals and probe counts
    GET /api/redteam/{run_id}/cell  ?category= &technique= : probes, outputs, detector labels, reviews (paginated)
    GET /api/review                 detectors' error before/after reviews and the labelled outputs (paginated)
    GET /api/guard                  guard decisions (?rule= &since= &after=SEQ &page= &limit=), blocks per rule;
                                    ?verify=1 also recomputes the hash chain
    GET /api/reports                report files indexed from --reports folders

Errors are ``{"error": ..., "hint": ...}`` with status 400 (bad parameter) or 404 (unknown model, run...).
"""

from __future__ import annotations

from typing import Any


def _json(data: dict[str, Any]) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({k: v for k, v in data.items() if not k.startswith("_")})


def routes() -> list[Any]:
    from starlette.routing import Route

    from opentrust.ui import views

    async def models(request: Any) -> Any:
        return _json(views.models_data(request))

    async def model(request: Any) -> Any:
        return _json(views.model_data(request))

    async def run(request: Any) -> Any:
        return _json(views.run_data(request))

    async def compare(request: Any) -> Any:
        return _json(views.compare_data(request))

    async def redteam(request: Any) -> Any:
        return _json(views.redteam_data(request))

    async def cell(request: Any) -> Any:
        return _json(views.cell_data(request))

    async def review(request: Any) -> Any:
        return _json(views.review_data(request))

    async def guard(request: Any) -> Any:
        return _json(views.guard_data(request, verify=request.query_params.get("verify") == "1"))

    async def reports(request: Any) -> Any:
        return _json(views.reports_data(request))

    return [Route("/api/models", models), Route("/api/models/{fingerprint}", model), Route("/api/runs/{run_id}", run),
            Route("/api/compare", compare), Route("/api/redteam/{run_id}", redteam),
            Route("/api/redteam/{run_id}/cell", cell), Route("/api/review", review), Route("/api/guard", guard),
            Route("/api/reports", reports)]
