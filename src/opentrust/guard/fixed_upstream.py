"""A purpose-built OpenAI-compatible upstream for the gateway's load benchmark and tests: it answers after a fixed
delay with fixed text, streamed in fixed-size chunks, so that what is measured is the gateway, not a model.

    python -m opentrust.guard.fixed_upstream --port 9100 --delay-ms 20 --chunk-chars 8

A request may script the answer (tests only; a real upstream ignores unknown fields, the gateway forwards them):
``x_chunks`` (a list of strings streamed as they are, so a test can put a chunk boundary anywhere), ``x_text``
(the whole answer), ``x_status`` (answer with this HTTP error status; with ``x_fail_first: N`` and ``x_key`` only the
first N requests carrying that key fail, as a flaky upstream does), ``x_delay_ms`` (this answer's delay) and
``x_break_after`` (a stream drops its connection after that many content chunks), ``x_end_delay_ms`` (a stream's body
ends that long after its ``[DONE]``). Binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_TEXT = ("Here is a short answer about the weather in Paris. Expect mild temperatures around eighteen "
                "degrees, light wind from the west and a chance of rain in the evening, so take an umbrella.")


def make_app(delay_s: float = 0.02, text: str = DEFAULT_TEXT, chunk_chars: int = 8,
             chunk_delay_s: float = 0.0) -> Starlette:
    state: dict[str, Any] = {"requests": 0, "keys": {}, "peers": set()}

    async def answer(request: Request, chat: bool) -> Response:
        body: dict[str, Any] = json.loads(await request.body() or b"{}")
        state["requests"] += 1
        if request.client:  # each TCP connection the gateway opened (tests check that streams reuse them)
            state["peers"].add(request.client.port)
        key = body.get("x_key")
        if key is not None:
            state["keys"][key] = state["keys"].get(key, 0) + 1
        failing = body.get("x_fail_first") is None or state["keys"].get(key, 0) <= int(body["x_fail_first"])
        wait_s = float(body["x_delay_ms"]) / 1000 if body.get("x_delay_ms") else delay_s
        if body.get("x_status") and failing:
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}},
                                status_code=int(body["x_status"]))
        chunks = body.get("x_chunks")
        full = "".join(chunks) if isinstance(chunks, list) else str(body.get("x_text", text))
        if not isinstance(chunks, list):
            chunks = [full[i:i + chunk_chars] for i in range(0, len(full), chunk_chars)]
        tools = body.get("x_tool_calls") if chat else None  # [{"name", "arguments"}]: the answer calls tools
        created = int(time.time())
        model = body.get("model") or "fixed"
        rid = f"fixed-{state['requests']}"
        if not body.get("stream"):
            await asyncio.sleep(wait_s)
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": full}
                if tools:
                    choice["message"] = {"role": "assistant", "content": None, "tool_calls": [
                        {"id": f"call_{k}", "type": "function", "function": t} for k, t in enumerate(tools)]}
                    choice["finish_reason"] = "tool_calls"
            else:
                choice["text"] = full
            return JSONResponse({"id": rid, "object": "chat.completion" if chat else "text_completion",
                                 "created": created, "model": model, "choices": [choice],
                                 "usage": {"prompt_tokens": 10, "completion_tokens": len(chunks),
                                           "total_tokens": 10 + len(chunks)}})

        async def events() -> AsyncIterator[bytes]:
            await asyncio.sleep(wait_s)
            obj = "chat.completion.chunk" if chat else "text_completion"
            head = {"id": rid, "object": obj, "created": created, "model": model}
            if chat:
                yield _sse({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                 "finish_reason": None}]})
            for k, t in enumerate(tools or []):  # a tool call's arguments arrive in pieces, as OpenAI sends them
                args = t["arguments"]
                first = {"index": k, "id": f"call_{k}", "type": "function",
                         "function": {"name": t["name"], "arguments": ""}}
                yield _sse({**head, "choices": [{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}]})
                for a in range(0, len(args), chunk_chars):
                    piece = {"index": k, "function": {"arguments": args[a:a + chunk_chars]}}
                    yield _sse({**head, "choices": [{"index": 0, "delta": {"tool_calls": [piece]},
                                                     "finish_reason": None}]})
            for k, piece in enumerate([] if tools else chunks):
                if body.get("x_break_after") is not None and k >= int(body["x_break_after"]):
                    raise ConnectionAbortedError("scripted: the stream breaks here")  # uvicorn drops the connection
                if chunk_delay_s:
                    await asyncio.sleep(chunk_delay_s)
                c = {"index": 0, "finish_reason": None, **({"delta": {"content": piece}} if chat else {"text": piece})}
                yield _sse({**head, "choices": [c]})
            end = {"index": 0, "finish_reason": "tool_calls" if tools else "stop",
                   **({"delta": {}} if chat else {"text": ""})}
            yield _sse({**head, "choices": [end]})
            yield b"data: [DONE]\n\n"
            if body.get("x_end_delay_ms"):  # the end of the body comes later, as over a real network
                await asyncio.sleep(float(body["x_end_delay_ms"]) / 1000)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def chat(request: Request) -> Response:
        return await answer(request, True)

    async def completions(request: Request) -> Response:
        return await answer(request, False)

    async def seen(request: Request) -> Response:  # requests per x_key (retries) and connections seen
        return JSONResponse({**state["keys"], "connections": len(state["peers"])})

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fixed", "object": "model", "owned_by": "opentrust"}]})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                             Route("/v1/completions", completions, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"]),
                             Route("/x_seen", seen, methods=["GET"])])


def _sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=9100)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--chunk-chars", type=int, default=8)
    ap.add_argument("--chunk-delay-ms", type=float, default=0.0)
    args = ap.parse_args(argv)
    app = make_app(args.delay_ms / 1000, chunk_chars=args.chunk_chars, chunk_delay_s=args.chunk_delay_ms / 1000)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
