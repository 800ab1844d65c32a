"""`opentrust improve`: turn measured failures into training data (this version: the data plan only).

``opentrust improve TARGET --plan`` reads red-team and behaviour-test failures (result files or the store),
answers each with a template we wrote (package data ``data/improve/*.yaml``), keeps an example only when our
detectors agree with it, splits by probe family so held-out evaluation never shares a template with training,
and writes ``train.jsonl``, ``heldout.jsonl`` and ``plan.json``. Training itself is not in this version.

Modules: ``templates`` (answer templates), ``sources`` (failures from results and the store), ``examples``
(building and detector checks), ``split`` (family split), ``plan`` (the whole plan and its files).
"""
