"""`opentrust guard`: an OpenAI-compatible guardrail gateway.

- ``policy``: the guard policy (YAML): checks per direction, their actions, fail mode, log and client settings;
- ``checks``: each check (wrapping ``opentrust.detectors``) and the engine that applies a policy to a text;
- ``stream``: the streaming hold-back that releases text only once every output check cleared it;
- ``log``: the hash-chained, append-only SQLite (WAL) audit log, written before a response is released;
- ``server``: the gateway (starlette); ``upstream``: its one pooled aiohttp client; ``metrics``: Prometheus text;
- ``offline``: the same checks over recorded JSONL traffic; ``fixed_upstream``: a purpose-built upstream for
  the load benchmark and tests.
"""
