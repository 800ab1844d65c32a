"""The completion prompt mode (``completion:TARGET``): base models without a chat template, on the real Gemma 3
270M base model, whose GGUF carries no chat template."""

from __future__ import annotations

import asyncio

import pytest

from opentrust.backends.base import GenerationRequest, Message, completion_prompt
from opentrust.errors import UserError
from opentrust.target import resolve_target

PROMPTS = ["What is the capital of France? Answer in one word.", "Name a colour.",
           "What is 2 + 3? Reply with the number only."]


def test_the_transcript_a_base_model_continues() -> None:
    text = completion_prompt([Message(role="system", content="Be brief."), Message(role="user", content="Hi?"),
                              Message(role="assistant", content="Hello."), Message(role="user", content="Capital?")])
    assert text == "Be brief.\n\nQuestion: Hi?\nAnswer: Hello.\nQuestion: Capital?\nAnswer:"


def test_the_prefix_keeps_the_weights_and_changes_the_provenance(smollm2_path) -> None:
    chat, plain = resolve_target("smollm2"), resolve_target("completion:smollm2")
    assert plain.prompt_mode == "completion" and chat.prompt_mode == "chat"
    assert plain.path == chat.path and plain.name == "smollm2-completion" and plain.spec == "completion:smollm2"
    assert chat.backend().provenance() == {"backend": "llama.cpp", "runtime": chat.backend().provenance()["runtime"],
                                           "n_ctx": 2048}  # unchanged: cached chat samples stay valid
    assert plain.backend().provenance()["prompt_mode"] == "completion"
    endpoint = resolve_target("completion:openai:http://127.0.0.1:9/v1#m")
    assert endpoint.kind == "endpoint" and endpoint.prompt_mode == "completion"


@pytest.mark.parametrize("spec", ["completion:fake:echo", "completion:", "completion:nothing-here.gguf"])
def test_the_prefix_on_what_cannot_take_it_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UserError):
        resolve_target(spec)


@pytest.mark.slow
def test_gemma_base_answers_nothing_through_a_chat_format_and_answers_in_completion_mode() -> None:
    async def run(spec: str) -> list:
        backend = resolve_target(spec).backend()
        try:
            out = []
            for i, p in enumerate(PROMPTS):
                request = GenerationRequest.chat(p, temperature=0.7, max_tokens=24, seed=i)
                out.append((await backend.generate(request), await backend.stream(request)))
            return out
        finally:
            await backend.aclose()

    chat = asyncio.run(run("gemma3-270m"))
    # what the model really does through a guessed chat format: stops before its first token
    assert all(c.text == "" and c.completion_tokens == 0 and c.finish_reason == "stop" for c, _ in chat)
    assert all(s.ttft_s is None for _, s in chat)  # no token, no time to first token
    plain = asyncio.run(run("completion:gemma3-270m"))
    assert all(c.completion_tokens for c, _ in plain)  # it generates (a draw may still stop at "Answer:")
    assert sum(bool(c.text.strip()) for c, _ in plain) >= 2
    assert any("paris" in c.text.lower() for c, _ in plain)
    for c, s in plain:  # the streamed generation is the same draw, timed
        assert s.text == c.text and s.ttft_s is not None and 0 < s.ttft_s <= s.latency_s
