"""The starlette application behind ``opentrust ui``: pages (``views``), the JSON API (``api``), one static script.

Read-only unless ``allow_review``: then, and only then, ``POST /review`` is mounted, and it checks a CSRF token
bound to this server's secret. Every response carries a Content-Security-Policy that allows no inline or foreign
script (a model output that slipped past escaping still could not run) and no request to any other origin; the
Host header must name this machine (no DNS rebinding from a web page).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class UIConfig:
    """What a running UI serves: the store, indexed report folders, the guard log, whether reviews are allowed."""

    db: Path | None = None
    reports: list[Path] = field(default_factory=list)
    allow_review: bool = False
    guard_log: Path | None = None
    secret: str = field(default_factory=lambda: secrets.token_hex(32))


class UIState:
    """Per-application state: the config, the open store, the jinja environment and the indexed report files."""

    def __init__(self, config: UIConfig):
        from opentrust.store import Store

        self.config = config
        self.store = Store(config.db)
        self.env = environment()
        self._reports: list[dict[str, Any]] | None = None

    @property
    def reports(self) -> list[dict[str, Any]]:
        if self._reports is None:
            from opentrust.ui import queries

            self._reports = queries.index_reports(self.config.reports) if self.config.reports else []
        return self._reports

    @property
    def guard_log(self) -> Path:
        from opentrust.guard.log import default_log_path

        return self.config.guard_log or default_log_path()

    def close(self) -> None:
        self.store.close()


def environment() -> Any:
    """The HTML report's jinja environment (same filters, same SVG helpers, autoescape on) that also finds the UI's
    own templates: a UI page extends report.html.j2 / compare.html.j2 instead of copying them."""
    from jinja2 import ChoiceLoader, PackageLoader

    from opentrust.compare.report import AXIS_LABEL, scatter_svg
    from opentrust.report.html import _environment
    from opentrust.ui import charts

    env = _environment()
    env.loader = ChoiceLoader([PackageLoader("opentrust.ui", "templates"), env.loader])
    assert env.autoescape, "model output must be escaped"
    env.globals.update(trend_svg=charts.trend_svg, stacked_bars_svg=charts.stacked_bars_svg,
                       scatter_svg=scatter_svg, axis_label=AXIS_LABEL)
    return env


def _warm_summaries(db: Path | None) -> None:
    """At start-up, in the background: the inventory's per-run figures for runs that have none kept yet, so the
    first inventory page of a store with many new runs does not compute them all (1,000 audits: 17.7 s,
    benchmarks/ui_load.py). Its own connection; on any failure the pages compute what is missing themselves."""
    from opentrust.store import Store
    from opentrust.ui.queries import warm_summaries

    try:
        with Store(db) as store:
            warm_summaries(store)
    except Exception:  # noqa: BLE001 - an optimisation only: the listing computes missing figures on demand
        pass


def create_app(db: Path | None = None, reports: Sequence[Path] = (), allow_review: bool = False, *,
               guard_log: Path | None = None, hosts: Sequence[str] = ()) -> Any:
    """The ASGI application. ``hosts``: extra Host header values accepted besides the loopback names (the
    command adds the --host it binds)."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from opentrust.ui import api, views

    state = UIState(UIConfig(db=db, reports=list(reports), allow_review=allow_review, guard_log=guard_log))

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        threading.Thread(target=_warm_summaries, args=(db,), name="ui-warm-summaries", daemon=True).start()
        yield
        state.close()

    allowed = sorted({*LOCAL_HOSTS, *hosts} - {""})
    app = Starlette(routes=[*views.routes(allow_review), *api.routes()], lifespan=lifespan,
                    exception_handlers=views.exception_handlers(),
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed),
                                Middleware(_SecurityHeaders)])
    app.state.ui = state
    return app


class _SecurityHeaders:
    """Pure ASGI middleware: CSP, nosniff, no referrer, no framing on every response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                            (b"cache-control", b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
