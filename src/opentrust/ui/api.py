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

    def endpoint(data: Any) -> Any:
        async def serve(request: Any) -> Any:
            return _json(data(request))

        return serve

    def guard(request: Any) -> dict[str, Any]:
        return views.guard_data(request, verify=request.query_params.get("verify") == "1")

    table = {"/api/models": views.models_data, "/api/models/{fingerprint}": views.model_data,
             "/api/runs/{run_id}": views.run_data, "/api/compare": views.compare_data,
             "/api/redteam/{run_id}": views.redteam_data, "/api/redteam/{run_id}/cell": views.cell_data,
             "/api/review": views.review_data, "/api/guard": guard, "/api/reports": views.reports_data}
    return [Route(path, endpoint(data)) for path, data in table.items()]
