"""``opentrust ui``: one local web page for all the evidence (models, audits over time, comparisons, red-team cells,
reviews, guard decisions).

A starlette application (``opentrust.ui.app.create_app``) rendered server-side with the report's jinja templates:
the audit page *is* report.html.j2 and the compare page compare.html.j2 (extended with the site navigation), charts
are inline SVG, and the small script in ``static/`` only enhances (sorting, filtering, live refresh). The data the
pages show comes from ``opentrust.ui.queries`` (read-only, paginated) and ``opentrust.ui.reviews`` (the only write,
mounted with ``--allow-review``); every page's data is also served as JSON under ``/api/``.
"""
