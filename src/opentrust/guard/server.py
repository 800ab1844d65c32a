"""The gateway: an OpenAI-compatible proxy (starlette on uvicorn, one pooled aiohttp client to the upstream) that
applies the guard's policy to what goes in and what comes out and logs every decision before it answers.

Request path: client key check (when ``clients.api_key_sha256`` is set) -> bounded body -> JSON -> input
checks (block: an OpenAI-shaped refusal or error with the rule id; redact: the messages are rewritten) ->
upstream (retries on connection errors, timeouts, 429 and 5xx with the HTTP backend's backoff; other errors pass
through) -> output checks -> the decision records are committed to the audit log -> the answer is released.
Streams go through ``guard.stream.HoldBack``: nothing reaches the client before every output check cleared it.

Headers pass through both ways except hop-by-hop ones. ``Authorization`` goes to the upstream unchanged unless
the gateway has its own client keys (then it is dropped) or an upstream key (then it is replaced by it).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from opentrust.backends.openai_http import sse_json
from opentrust.clock import utc_now
from opentrust.guard.checks import Context, Guard, Hit, Verdict, redact
from opentrust.guard.log import GuardLog, sha256
from opentrust.guard.metrics import Metrics
from opentrust.guard.policy import GuardPolicy
from opentrust.guard.stream import HoldBack
from opentrust.guard.upstream import TRANSIENT, Unreachable, Upstream, UpstreamResponse, is_timeout

_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-connection", "accept-encoding"}
_RESPONSE_DROP = _HOP | {"content-encoding", "date", "server"}


def openai_error(status: int, message: str, etype: str = "invalid_request_error", code: str | None = None,
                 **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": etype, "param": None, "code": code, **extra}},
                        status_code=status)


@dataclass
class Exchange:
    """One request through the gateway."""

    endpoint: str
    client: str
    request_id: str = field(default_factory=lambda: "gw-" + secrets.token_hex(8))
    records: list[dict[str, Any]] = field(default_factory=list)
    decision: str = "allow"


def _text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        parts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(parts) if parts else None
    return None


def _tool_arguments(message: dict[str, Any]) -> list[tuple[int, str]]:
    """(index, arguments) of each function call in a chat message's ``tool_calls`` (the JSON string as sent)."""
    calls = message.get("tool_calls")
    out = []
    for j, tc in enumerate(calls if isinstance(calls, list) else []):
        fn = tc.get("function") if isinstance(tc, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
            out.append((j, fn["arguments"]))
    return out


def input_items(body: dict[str, Any], chat: bool) -> tuple[list[tuple[str, str]], list[Any], Context]:
    """(role, text) for each checked message, where each came from, and the context for output checks."""
    items: list[tuple[str, str]] = []
    where: list[Any] = []
    ctx = Context()
    if chat:
        system, last_user = [], ""
        for i, m in enumerate(body.get("messages") or []):
            if not isinstance(m, dict):
                continue
            role = str(m.get("role", "user"))
            for j, args in _tool_arguments(m):  # what an assistant turn passed to tools: role "tool_call"
                items.append(("tool_call", args))
                where.append((i, j))
            text = _text_of(m.get("content"))
            if text is None:
                continue
            items.append((role, text))
            where.append(i)
            if role in ("system", "developer"):
                system.append(text)
            elif role == "user":
                last_user = text
        ctx.system, ctx.prompt = "\n".join(system), last_user
    else:
        prompt = body.get("prompt")
        prompts = prompt if isinstance(prompt, list) else [prompt]
        for i, p in enumerate(prompts):
            if isinstance(p, str):
                items.append(("user", p))
                where.append(i)
        ctx.prompt = items[-1][1] if items else ""
    mt = body.get("max_completion_tokens", body.get("max_tokens"))
    ctx.max_tokens = mt if isinstance(mt, int) else None
    return items, where, ctx


class Gateway:
    def __init__(self, policy: GuardPolicy, upstream: Upstream, log: GuardLog | None,
                 guard: Guard | None = None, shared: Any = None):
        """``shared``: the folder the worker processes of ``--workers N`` share (``guard.shared``): rate-limit
        buckets and every worker's metrics, summed on /metrics."""
        self.policy = policy
        self.guard = guard or Guard(policy, shared)
        self.guard.warm()
        # the detectors' models are tens of thousands of long-lived dicts and lists: a full collection walks them
        # all (tens of milliseconds, a latency spike); frozen, the collector skips them
        gc.collect()
        gc.freeze()
        self.upstream = upstream
        self.log = log
        self.metrics = Metrics()
        self.metrics_files: Any = None
        if shared is not None:
            from opentrust.guard.shared import MetricsFiles

            self.metrics_files = MetricsFiles(shared)
        self.client_keys = set(policy.clients.api_key_sha256)
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/completions", self.completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/metrics", self.metrics_endpoint, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
        ], lifespan=self._lifespan)

    # -- lifecycle --------------------------------------------------------------------------------------------
    def _lifespan(self, app: Any) -> Any:
        gateway = self

        class _Span:
            async def __aenter__(self) -> None:
                gateway.upstream.open()
                if gateway.metrics_files is not None:
                    self.task = asyncio.ensure_future(gateway._share_metrics())

            async def __aexit__(self, *exc: Any) -> None:
                if gateway.metrics_files is not None:
                    self.task.cancel()
                    gateway.metrics_files.write(gateway.metrics.snapshot())
                await gateway.upstream.close()

        return _Span()

    # -- small endpoints --------------------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "log_records": self.log.seq if self.log else None})

    async def metrics_endpoint(self, request: Request) -> Response:
        metrics = self.metrics
        if self.metrics_files is not None:  # every worker's, this one's live
            self.metrics_files.write(metrics.snapshot())
            metrics = metrics.merged(self.metrics_files.others())
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    async def _share_metrics(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                self.metrics_files.write(self.metrics.snapshot())
            except OSError:  # a full disk must not stop the gateway; /metrics shows this worker's own then
                pass

    async def models(self, request: Request) -> Response:
        denied = self._auth(request)
        if isinstance(denied, Response):
            return denied
        return await self._forward("GET", "/models", None, request)

    # -- auth, body -------------------------------------------------------------------------------------------
    def _auth(self, request: Request) -> str | Response:
        """The client's identity for logs and rate limits (a hash of its key, or its address), or a 401."""
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        digest = hashlib.sha256(key.encode()).hexdigest() if key else ""
        if self.client_keys:
            if not digest or not any(hmac.compare_digest(digest, k) for k in self.client_keys):
                return openai_error(401, "Incorrect or missing API key for this gateway.", "invalid_request_error",
                                    "invalid_api_key")
        if digest:
            return "key:" + digest[:16]
        return "addr:" + (request.client.host if request.client else "unknown")

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        limit = self.policy.limits.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return openai_error(413, f"The request body is larger than {limit} bytes.", code="request_too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return openai_error(413, f"The request body is larger than {limit} bytes.", code="request_too_large")
            chunks.append(chunk)
        try:
            body = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError) as exc:
            return openai_error(400, f"The request body is not valid JSON: {exc}", code="invalid_json")
        if not isinstance(body, dict):
            return openai_error(400, "The request body must be a JSON object.", code="invalid_json")
        return body

    def _headers_out(self, request: Request) -> dict[str, str]:
        out = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        if self.upstream.api_key:
            out["authorization"] = f"Bearer {self.upstream.api_key}"
        elif self.client_keys:
            out.pop("authorization", None)
        return out

    # -- records, metrics -------------------------------------------------------------------------------------
    def _record(self, ex: Exchange, direction: str, verdict_decision: str, hits: list[Hit], checked: list[str],
                released: list[str], guard_s: float, upstream_s: float | None = None,
                status: int | None = None) -> None:
        excerpt = None
        if self.policy.log.content == "redacted" and self.policy.log.excerpt_chars:
            spans: dict[int, list[tuple[int, int, str]]] = {}
            for h in hits:
                spans.setdefault(h.message or 0, []).extend(h.spans)
            excerpt = "\n".join(redact(t, spans.get(i, [])) for i, t in enumerate(checked))[
                : self.policy.log.excerpt_chars]
        ex.records.append({
            "ts": utc_now(), "request_id": ex.request_id, "direction": direction, "endpoint": ex.endpoint,
            "decision": verdict_decision, "rules": [h.as_dict() for h in hits],
            "content_sha256": sha256("\n".join(checked)), "result_sha256": sha256("\n".join(released)),
            "excerpt": excerpt, "client": ex.client, "upstream_status": status,
            "guard_ms": round(guard_s * 1000, 3), "upstream_ms": round(upstream_s * 1000, 3) if upstream_s else None,
        })
        for h in hits:
            self.metrics.inc("opentrust_guard_rule_hits_total", rule=h.rule, action=h.action)
            if h.action == "block":
                self.metrics.inc("opentrust_guard_blocks_total", rule=h.rule)
        self.metrics.observe("opentrust_guard_check_seconds", guard_s, direction=direction)
        order = {"allow": 0, "flag": 1, "redact": 2, "block": 3}
        if order.get(verdict_decision, 0) > order.get(ex.decision, 0):
            ex.decision = verdict_decision

    async def _checks(self, direction: str, items: list[tuple[str, str]], ctx: Context) -> tuple[Verdict, float]:
        """The policy's checks of one direction, with the time they took (each rule's time goes to /metrics)."""
        start = time.perf_counter()
        verdict = await self.guard.run(direction, items, ctx)
        seconds = time.perf_counter() - start
        for rule, took in verdict.check_seconds.items():
            self.metrics.observe("opentrust_guard_rule_seconds", took, rule=rule)
        return verdict, seconds

    async def _commit(self, ex: Exchange) -> Response | None:
        """Write the exchange's records; None when committed, an error response when the log failed (the
        answer is then withheld: nothing is released without its record)."""
        if self.log is None or not ex.records:
            ex.records = []
            return None
        records, ex.records = ex.records, []
        try:
            await self.log.append(records)
        except Exception as exc:  # noqa: BLE001 - any failure of the log withholds the answer
            self.metrics.inc("opentrust_guard_upstream_errors_total", kind="audit_log")
            return openai_error(503, f"The gateway could not record its decision ({type(exc).__name__}); the "
                                     "answer is withheld.", "server_error", "audit_log_unavailable")
        return None

    def _finish(self, ex: Exchange, response: Response) -> Response:
        response.headers["x-opentrust-request-id"] = ex.request_id
        response.headers["x-opentrust-guard"] = ex.decision
        self.metrics.inc("opentrust_guard_requests_total", endpoint=ex.endpoint, decision=ex.decision)
        return response

    def _blocked(self, ex: Exchange, hit: Hit, direction: str, chat: bool, stream: bool) -> Response:
        ob = self.policy.on_block
        if hit.check == "rate_limit":  # what clients already retry with backoff
            return openai_error(429, f"Rate limit reached for this client (rule {hit.rule}).", "requests",
                                "rate_limit_exceeded", rule=hit.rule, direction=direction, request_id=ex.request_id)
        if ob.style == "error":
            extra = {"category": hit.category} if hit.category else {}
            return openai_error(400, f"{ob.message} (rule {hit.rule})", "content_filter", "content_filter",
                                rule=hit.rule, direction=direction, request_id=ex.request_id, **extra)
        created = int(time.time())
        obj = "chat.completion" if chat else "text_completion"
        if stream:
            delta = {"role": "assistant", "content": ob.message} if chat else None
            chunk = {"id": ex.request_id, "object": obj + ".chunk" if chat else obj, "created": created,
                     "model": self.upstream.model or "guard",
                     "choices": [{"index": 0, **({"delta": delta} if chat else {"text": ob.message}),
                                  "finish_reason": "content_filter"}]}

            async def one() -> AsyncIterator[bytes]:
                yield _sse(chunk)
                yield b"data: [DONE]\n\n"

            return StreamingResponse(one(), media_type="text/event-stream")
        choice: dict[str, Any] = {"index": 0, "finish_reason": "content_filter"}
        if chat:
            choice["message"] = {"role": "assistant", "content": ob.message}
        else:
            choice["text"] = ob.message
        return JSONResponse({"id": ex.request_id, "object": obj, "created": created,
                             "model": self.upstream.model or "guard", "choices": [choice],
                             "opentrust_guard": {"blocked_by": hit.rule, "direction": direction}})

    # -- the two generation endpoints -------------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        return await self._generate(request, chat=True)

    async def completions(self, request: Request) -> Response:
        return await self._generate(request, chat=False)

    async def _generate(self, request: Request, chat: bool) -> Response:
        client = self._auth(request)
        endpoint = "chat" if chat else "completions"
        if isinstance(client, Response):
            self.metrics.inc("opentrust_guard_requests_total", endpoint=endpoint, decision="unauthorized")
            return client
        body = await self._body(request)
        ex = Exchange(endpoint, client)
        if isinstance(body, Response):
            ex.decision = "invalid"
            return self._finish(ex, body)
        items, where, ctx = input_items(body, chat)
        ctx.client = client
        stream = bool(body.get("stream"))
        verdict, guard_in = await self._checks("input", items, ctx)
        texts = [t for _, t in items]
        blocking = verdict.blocking
        if blocking:
            self._record(ex, "input", "block", verdict.hits, texts, [], guard_in)
            return self._finish(ex, await self._commit(ex) or self._blocked(ex, blocking, "input", chat, stream))
        if verdict.decision == "redact":
            _rewrite(body, chat, where, verdict)
        for h in verdict.hits:
            if h.check == "max_tokens" and h.action == "redact":
                body["max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"] = \
                    self.guard.input[[c.rule for c in self.guard.input].index(h.rule)].spec.limit
        if self.upstream.model and not body.get("model"):
            body["model"] = self.upstream.model
        self._record(ex, "input", verdict.decision, verdict.hits, texts, verdict.texts, guard_in)
        path = "/chat/completions" if chat else "/completions"
        if stream:
            return await self._stream(request, ex, body, path, ctx, chat)
        payload = json.dumps(body).encode()
        t0 = time.perf_counter()
        resp = await self._send("POST", path, payload, request)
        upstream_s = time.perf_counter() - t0
        self.metrics.observe("opentrust_guard_upstream_seconds", upstream_s)
        if isinstance(resp, Response):  # unreachable after retries
            ex.records[-1]["upstream_status"] = resp.status_code
            return self._finish(ex, await self._commit(ex) or resp)
        if resp.status_code >= 400:
            ex.records[-1]["upstream_status"] = resp.status_code
            return self._finish(ex, await self._commit(ex) or _passthrough(resp))
        try:
            answer = resp.json()
            choices = answer["choices"]
            outs = [((c.get("message") or {}).get("content") if chat else c.get("text")) for c in choices]
            calls = [(i, j, a) for i, c in enumerate(choices) if chat for j, a in _tool_arguments(c.get("message") or {})]
        except (ValueError, KeyError, TypeError, AttributeError):
            ex.records[-1]["upstream_status"] = resp.status_code
            self.metrics.inc("opentrust_guard_upstream_errors_total", kind="bad_answer")
            return self._finish(ex, await self._commit(ex) or openai_error(
                502, "The upstream's answer is not an OpenAI completion.", "upstream_error", "bad_upstream_answer"))
        idx: list[Any] = [i for i, t in enumerate(outs) if isinstance(t, str)]
        out_items = [("assistant", outs[i]) for i in idx]
        for i, j, args in calls:  # the arguments of the tools the answer calls are output too
            idx.append((i, j))
            out_items.append(("assistant", args))
        out_verdict, guard_out = await self._checks("output", out_items, ctx)
        checked = [t for _, t in out_items]
        blocking = out_verdict.blocking
        if blocking:
            self._record(ex, "output", "block", out_verdict.hits, checked, [], guard_out, upstream_s,
                         resp.status_code)
            return self._finish(ex, await self._commit(ex) or self._blocked(ex, blocking, "output", chat, False))
        if out_verdict.decision == "redact":
            for k, i in enumerate(idx):
                if isinstance(i, tuple):
                    choices[i[0]]["message"]["tool_calls"][i[1]]["function"]["arguments"] = out_verdict.texts[k]
                    continue
                c = choices[i]
                if chat:
                    c["message"]["content"] = out_verdict.texts[k]
                else:
                    c["text"] = out_verdict.texts[k]
                if out_verdict.stopped:
                    c["finish_reason"] = "length"
        self._record(ex, "output", out_verdict.decision, out_verdict.hits, checked, out_verdict.texts, guard_out,
                     upstream_s, resp.status_code)
        failed = await self._commit(ex)
        if failed:
            return self._finish(ex, failed)
        if out_verdict.decision == "allow":
            out = Response(resp.content, status_code=resp.status_code, headers=_headers_in(resp))
        else:
            out = JSONResponse(answer, status_code=resp.status_code, headers=_headers_in(resp, json_body=True))
        return self._finish(ex, out)

    # -- upstream ---------------------------------------------------------------------------------------------
    async def _send(self, method: str, path: str, payload: bytes | None, request: Request,
                    stream: bool = False) -> UpstreamResponse | Response:
        """One upstream call with retries (``Upstream.send``): its final answer (2xx or an error the client should
        see), or an OpenAI-shaped 502/504 when the upstream never answered."""
        headers = self._headers_out(request)
        if payload is not None:
            headers["content-type"] = "application/json"
        try:
            return await self.upstream.send(method, path, payload, headers, stream)
        except Unreachable as exc:
            self.metrics.inc("opentrust_guard_upstream_errors_total",
                             kind="timeout" if exc.timed_out else "unreachable")
            return openai_error(504 if exc.timed_out else 502,
                                f"The upstream model at {self.upstream.base_url} did not answer after "
                                f"{self.upstream.retries + 1} attempts ({exc.error}).", "upstream_error",
                                "upstream_timeout" if exc.timed_out else "upstream_unreachable")

    async def _forward(self, method: str, path: str, payload: bytes | None, request: Request) -> Response:
        resp = await self._send(method, path, payload, request)
        return resp if isinstance(resp, Response) else _passthrough(resp)

    async def _stream(self, request: Request, ex: Exchange, body: dict[str, Any], path: str, ctx: Context,
                      chat: bool) -> Response:
        t0 = time.perf_counter()
        resp = await self._send("POST", path, json.dumps(body).encode(), request, stream=True)
        if isinstance(resp, Response):
            ex.records[-1]["upstream_status"] = resp.status_code
            return self._finish(ex, await self._commit(ex) or resp)
        if resp.status_code >= 400:
            await resp.aread()
            await resp.aclose()
            ex.records[-1]["upstream_status"] = resp.status_code
            return self._finish(ex, await self._commit(ex) or _passthrough(resp))
        # the input decision is committed before the first byte of the answer
        failed = await self._commit(ex)
        if failed:
            await resp.aclose()
            return self._finish(ex, failed)
        gen = self._relay(ex, resp, ctx, chat, t0)
        out = StreamingResponse(gen, status_code=resp.status_code, media_type="text/event-stream",
                                headers={k: v for k, v in _headers_in(resp).items() if k.lower() != "content-type"})
        out.headers["x-opentrust-request-id"] = ex.request_id
        out.headers["x-opentrust-guard"] = "streaming"
        return out

    async def _relay(self, ex: Exchange, resp: UpstreamResponse, ctx: Context, chat: bool,
                     t0: float) -> AsyncIterator[bytes]:
        holds: dict[int, HoldBack] = {}
        templates: dict[int, dict[str, Any]] = {}
        finals: list[dict[str, Any]] = []  # chunks with a finish_reason, sent after the tail
        trailers: list[bytes] = []  # chunks without choices (usage), sent at the end
        first_upstream: float | None = None
        first_release: float | None = None
        tools: dict[tuple[int, int], dict[str, Any]] = {}  # (choice, tool index) -> head and arguments so far
        tool_hits: list[Hit] = []
        blocked: Hit | None = None
        logged = complete = False
        guard_s = 0.0

        def record(decision: str, hits: list[Hit], upstream_s: float) -> None:
            """The stream's output record: what was checked and what was released, per choice."""
            self._record(ex, "output", decision, hits, [hb.raw for hb in holds.values()],
                         [hb.text[:hb.released] for hb in holds.values()], guard_s, upstream_s, resp.status_code)

        def chunk_with(i: int, text: str) -> bytes:
            c = dict(templates[i])
            choice = {"index": i, "finish_reason": None}
            choice.update({"delta": {"content": text}} if chat else {"text": text})
            c["choices"] = [choice]
            return _sse(c)

        try:
            broken: Exception | None = None
            try:
                async for chunk in sse_json(resp):
                    choices = chunk.get("choices") if isinstance(chunk, dict) else None
                    if not choices:
                        trailers.append(_sse(chunk))
                        continue
                    for choice in choices:
                        i = int(choice.get("index", 0))
                        if i not in holds:
                            holds[i] = HoldBack(self.guard, ctx)
                            templates[i] = {k: v for k, v in chunk.items() if k != "choices"}
                        delta = (choice.get("delta") or {}) if chat else {}
                        text = delta.get("content") if chat else choice.get("text")
                        rest = {k: v for k, v in delta.items() if k != "content"} if chat else {}
                        if chat and isinstance(rest.get("tool_calls"), list):
                            # a tool call's arguments are held whole until the end of the stream and checked there
                            for tc in rest.pop("tool_calls"):
                                if isinstance(tc, dict):
                                    t = tools.setdefault((i, int(tc.get("index", 0))), {"head": {}, "args": ""})
                                    fn = tc.get("function") or {}
                                    t["args"] += (fn.get("arguments") or "") if isinstance(fn, dict) else ""
                                    for key in ("id", "type"):
                                        if key in tc:
                                            t["head"][key] = tc[key]
                                    if isinstance(fn, dict) and fn.get("name"):
                                        t["head"]["name"] = fn["name"]
                        if rest and chat:  # the role opener: no content to hold
                            yield _sse({**templates[i], "choices": [{"index": i, "delta": {**rest, "content": ""},
                                                                     "finish_reason": None}]})
                        if isinstance(text, str) and text:
                            if first_upstream is None:
                                first_upstream = time.perf_counter()
                            s = time.perf_counter()
                            released = await holds[i].feed(text)
                            guard_s += time.perf_counter() - s
                            if holds[i].blocked:
                                blocked = holds[i].blocked
                                break
                            if released:
                                if first_release is None:
                                    first_release = time.perf_counter()
                                yield chunk_with(i, released)
                        if choice.get("finish_reason") is not None:
                            finals.append({**templates[i], "choices": [{**{k: v for k, v in choice.items()
                                                                           if k not in ("delta", "text")},
                                                                        **({"delta": {}} if chat else {"text": ""})}]})
                    if blocked:
                        break
            except TRANSIENT as exc:  # the upstream timed out or dropped the connection mid-stream
                broken = exc
            if broken is not None:
                timed_out = is_timeout(broken)
                self.metrics.inc("opentrust_guard_upstream_errors_total", kind="timeout" if timed_out else "stream_broken")
                record("incomplete", [h for hb in holds.values() for h in hb.hits.values()], time.perf_counter() - t0)
                logged = True
                await self._commit(ex)  # the client is told either way: what was held back is not released
                self.metrics.inc("opentrust_guard_requests_total", endpoint=ex.endpoint, decision=ex.decision)
                code = "upstream_timeout" if timed_out else "upstream_stream_broken"
                yield _sse({"error": {"message": f"The upstream model stopped answering mid-stream ({type(broken).__name__}); "
                                                 "the rest of the answer is withheld.", "type": "upstream_error",
                                      "code": code, "request_id": ex.request_id}})
                yield b"data: [DONE]\n\n"
                return
            tails: dict[int, str] = {}
            if not blocked:
                for i, hb in holds.items():
                    s = time.perf_counter()
                    tails[i] = await hb.finish()
                    guard_s += time.perf_counter() - s
                    if hb.blocked:
                        blocked = hb.blocked
                        break
            tool_texts: list[str] = []
            if not blocked and tools:
                s = time.perf_counter()
                verdict = await self.guard.run("output", [("assistant", t["args"]) for t in tools.values()], ctx)
                guard_s += time.perf_counter() - s
                tool_hits, blocked = verdict.hits, verdict.blocking
                tool_texts = verdict.texts if verdict.decision == "redact" else [t["args"] for t in tools.values()]
            upstream_s = time.perf_counter() - t0
            self.metrics.observe("opentrust_guard_upstream_seconds", upstream_s)
            hits = [h for hb in holds.values() for h in hb.hits.values()] + tool_hits
            decision = "block" if blocked else _worst([*(hb.decision for hb in holds.values()),
                                                       *(h.action for h in tool_hits if h.action != "log-only")])
            record(decision, hits, upstream_s)
            logged = True
            failed = await self._commit(ex)
            self.metrics.inc("opentrust_guard_requests_total", endpoint=ex.endpoint, decision=ex.decision)
            if failed is not None:
                yield _sse({"error": {"message": "The gateway could not record its decision; the rest of the "
                                                 "answer is withheld.", "type": "server_error",
                                      "code": "audit_log_unavailable"}})
                yield b"data: [DONE]\n\n"
                return
            if blocked:
                ob = self.policy.on_block
                if ob.style == "error":
                    yield _sse({"error": {"message": f"{ob.message} (rule {blocked.rule})", "type": "content_filter",
                                          "code": "content_filter", "rule": blocked.rule, "direction": "output",
                                          "request_id": ex.request_id,
                                          **({"category": blocked.category} if blocked.category else {})}})
                else:
                    for i in holds:
                        c = {**templates[i], "choices": [{"index": i, "finish_reason": "content_filter",
                                                          **({"delta": {"content": ob.message}} if chat
                                                             else {"text": ob.message})}]}
                        yield _sse(c)
                yield b"data: [DONE]\n\n"
                return
            for i, tail in tails.items():
                if tail:
                    if first_release is None:
                        first_release = time.perf_counter()
                    yield chunk_with(i, tail)
            for ((i, k), t), args in zip(tools.items(), tool_texts):  # the checked tool calls, whole
                head = t["head"]
                call = {"index": k, **{key: head[key] for key in ("id", "type") if key in head},
                        "function": {**({"name": head["name"]} if "name" in head else {}), "arguments": args}}
                template = templates.get(i, {})
                yield _sse({**template, "choices": [{"index": i, "delta": {"tool_calls": [call]},
                                                     "finish_reason": None}]})
            if first_upstream is not None and first_release is not None:
                self.metrics.observe("opentrust_guard_first_token_holdback_seconds", first_release - first_upstream)
            for c in finals:
                if any(hb.stopped for hb in holds.values()):
                    for ch in c["choices"]:
                        ch["finish_reason"] = "length"
                yield _sse(c)
            for t in trailers:
                yield t
            yield b"data: [DONE]\n\n"
            complete = True
        finally:
            # a whole answer: read the upstream's last bytes so its connection is reused (a TLS upstream would
            # otherwise pay a handshake on the next stream's first token); anything else closes it
            await (resp.finish() if complete else resp.aclose())
            if not logged:  # the client went away or the upstream broke mid-stream: record what was released
                hits = [h for hb in holds.values() for h in hb.hits.values()]
                record("block" if blocked else "incomplete", hits, time.perf_counter() - t0)
                if self.log is not None:
                    records, ex.records = ex.records, []
                    asyncio.ensure_future(_quiet(self.log.append(records)))


async def _quiet(coro: Any) -> None:
    try:
        await coro
    except Exception:  # noqa: BLE001 - best effort after the client left
        pass


def _worst(decisions: Any) -> str:
    order = {"allow": 0, "flag": 1, "redact": 2, "block": 3}
    out = "allow"
    for d in decisions:
        if order.get(d, 0) > order[out]:
            out = d
    return out


def _rewrite(body: dict[str, Any], chat: bool, where: list[Any], verdict: Verdict) -> None:
    for k, i in enumerate(where):
        if isinstance(i, tuple):  # a tool call's arguments
            body["messages"][i[0]]["tool_calls"][i[1]]["function"]["arguments"] = verdict.texts[k]
        elif chat:
            body["messages"][i]["content"] = verdict.texts[k]
        elif isinstance(body.get("prompt"), list):
            body["prompt"][i] = verdict.texts[k]
        else:
            body["prompt"] = verdict.texts[k]


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _headers_in(resp: UpstreamResponse, json_body: bool = False) -> dict[str, str]:
    out = {k: v for k, v in resp.headers.items() if k.lower() not in _RESPONSE_DROP}
    if json_body:
        out.pop("content-type", None)
    return out


def _passthrough(resp: UpstreamResponse) -> Response:
    return Response(resp.content, status_code=resp.status_code, headers=_headers_in(resp))


ENV_CONFIG = "OPENTRUST_GUARD_SERVE"


def run_gateway(policy_path: Any, upstream: Upstream, log_path: Any, host: str = "127.0.0.1", port: int = 8787,
                workers: int = 1, guard: Guard | None = None, api_key_env: str | None = None) -> None:
    """Serve until interrupted (``guard serve`` and the load benchmark start the gateway here). ``workers`` > 1:
    that many processes share the port, the audit log, the rate-limit buckets and the metrics (``guard.shared``)."""
    import os

    import uvicorn

    from opentrust.guard.policy import load_policy

    policy = load_policy(policy_path)
    if threading.current_thread() is threading.main_thread():
        # uvicorn re-raises SIGTERM after its graceful shutdown; exit through Python so that callers' cleanup
        # (the local llama.cpp server `guard serve --upstream smollm2` started) still runs
        signal.signal(signal.SIGTERM, _exit_cleanly)
    common: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "access_log": False,
                              "timeout_graceful_shutdown": 5}
    if workers > 1:
        from pathlib import Path

        from opentrust.guard.shared import reset, state_dir

        GuardLog(log_path, policy.log.sync).close()  # a bad path or a damaged log fails here, once
        shared = state_dir(Path(log_path))
        reset(shared)
        os.environ[ENV_CONFIG] = json.dumps({
            "policy": str(policy_path) if policy_path else None, "upstream": upstream.base_url,
            "model": upstream.model, "api_key_env": api_key_env, "log": str(log_path), "shared": str(shared)})
        uvicorn.run("opentrust.guard.server:app_from_env", factory=True, workers=workers, **common)
        return
    audit = GuardLog(log_path, policy.log.sync)
    try:
        gateway = Gateway(policy, upstream, audit, guard)
        _serving_process()
        uvicorn.Server(uvicorn.Config(gateway.app, **common)).run()
    finally:
        audit.close()


#: How long a thread may hold the GIL while another waits for it (CPython's default is 5 ms). Every answer waits for
#: its audit record, committed by the log's writer thread; with the default the writer can wait up to 5 ms for the
#: event loop's thread to let go of the GIL while that thread runs checks — a 5-10 ms tail on p99 under load.
GIL_SWITCH_INTERVAL_S = 0.0005


def _serving_process() -> None:
    """Settings for a process that does nothing but serve the gateway."""
    import sys

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def app_from_env() -> Starlette:
    """The gateway of one worker process (``guard serve --workers N``), configured by the parent's environment."""
    import os
    from pathlib import Path

    from opentrust.guard.policy import load_policy

    cfg = json.loads(os.environ[ENV_CONFIG])
    policy = load_policy(Path(cfg["policy"]) if cfg.get("policy") else None)
    key = os.environ.get(cfg["api_key_env"]) if cfg.get("api_key_env") else None
    upstream = Upstream(cfg["upstream"], cfg.get("model"), key, policy.upstream.timeout_s, policy.upstream.retries)
    shared = Path(cfg["shared"]) if cfg.get("shared") else None
    _serving_process()
    return Gateway(policy, upstream, GuardLog(Path(cfg["log"]), policy.log.sync), shared=shared).app


def main(argv: list[str] | None = None) -> None:
    """``python -m opentrust.guard.server UPSTREAM_URL MODEL PORT LOG [WORKERS [POLICY]]``: the gateway without the
    CLI's imports (the load benchmark starts it so on a bare machine)."""
    import sys
    from pathlib import Path

    from opentrust.guard.policy import load_policy

    args = sys.argv[1:] if argv is None else argv
    policy_path = Path(args[5]) if len(args) > 5 else None
    policy = load_policy(policy_path)
    run_gateway(policy_path, Upstream(args[0], args[1], None, policy.upstream.timeout_s, policy.upstream.retries),
                Path(args[3]), port=int(args[2]), workers=int(args[4]) if len(args) > 4 else 1)


if __name__ == "__main__":
    main()
