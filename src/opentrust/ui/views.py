"""The UI's pages. Each page has a data function (plain JSON-ready dict, also served under ``/api/``) and a
template that renders it; the queries behind them are ``opentrust.ui.queries`` (read-only, paginated).

Filters and sorting are query parameters handled here, so they work with JavaScript off; the script only
enhances (client-side sort of the rows shown, filter-as-you-type, live refresh of the guard log).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from opentrust.errors import UserError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
NAV = (("/models", "Models"), ("/compare", "Compare"), ("/review", "Review"), ("/guard", "Guard"),
       ("/reports", "Report files"))


class NotFound(Exception):
    """A page asked for something the store does not hold (404 with a one-line reason)."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


# -- request helpers --------------------------------------------------------------------------------------------------
def paging(request: Any, default: int = DEFAULT_LIMIT) -> tuple[int, int, int]:
    """(page, limit, offset) from ``?page=`` (1-based) and ``?limit=`` (at most MAX_LIMIT)."""
    page = _int(request.query_params.get("page"), 1, "page")
    limit = _int(request.query_params.get("limit"), default, "limit")
    page, limit = max(1, page), max(1, min(MAX_LIMIT, limit))
    return page, limit, (page - 1) * limit


def _int(text: str | None, default: int, name: str) -> int:
    if text in (None, ""):
        return default
    try:
        return int(str(text))
    except ValueError:
        raise UserError(f"{name} must be a whole number, not {text!r}", f"e.g. ?{name}=2") from None


def pager(page: int, limit: int, total: int | None, shown: int) -> dict[str, Any]:
    """Pagination facts a template turns into previous/next links (``total`` None when not counted)."""
    has_next = (page * limit < total) if total is not None else shown >= limit
    return {"page": page, "limit": limit, "total": total, "shown": shown, "has_prev": page > 1, "has_next": has_next,
            "pages": None if total is None else max(1, -(-total // limit))}


def state(request: Any) -> Any:
    return request.app.state.ui


# -- pages' data ------------------------------------------------------------------------------------------------------
INVENTORY_FILTERS = ("q", "mof", "scan", "gate")
#: what the filter menus offer (queries.inventory compares a model's newest figure to it; "none": it has none)
FILTER_CHOICES = {"mof": ("III", "II", "I", "unclassified", "none"),
                  "scan": ("clean", "low", "medium", "high", "critical", "none"),
                  "gate": ("pass", "conditional", "fail", "none")}
DESC_FIRST = ("last_run", "first_seen", "attack_success", "over_refusal", "scan", "gate")


def models_data(request: Any) -> dict[str, Any]:
    from opentrust.ui import queries

    st = state(request)
    page, limit, offset = paging(request)
    filters = {k: (request.query_params.get(k) or None) for k in INVENTORY_FILTERS}
    sort = request.query_params.get("sort") or "last_run"
    desc = request.query_params.get("desc", "1" if sort in DESC_FIRST else "0") != "0"
    data = queries.inventory(st.store, **filters, sort=sort, desc=desc, limit=limit, offset=offset)
    return {"filters": filters, "choices": FILTER_CHOICES, "sorts": queries.SORTS, "sort": sort, "desc": desc,
            "total": data["total"], "items": data["items"],
            "pager": pager(page, limit, data["total"], len(data["items"]))}


def model_data(request: Any) -> dict[str, Any]:
    from opentrust.ui import queries

    fp = request.path_params["fingerprint"]
    page, limit, offset = paging(request)
    try:
        detail = queries.model_detail(state(request).store, fp, limit=limit, offset=offset)
    except UserError as exc:
        raise NotFound(exc.message, exc.hint or "pick one on the Models page") from None
    return {**detail, "pager": pager(page, limit, detail.get("runs_total"), len(detail.get("runs") or []))}


def run_data(request: Any) -> dict[str, Any]:
    from opentrust.ui import queries

    run_id = request.path_params["run_id"]
    try:
        return queries.run_report(state(request).store, run_id)
    except UserError as exc:
        raise NotFound(exc.message, exc.hint or "pick a run on a model's page") from None


def _result(request: Any, run_id: str) -> Any:
    """The run's result object (what the report templates render)."""
    try:
        result = state(request).store.run_result(run_id)
    except UserError as exc:
        raise NotFound(exc.message, exc.hint or "pick a run on a model's page") from None
    if result is None:
        raise NotFound(f"run {run_id} has no result (still running, interrupted or failed)",
                       "re-run the command to finish it")
    return result


def compare_data(request: Any) -> dict[str, Any]:
    """The newest stored comparison that covers every picked model (``?m=FP`` twice or more), plus each picked
    model's inventory row, so the models sit side by side even before they were compared."""
    from opentrust.ui import queries

    st = state(request)
    picked = [m for m in request.query_params.getlist("m") if m]
    listing = queries.inventory(st.store, limit=MAX_LIMIT)
    choices = listing["items"]
    if picked:  # picked models beyond the first page of the listing are still found
        missing = [m for m in picked if m not in {r["fingerprint"] for r in choices}]
        for fp in missing:
            try:
                choices.append(queries.model_detail(st.store, fp, limit=1)["model"])
            except UserError:
                pass
    rows = {r["fingerprint"]: r for r in choices}
    unknown = [m for m in picked if m not in rows]
    if unknown:
        raise NotFound(f"no model {unknown[0]} in the store", "pick models from the list")
    found = find_comparison(st.store, picked) if len(picked) >= 2 else None
    return {"picked": picked, "choices": [{"fingerprint": r["fingerprint"], "names": r.get("names") or []}
                                          for r in choices],
            "models": [rows[m] for m in picked],
            "comparison": None if found is None else {"run_id": found[0],
                                                      "result": found[1].model_dump(mode="json", by_alias=True)},
            "_result": None if found is None else found[1]}


def find_comparison(store: Any, fingerprints: list[str], scan: int = 50) -> tuple[str, Any] | None:
    """(run id, CompareResult) of the newest finished ``opentrust compare`` run that compared all of
    ``fingerprints`` (a web-layer lookup: it reads at most ``scan`` of one model's compare runs)."""
    from opentrust.history import finished_results

    wanted = set(fingerprints)
    for run, result in finished_results(store, fingerprints[0], command="compare", limit=scan):
        if wanted <= {m.fingerprint for m in result.models}:
            return run["id"], result
    return None


def redteam_data(request: Any) -> dict[str, Any]:
    """The heat map, corrected with the detectors' error rates including the human reviews."""
    from opentrust.ui import queries, reviews

    run_id = request.path_params["run_id"]
    st = state(request)
    try:
        data = queries.redteam_cells(st.store, run_id, rates_for=reviews.reviewed_rates_for(st.store))
    except UserError as exc:
        raise NotFound(exc.message, exc.hint or "pick a red-team or audit run") from None
    grid: dict[str, dict[str, Any]] = {}
    for cell in data["cells"]:
        grid.setdefault(cell["category"], {})[cell["technique"]] = cell
    return {**data, "_grid": grid}


def cell_data(request: Any) -> dict[str, Any]:
    from opentrust.ui import queries

    run_id = request.path_params["run_id"]
    category = request.query_params.get("category") or ""
    technique = request.query_params.get("technique") or ""
    if not category or not technique:
        raise UserError("a cell needs ?category= and ?technique=", "follow a link from the heat map")
    page, limit, offset = paging(request, default=20)
    try:
        data = queries.redteam_cell(state(request).store, run_id, category, technique, limit=limit, offset=offset)
    except UserError as exc:
        raise NotFound(exc.message, exc.hint) from None
    from opentrust.redteam.catalogue import DETECTOR_LABELS

    return {**data, "pager": pager(page, limit, data.get("total"), len(data.get("probes") or [])),
            "_labels": {p["detector"]: list(DETECTOR_LABELS.get(p["detector"], ())) for p in data["probes"]}}


def review_data(request: Any) -> dict[str, Any]:
    """The detectors' measured error before and after the human reviews, and the reviews (newest first)."""
    from opentrust.ui import reviews

    st = state(request)
    page, limit, offset = paging(request, default=20)
    items = reviews.reviews(st.store, limit=limit, offset=offset)
    return {**reviews.detector_error_view(st.store), "allow_review": st.config.allow_review, "items": items,
            "pager": pager(page, limit, None, len(items))}


def guard_data(request: Any, verify: bool = True) -> dict[str, Any]:
    from opentrust.ui import queries

    st = state(request)
    path = st.guard_log
    page, limit, offset = paging(request)
    rule = request.query_params.get("rule") or None
    since = request.query_params.get("since") or None
    if not path.exists():
        return {"log": str(path), "exists": False, "items": [], "chain": None, "blocks": None,
                "pager": pager(page, limit, 0, 0), "rule": rule, "since": since}
    log = queries.guard_log(path, since=since, rule=rule, decision=request.query_params.get("decision") or None,
                            limit=limit, offset=offset, verify=verify)
    after = _int(request.query_params.get("after"), 0, "after")
    if after:  # live refresh: only the decisions newer than the page's newest
        log["items"] = [d for d in log["items"] if d["seq"] > after]
    return {"log": str(path), "exists": True, "rule": rule, "since": since, **log, "chain": log.get("verify"),
            "blocks": queries.guard_blocks_over_time(path, bucket=request.query_params.get("bucket") or "hour",
                                                     since=since),
            "pager": pager(page, limit, log.get("total"), len(log.get("items") or []))}


def reports_data(request: Any) -> dict[str, Any]:
    st = state(request)
    return {"folders": [str(p) for p in st.config.reports],
            "items": [{**r, "index": i} for i, r in enumerate(st.reports)]}


def report_file(request: Any, index: int) -> dict[str, Any]:
    st = state(request)
    if not 0 <= index < len(st.reports):
        raise NotFound(f"no report file number {index}", "pick one on the Report files page")
    return st.reports[index]


# -- rendering ----------------------------------------------------------------------------------------------------------
def render(request: Any, template: str, status_code: int = 200, **context: Any) -> Any:
    from starlette.responses import HTMLResponse

    st = state(request)
    html = st.env.get_template(template).render(
        nav=NAV, here=request.url.path, allow_review=st.config.allow_review, qs=_qs(request), tojson=_tojson,
        **context)
    return HTMLResponse(html, status_code=status_code)


def _qs(request: Any) -> Any:
    """``qs(page=2)``: this page's query string with some parameters replaced (None drops one)."""
    current = list(request.query_params.multi_items())

    def build(**changes: Any) -> str:
        kept = [(k, v) for k, v in current if k not in changes]
        kept += [(k, str(v)) for k, v in changes.items() if v is not None]
        return "?" + urlencode(kept) if kept else "?"

    return build


def _tojson(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


async def models_page(request: Any) -> Any:
    return render(request, "models.html.j2", data=models_data(request))


async def model_page(request: Any) -> Any:
    return render(request, "model.html.j2", data=model_data(request))


async def run_page(request: Any) -> Any:
    result = _result(request, request.path_params["run_id"])
    return render_result(request, result, request.path_params["run_id"])


def render_result(request: Any, result: Any, run_id: str | None, source: str | None = None) -> Any:
    """An audit with report.html.j2, a comparison with compare.html.j2 (each extended with the site navigation),
    any other result as its JSON (escaped) with a link to its red-team page where it has one."""
    if result.kind == "audit":
        return render(request, "run.html.j2", report=result, run_id=run_id, source=source,
                      has_redteam=any(s.check == "redteam" and s.status in ("ok", "findings") for s in result.sections))
    if result.kind == "compare":
        from opentrust.compare.report import html_context

        return render(request, "compare_run.html.j2", run_id=run_id, source=source, **html_context(result))
    return render(request, "result.html.j2", result=result, run_id=run_id, source=source,
                  doc=result.model_dump(mode="json", by_alias=True))


async def run_json(request: Any) -> Any:
    from starlette.responses import Response

    result = _result(request, request.path_params["run_id"])
    return Response(result.model_dump_json(indent=2, by_alias=True), media_type="application/json",
                    headers={"content-disposition": f"attachment; filename=report-{request.path_params['run_id']}.json"})


async def compare_page(request: Any) -> Any:
    data = compare_data(request)
    result = data.pop("_result")
    if result is None:
        return render(request, "compare_pick.html.j2", data=data)
    from opentrust.compare.report import html_context

    return render(request, "compare_page.html.j2", data=data, **html_context(result))


async def redteam_page(request: Any) -> Any:
    return render(request, "redteam.html.j2", data=redteam_data(request))


SESSION_COOKIE = "opentrust_ui_session"


def with_form_session(request: Any, template: str, **context: Any) -> Any:
    """Render a page that may hold review forms: with --allow-review, a session cookie (SameSite=Strict,
    HttpOnly) and a CSRF token bound to it and to this server's secret."""
    import secrets

    from opentrust.ui import reviews

    st = state(request)
    if not st.config.allow_review:
        return render(request, template, csrf=None, **context)
    session = request.cookies.get(SESSION_COOKIE) or secrets.token_hex(16)
    response = render(request, template, csrf=reviews.csrf_token(st.config.secret, session), **context)
    if request.cookies.get(SESSION_COOKIE) != session:
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
    return response


async def cell_page(request: Any) -> Any:
    return with_form_session(request, "cell.html.j2", data=cell_data(request))


async def review_page(request: Any) -> Any:
    return with_form_session(request, "review.html.j2", data=review_data(request),
                             done=request.query_params.get("done"))


REVIEW_FIELDS = ("run_id", "probe_id", "sample_index", "label_after", "reviewer", "note")


async def review_post(request: Any) -> Any:
    """The only write: mounted with --allow-review only; a form post carrying the CSRF token of this server
    bound to the browser's session cookie."""
    from urllib.parse import parse_qs

    from starlette.responses import RedirectResponse

    from opentrust.ui import reviews

    st = state(request)
    body = (await request.body())[:65536].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    session = request.cookies.get(SESSION_COOKIE, "")
    if not reviews.check_csrf(st.config.secret, session, form.get("csrf")):
        return render(request, "error.html.j2", status_code=403, message="the form's CSRF token is missing or wrong",
                      hint="reload the page and submit the review from there")
    missing = [k for k in REVIEW_FIELDS[:5] if not form.get(k, "").strip()]
    if missing:
        return render(request, "error.html.j2", status_code=400, message=f"the review lacks {', '.join(missing)}",
                      hint="fill in every field of the review form")
    try:
        review = reviews.add_review(st.store, **{k: form.get(k) for k in REVIEW_FIELDS})
    except UserError as exc:
        return render(request, "error.html.j2", status_code=400, message=exc.message, hint=exc.hint)
    review_id = review["id"]
    back = form.get("back") or "/review"
    if not back.startswith("/") or back.startswith("//"):
        back = "/review"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={review_id}", status_code=303)


async def guard_page(request: Any) -> Any:
    return render(request, "guard.html.j2", data=guard_data(request))


async def reports_page(request: Any) -> Any:
    return render(request, "reports.html.j2", data=reports_data(request))


async def report_file_page(request: Any) -> Any:
    from opentrust.results import read_result

    entry = report_file(request, int(request.path_params["index"]))
    try:
        result = read_result(entry["path"])
    except UserError as exc:
        raise NotFound(exc.message, exc.hint) from None
    return render_result(request, result, None, source=str(entry["path"]))


async def aibom(request: Any) -> Any:
    from starlette.responses import Response

    fp = request.path_params["fingerprint"]
    doc = model_aibom(state(request).store, fp)
    if doc is None:
        raise NotFound(f"no AI BOM for model {fp}: no audit of it ran the openness check",
                       f"run `opentrust audit TARGET` (the openness check writes it)")
    return Response(json.dumps(doc, indent=2) + "\n", media_type="application/vnd.cyclonedx+json",
                    headers={"content-disposition": f"attachment; filename=aibom-{fp[:12]}.cdx.json"})


def model_aibom(store: Any, fingerprint: str, scan: int = 50) -> dict[str, Any] | None:
    """The CycloneDX AI BOM of the newest audit of the model that ran the openness check, with that audit's
    measurements in its model card (as audit writes aibom.cdx.json)."""
    import copy

    from opentrust.openness.aibom import add_measurements

    from opentrust.history import finished_results

    for _, report in finished_results(store, fingerprint, command="audit", limit=scan):
        section = next((s for s in report.sections if s.check == "openness" and s.status in ("ok", "findings")),
                       None)
        bom = getattr(section.data, "aibom", None) if section is not None else None
        if bom:
            return add_measurements(copy.deepcopy(bom), [m for s in report.sections for m in s.measurements])
    return None


async def factsheet(request: Any) -> Any:
    from starlette.responses import HTMLResponse, PlainTextResponse, Response

    from opentrust.governance.factsheet import factsheet_for, to_html, to_markdown

    fp = request.path_params["fingerprint"]
    fmt = request.query_params.get("format") or "html"
    if fmt not in ("html", "md", "json"):
        raise UserError(f"unknown format {fmt!r}", "use ?format=html, md or json")
    sheet = factsheet_for(state(request).store, fp)
    if sheet is None:
        raise NotFound(f"no model {fp} in the store", "pick one on the Models page")
    if fmt == "json":
        return Response(sheet.model_dump_json(indent=2, by_alias=True), media_type="application/json")
    if fmt == "md":
        return PlainTextResponse(to_markdown(sheet), media_type="text/markdown; charset=utf-8")
    return HTMLResponse(to_html(sheet))


async def static(request: Any) -> Any:
    from importlib.resources import files

    from starlette.responses import Response

    name = request.path_params["name"]
    if name != "ui.js":
        raise NotFound(f"no static file {name}")
    return Response((files("opentrust.ui") / "static" / "ui.js").read_bytes(),
                    media_type="text/javascript; charset=utf-8")


async def no_icon(request: Any) -> Any:
    from starlette.responses import Response

    return Response(status_code=204)


def routes(allow_review: bool) -> list[Any]:
    from starlette.routing import Route

    out = [Route("/", models_page), Route("/models", models_page),
           Route("/models/{fingerprint}", model_page),
           Route("/models/{fingerprint}/aibom.cdx.json", aibom),
           Route("/models/{fingerprint}/factsheet", factsheet),
           Route("/runs/{run_id}", run_page), Route("/runs/{run_id}/report.json", run_json),
           Route("/compare", compare_page),
           Route("/redteam/{run_id}", redteam_page), Route("/redteam/{run_id}/cell", cell_page),
           Route("/review", review_page, methods=["GET"]),
           Route("/guard", guard_page), Route("/reports", reports_page), Route("/reports/{index:int}", report_file_page),
           Route("/static/{name}", static), Route("/favicon.ico", no_icon)]
    if allow_review:
        out.append(Route("/review", review_post, methods=["POST"]))
    return out


def exception_handlers() -> dict[Any, Any]:
    from starlette.exceptions import HTTPException

    def wants_json(request: Any) -> bool:
        return request.url.path.startswith("/api/")

    async def not_found(request: Any, exc: NotFound) -> Any:
        return _error(request, 404, exc.message, exc.hint, wants_json(request))

    async def user_error(request: Any, exc: UserError) -> Any:
        return _error(request, 400, exc.message, exc.hint or "", wants_json(request))

    async def http_error(request: Any, exc: HTTPException) -> Any:
        return _error(request, exc.status_code, str(exc.detail), "", wants_json(request))

    return {NotFound: not_found, UserError: user_error, HTTPException: http_error}


def _error(request: Any, status: int, message: str, hint: str, as_json: bool) -> Any:
    from starlette.responses import JSONResponse

    if as_json:
        return JSONResponse({"error": message, "hint": hint}, status_code=status)
    return render(request, "error.html.j2", status_code=status, message=message, hint=hint)
