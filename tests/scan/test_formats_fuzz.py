"""A small, always-on version of benchmarks/fuzz_scan.py: mutated valid files never crash a parser."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrust.scan import archive, gguf, keras, onnx, safetensors, savedmodel, templates
from opentrust.scan.base import BudgetExceeded, ScanContext, Source
from tests.scan import fixtures_formats as F

_SEEDS: dict[str, list[bytes]] = {}


def _seeds(tmp: Path) -> dict[str, list[bytes]]:
    if not _SEEDS:
        for family, prefixes in {"safetensors": ("make_safetensors",), "gguf": ("make_gguf",),
                                 "savedmodel": ("make_savedmodel",), "keras": ("make_keras",),
                                 "archive": ("make_archive",), "onnx": ("make_onnx",)}.items():
            out = []
            for name in [*F.HOSTILE, *F.HOSTILE_NESTED, *F.BENIGN]:
                if name.startswith(prefixes) and name != "make_archive_zip_bomb":
                    d = tmp / f"{family}-{len(out)}"
                    d.mkdir(parents=True)
                    try:
                        p = F.maker(name)(d)
                    except ImportError:
                        continue
                    if p.is_file():
                        out.append(p.read_bytes())
            _SEEDS[family] = out
    return _SEEDS


def _mutate(data: bytes, seed: int) -> bytes:
    r = random.Random(seed)
    b = bytearray(data)
    for _ in range(r.randint(1, 6)):
        pos = r.randint(0, len(b))
        op = r.randint(0, 3)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = r.randint(0, 255)
        elif op == 1:
            b[pos:pos + 8] = r.choice([0, 2**31, 2**63, 2**64 - 1]).to_bytes(8, "little")
        elif op == 2:
            del b[pos:pos + r.randint(1, 32)]
        else:
            b[pos:pos] = r.randbytes(r.randint(1, 8))
    return bytes(b)


MODULES = {"safetensors": safetensors, "gguf": gguf, "savedmodel": savedmodel, "keras": keras,
           "archive": archive, "onnx": onnx}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(MODULES))
def test_mutated_inputs_never_crash(tmp_path_factory: pytest.TempPathFactory, family: str) -> None:
    seeds = _seeds(tmp_path_factory.mktemp("seeds"))[family]
    if not seeds:
        pytest.skip(f"no {family} seeds (optional package missing)")
    module = MODULES[family]

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(seeds) - 1), st.integers(0, 2**64 - 1))
    def run(index: int, seed: int) -> None:
        ctx = ScanContext(deadline=time.monotonic() + 10)
        try:
            module.scan(Source(display="fuzz", data=_mutate(seeds[index], seed)), ctx)
        except BudgetExceeded:
            pass

    run()


@pytest.mark.slow
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(F.BENIGN_TEMPLATES)), st.integers(0, 2**32), st.lists(
    st.sampled_from(["{{", "}}", "{%", "%}", "__class__", "|attr(", "~", "'", "(", "for x in y", "endfor", "\u200b"]),
    max_size=6))
def test_mutated_templates_never_crash(name: str, pos: int, tokens: list[str]) -> None:
    text = F.BENIGN_TEMPLATES[name]
    for tok in tokens:
        i = pos % (len(text) + 1)
        text = text[:i] + tok + text[i:]
    templates.analyse_template(text)
