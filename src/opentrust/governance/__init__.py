"""Governance: turning evidence into decisions a reviewer, an auditor and a CI server can act on.

* ``policy`` — the policy language (rules on evidence paths, interval-aware comparisons, exceptions with expiry) and
  the tier presets in ``presets/`` (high-risk, limited, minimal, gpai, gpai-systemic);
* ``evidence`` — result files merged into one tree, and the dotted paths that read it;
* ``evaluate`` — rules to outcomes (pass, fail, warn, unknown, excepted) and the gate's verdict;
* ``gate`` — `opentrust gate` and `audit --policy`; ``render`` — table, SARIF, JUnit and the audit report section;
* ``refs`` — framework references (EU AI Act, NIST AI RMF, IBM AI Risk Atlas via ai-atlas-nexus when installed);
* ``inventory`` — `opentrust models` and the evidence columns of `opentrust history`;
* ``diff`` — `opentrust diff`: what changed between two audits, and whether significantly for the worse;
* ``factsheet`` — `opentrust factsheet`: all stored evidence as EU AI Act Annex XI/XII items.
"""
