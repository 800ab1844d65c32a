"""The latency and energy protocol: warm-up untimed, randomised blocks, per-block energy on a fake powercap tree,
quantiles with bootstrap intervals and paired ratios. The backend here is a test double named as such: a
streaming model whose timings and energy use the test controls, which a real model cannot give."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opentrust.backends.base import Backend, Completion, GenerationRequest
from opentrust.compare import latency
from opentrust.compare.energy import EnergyMeter
from tests.compare.test_energy import fake_powercap

UJ_PER_ANSWER = 36_000_000  # 36 J per streamed answer: 10 Wh per 1,000 answers


class StreamingDouble(Backend):
    """Test double: answers instantly with fixed timings and adds a fixed energy to a fake RAPL counter."""

    name = "double"

    def __init__(self, ttft: float, total: float, tokens: int, counter: Path | None = None):
        self.ttft, self.total, self.tokens, self.counter = ttft, total, tokens, counter
        self.calls: list[GenerationRequest] = []
        self.log: list[str] | None = None

    async def generate(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        raise AssertionError("latency streams; it never calls generate")

    async def stream(self, request: GenerationRequest, seed: int | None = None) -> Completion:
        self.calls.append(request)
        if self.log is not None:
            self.log.append(self.name)
        if self.counter is not None:
            self.counter.write_text(str(int(self.counter.read_text()) + UJ_PER_ANSWER))
        return Completion(text="x " * self.tokens, completion_tokens=self.tokens, latency_s=self.total,
                          ttft_s=self.ttft, prompt_tokens=20, seed=seed)


def _requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest.chat(f"q{i}", max_tokens=200, seed=i) for i in range(n)]


def test_blocks_are_randomised_timed_and_metered(tmp_path: Path) -> None:
    root = fake_powercap(tmp_path / "fake-powercap", {0: 0}, extra=False)
    counter = root / "intel-rapl:0" / "energy_uj"
    fast, slow = StreamingDouble(0.1, 1.1, 11, counter), StreamingDouble(0.4, 4.4, 11, counter)
    fast.name, slow.name = "fast", "slow"
    order: list[str] = []
    fast.log = slow.log = order
    meter = EnergyMeter(root=root, use_nvml=False)
    timings = asyncio.run(latency.measure([("fast", fast), ("slow", slow)], _requests(4), meter, repeats=6,
                                          seed=3, idle_seconds=0.01))
    assert len(fast.calls) == len(slow.calls) == 1 + 6 * 4  # one untimed warm-up each
    assert all(r.max_tokens == latency.MAX_TOKENS for r in fast.calls)  # capped
    firsts = [order[2 + 4 * k] for k in range(12)]  # after the two warm-ups: the first answer of each block
    assert all(order[2 + 4 * k: 6 + 4 * k] == [firsts[k]] * 4 for k in range(12))  # a block is one model
    # each round runs both models, in an order drawn at random
    assert {tuple(firsts[i:i + 2]) for i in range(0, 12, 2)} == {("fast", "slow"), ("slow", "fast")}
    f, s = latency.summarize(timings["fast"]), latency.summarize(timings["slow"])
    assert f["ttft_p50"] == pytest.approx(0.1) and s["ttft_p50"] == pytest.approx(0.4)
    assert f["decode_tok_s"] == pytest.approx(10 / 1.0) and f["prefill_tok_s"] == pytest.approx(200)
    assert f["ci"]["ttft_p95"] is not None and f["timed"] == 24 and f["no_token"] == 0
    energy = latency.energy_block(timings["fast"], meter)
    assert energy["source"] == "measured:rapl" and energy["blocks"] == 6
    assert energy["wh_per_1k"] == pytest.approx(10.0, rel=0.01)  # idle power here is ~0: the counter only moves on work
    ratio = latency.paired_ratios(timings["slow"], timings["fast"])
    assert ratio["ttft"]["ratio"] == pytest.approx(4.0) and ratio["ttft"]["pairs"] == 24


def test_an_answer_without_tokens_has_no_ttft(tmp_path: Path) -> None:
    empty = StreamingDouble(0.0, 0.05, 0)
    empty.ttft = None  # type: ignore[assignment]
    meter = EnergyMeter(root=tmp_path / "none", use_nvml=False)
    timings = asyncio.run(latency.measure([("empty", empty)], _requests(2), meter, repeats=2, idle_seconds=0))
    out = latency.summarize(timings["empty"])
    assert out["ttft_p50"] is None and out["no_token"] == 4 and out["decode_tok_s"] is None
    assert latency.energy_block(timings["empty"], meter)["source"] == "unavailable"


def test_a_backend_that_cannot_stream_is_reported_not_timed(tmp_path: Path) -> None:
    from opentrust.backends.fake import FakeBackend

    meter = EnergyMeter(root=tmp_path / "none", use_nvml=False)
    timings = asyncio.run(latency.measure([("fake", FakeBackend("hi"))], _requests(2), meter, repeats=1,
                                          idle_seconds=0))
    out = latency.summarize(timings["fake"])
    assert out["answers"] == 0 and "cannot stream" in out["unavailable"]
