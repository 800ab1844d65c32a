"""`opentrust data`: what is in a dataset — personal data, secrets, licences, duplicates, leaked benchmark
items and whether its card says what a reader needs — in one streaming, offline pass.

Modules: ``readers`` (every format as a stream of rows, flat memory), ``textscan`` (personal data and secrets
through the shared detectors), ``duplicates`` (exact and MinHash near-duplicates), ``contamination`` (n-gram
overlap with the built-in suites, red-team probes and ``--against``), ``card`` (card completeness and
licences, through the openness licence machinery), ``run`` (the pass that composes them), ``report``
(json, sarif, html, table).
"""
