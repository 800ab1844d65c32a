"""The gateway's metrics in Prometheus text format (exposition format 0.0.4), without a client library.

Counters: requests by endpoint and decision, rule hits by rule and action, blocks by rule, upstream errors.
Histograms (seconds): guard time per direction, upstream time, and the time a stream's first token is held back.
With several worker processes, each shares a ``snapshot`` and ``/metrics`` renders the ``merged`` sum
(``guard.shared``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import Any

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    esc = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for _, v in pairs)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(pairs, esc)) + "}"


class Metrics:
    COUNTERS = {
        "opentrust_guard_requests_total": "Requests by endpoint and final decision.",
        "opentrust_guard_rule_hits_total": "Rules that fired, by rule and action.",
        "opentrust_guard_blocks_total": "Requests or answers blocked, by rule.",
        "opentrust_guard_upstream_errors_total": "Upstream failures (after retries) by kind.",
    }
    HISTOGRAMS = {
        "opentrust_guard_check_seconds": "Time spent in the guard's checks, by direction.",
        "opentrust_guard_rule_seconds": "Time of each check (rule), non-streaming; a judge model's latency shows here.",
        "opentrust_guard_upstream_seconds": "Time waiting for the upstream model (whole answer).",
        "opentrust_guard_first_token_holdback_seconds": "Streams: from the upstream's first token to the first "
                                                        "token released to the client.",
    }

    def __init__(self) -> None:
        self.counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(lambda: defaultdict(float))
        self.histograms: dict[str, dict[tuple[tuple[str, str], ...], Histogram]] = defaultdict(dict)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.counters[name][tuple(sorted(labels.items()))] += value

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        h = self.histograms[name].get(key)
        if h is None:
            h = self.histograms[name][key] = Histogram()
        h.observe(seconds)

    def snapshot(self) -> dict[str, Any]:
        """The counters and histograms as JSON-able data (what a worker shares with the others)."""
        return {"counters": {n: [[list(map(list, k)), v] for k, v in c.items()] for n, c in self.counters.items()},
                "histograms": {n: [[list(map(list, k)), h.counts, h.total, h.n] for k, h in hs.items()]
                               for n, hs in self.histograms.items()}}

    def merged(self, snapshots: list[dict[str, Any]]) -> "Metrics":
        """A new Metrics: these plus the snapshots' (other workers')."""
        out = Metrics()
        for snap in [self.snapshot(), *snapshots]:
            for name, rows in snap.get("counters", {}).items():
                for key, value in rows:
                    out.counters[name][tuple(tuple(p) for p in key)] += value
            for name, rows in snap.get("histograms", {}).items():
                for key, counts, total, n in rows:
                    k = tuple(tuple(p) for p in key)
                    h = out.histograms[name].get(k)
                    if h is None:
                        h = out.histograms[name][k] = Histogram()
                    h.counts = [a + b for a, b in zip(h.counts, counts)]
                    h.total += total
                    h.n += n
        return out

    def render(self) -> str:
        out: list[str] = []
        for name, help_text in self.COUNTERS.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            for key, value in sorted(self.counters.get(name, {}).items()):
                out.append(f"{name}{_labels(key)} {value:g}")
        for name, help_text in self.HISTOGRAMS.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
            for key, h in sorted(self.histograms.get(name, {}).items()):
                running = 0
                for bound, count in zip((*BUCKETS, float("inf")), h.counts):
                    running += count
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    out.append(f"{name}_bucket{_labels(key + (('le', le),))} {running}")
                out.append(f"{name}_sum{_labels(key)} {h.total:.6f}")
                out.append(f"{name}_count{_labels(key)} {h.n}")
        return "\n".join(out) + "\n"
