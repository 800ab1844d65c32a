"""The model worker of `opentrust compare` (see opentrust.compare.memory): one GGUF model in its own process.

``python -m opentrust.compare.worker PATH N_CTX PROMPT_MODE`` reads one JSON request per line on stdin
(``{"op": "load"|"generate"|"stream", "request": ..., "seed": N}``) and answers one JSON line on stdout
(``{"completion": ...}``, ``{"ok": true}`` or ``{"error": ..., "hint": ...}``). It exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys


def main(argv: list[str]) -> int:
    from opentrust.backends.base import GenerationRequest
    from opentrust.backends.llamacpp import LlamaCppBackend
    from opentrust.errors import UserError

    path, n_ctx, mode = argv[0], int(argv[1]), argv[2]
    backend = LlamaCppBackend(path, n_ctx=n_ctx, prompt_mode=mode)  # type: ignore[arg-type]
    out = sys.stdout
    for line in sys.stdin:
        try:
            message = json.loads(line)
            op = message["op"]
            if op == "load":
                backend._model()
                reply: dict[str, object] = {"ok": True}
            else:
                request = GenerationRequest.model_validate(message["request"])
                call = backend.stream if op == "stream" else backend.generate
                done = asyncio.run(call(request, seed=int(message["seed"])))
                reply = {"completion": done.model_dump(mode="json")}
        except UserError as exc:
            reply = {"error": exc.message, "hint": exc.hint}
        except Exception as exc:  # reported to the parent as one line, never a traceback on its stdout
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    asyncio.run(backend.aclose())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
