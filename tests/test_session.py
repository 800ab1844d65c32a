"""The run session and the provenance-complete sample cache, tested fast with the named fake backend
(opentrust.backends.fake); the real model and server are in tests/test_provenance_e2e.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrust.backends.base import GenerationRequest
from opentrust.backends.fake import REFUSAL, FakeBackend
from opentrust.errors import UserError
from opentrust.sampler import Sampler
from opentrust.session import RunSession
from opentrust.store import Store

REQ = GenerationRequest.chat("What is the capital of France?", max_tokens=8)


def _draw(sampler: Sampler, n: int = 3) -> list[Any]:
    return asyncio.run(sampler.samples(REQ, n))


# -- the fake backend ------------------------------------------------------------------------------------
def test_fake_backend_is_deterministic_per_seed_not_per_call_order() -> None:
    coin = FakeBackend.coin(0.5)
    first = [asyncio.run(coin.generate(REQ, seed=s)).text for s in range(200)]
    again = [asyncio.run(coin.generate(REQ, seed=s)).text for s in reversed(range(200))][::-1]
    assert first == again
    assert 70 < first.count("yes") < 130  # a fair coin, not a constant
    assert len(coin.calls) == 400


@pytest.mark.parametrize(("script", "answer"), [("echo", REQ.messages[-1].content), ("refuse", REFUSAL),
                                                ("text=Paris", "Paris")])
def test_fake_scripts(script: str, answer: str) -> None:
    assert asyncio.run(FakeBackend.from_spec(script).generate(REQ)).text == answer


@pytest.mark.parametrize("script", ["coin=2", "coin=x", "nonsense"])
def test_bad_fake_script_is_a_user_error(script: str) -> None:
    with pytest.raises(UserError):
        FakeBackend.from_spec(script)


# -- the session ---------------------------------------------------------------------------------------
def test_session_records_model_run_and_result(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with RunSession("fake:text=Paris", "test", {"seed": 0}, db=db) as session:
        texts = session.run(lambda: session.sampler().samples(REQ, 2))
        session.finish({"schema_version": "x", "ok": True})
    assert [c.text for c in texts] == ["Paris", "Paris"]
    with Store(db) as store:
        run = store.run(session.run_id)
        assert run["status"] == "done" and json.loads(run["report"])["ok"] is True
        [model] = store.models()
        assert model["fingerprint"] == session.fingerprint and model["kind"] == "plugin"
        assert [n["spec"] for n in model["names"]] == ["fake:text=Paris"]


def test_an_exception_marks_the_run_interrupted_and_the_next_session_resumes_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(RuntimeError):
        with RunSession("fake:echo", "test", {"p": 1}, db=db) as session:
            session.run(lambda: session.sampler().samples(REQ, 2))
            raise RuntimeError("killed")
    with Store(db) as store:
        assert store.run(session.run_id)["status"] == "interrupted"
    # an interrupted run is not resumed (only 'running' ones are: a killed process leaves those)
    with Store(db) as store:
        store._exec("UPDATE runs SET status='running' WHERE id=?", (session.run_id,))
    with RunSession("fake:echo", "test", {"p": 1}, db=db) as again:
        assert again.resumed and again.run_id == session.run_id
        cached = again.run(lambda: again.sampler().samples(REQ, 2))
        again.finish(None)
    assert all(c.cached for c in cached)


def test_a_target_that_cannot_generate_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(UserError, match="cannot generate"):
        RunSession(str(folder), "test", db=tmp_path / "s.db").open()


def test_judge_samplers_are_cached_and_linked_to_the_run(tmp_path: Path) -> None:
    with RunSession("fake:echo", "test", db=tmp_path / "s.db") as session:
        judge = session.judge_sampler("fake:text=SAFE")
        assert session.judge_sampler("fake:text=SAFE") is judge
        assert session.judge_sampler(None) is session.judge_sampler(None)
        out = session.run(lambda: judge.sample(REQ, 0))
        session.finish(None)
        assert out.text == "SAFE"
        used = session.store.samples(run_id=session.run_id)
    assert [(s["text"], s["reused"]) for s in used] == [("SAFE", False)]


# -- provenance --------------------------------------------------------------------------------------------
def test_same_weights_other_backend_settings_are_not_reused(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        first = Sampler(FakeBackend("A", script="a"), store, "fp", run_id="r1")
        assert [c.cached for c in _draw(first)] == [False] * 3
        same = Sampler(FakeBackend("A", script="a"), store, "fp", run_id="r2")
        assert [c.text for c in _draw(same) if c.cached] == ["A"] * 3
        other = Sampler(FakeBackend("B", script="b"), store, "fp", run_id="r3")
        assert [(c.text, c.cached) for c in _draw(other)] == [("B", False)] * 3
        assert store.count_samples("fp") == 6
        assert {s["backend"] for s in store.samples(fingerprint="fp")} == {"fake"}
        assert [s["reused"] for s in store.samples(run_id="r2")] == [True] * 3


def test_backend_provenance_covers_what_changes_an_answer(smollm2_path: Path) -> None:
    from opentrust.backends.llamacpp import LlamaCppBackend
    from opentrust.backends.openai_http import OpenAIBackend
    from opentrust.store import provenance_key

    llama = LlamaCppBackend(smollm2_path).provenance()
    assert llama["backend"] == "llama.cpp" and llama["n_ctx"] == 2048 and "llama-cpp-python" in str(llama["runtime"])
    assert provenance_key(llama) != provenance_key(LlamaCppBackend(smollm2_path, n_ctx=4096).provenance())
    plain = OpenAIBackend("http://127.0.0.1:1/v1", "m").provenance()
    penalised = OpenAIBackend("http://127.0.0.1:1/v1", "m", extra_body={"repeat_penalty": 1.0}).provenance()
    assert plain == {"backend": "openai-http"} and penalised["extra_body"] == {"repeat_penalty": 1.0}
    assert len({provenance_key(p)[1] for p in (llama, plain, penalised)}) == 3


def test_old_store_migrates_in_place_and_keeps_its_samples(tmp_path: Path) -> None:
    from opentrust.store import _m001_initial

    path = tmp_path / "old.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    _m001_initial(con)
    con.execute("INSERT INTO _migrations VALUES ('001_initial', datetime('now'))")
    con.execute("INSERT INTO runs VALUES ('old1', 'test', 'smollm2', 'fp', '{}', 'h', '2026-01-01T00:00:00+00:00',"
                " NULL, 'done', NULL)")
    con.execute("INSERT INTO samples VALUES ('fp', ?, 0, 1, '{}', 'legacy answer', 3, 2, 0.5, 'stop', 'old1',"
                " '2026-01-01T00:00:00+00:00')", (REQ.cache_key(),))
    con.close()
    with Store(path) as store:
        assert store.samples(legacy=True)[0]["text"] == "legacy answer"
        [model] = store.models()
        assert model["fingerprint"] == "fp" and model["names"][0]["spec"] == "smollm2"
        sampler = Sampler(FakeBackend("new answer", script="x"), store, "fp", run_id="r")
        got = _draw(sampler, 2)
        # index 0 comes from the old store (valid for the parts of the key it has), index 1 is generated
        assert [(c.text, c.cached) for c in got] == [("legacy answer", True), ("new answer", False)]
        # once a sample with the exact provenance exists it wins over the legacy one
        store.put_sample("fp", REQ.cache_key(), 0, REQ.model_dump_json(),
                         asyncio.run(FakeBackend("exact", script="x").generate(REQ)), "r", sampler.provenance)
        assert _draw(Sampler(FakeBackend("?", script="x"), store, "fp"), 1)[0].text == "exact"


def test_timings_use_fresh_samples_only(tmp_path: Path) -> None:
    """The smoke check's speed and latency figures come from samples generated in this run; a run that
    reuses every sample says so instead of reporting the old timings as new."""
    from opentrust.checks.base import CheckContext
    from opentrust.checks.smoke import SmokeCheck

    def audit_smoke() -> Any:
        with RunSession("fake:echo", "audit", {}, db=tmp_path / "s.db", backend=FakeBackend(latency_s=0.25),
                        generate=False) as session:
            section = session.run(lambda: SmokeCheck().run(CheckContext(session=session)))
            session.finish(None)
        return {m.name: m for m in section.measurements}, section.summary

    fresh, _ = audit_smoke()
    assert fresh["smoke.latency_s"].value == 0.25 and fresh["smoke.latency_s"].n == 15
    assert fresh["smoke.samples_reused"].value == 0
    warm, summary = audit_smoke()
    assert warm["smoke.samples_reused"].value == 15
    assert warm["smoke.latency_s"].value is None and warm["smoke.latency_s"].n == 0
    assert warm["smoke.tokens_per_second"].value is None
    assert "15 reused from the cache are not timed" in warm["smoke.latency_s"].method
    assert "not measured (every answer came from the cache)" in summary


# -- endpoint identity against a real (tiny) HTTP server -------------------------------------------------------
class _Server:
    """An OpenAI-style server on 127.0.0.1 whose reported model can be changed while it runs."""

    def __init__(self) -> None:
        self.listing: dict[str, Any] = {"id": "m", "object": "model", "owned_by": "me"}
        self.tokens: list[int] | None = [1, 2, 3]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/v1/models":
                    import time

                    self._send(200, {"object": "list", "data": [{**server.listing, "created": int(time.time())}]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/extras/tokenize" and server.tokens is not None:
                    self._send(200, {"tokens": server.tokens})
                else:
                    self._send(404, {"error": "not found"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.httpd.shutdown()


def _fp(base: str, model_id: str | None = None) -> str:
    from opentrust.target import resolve_target

    return resolve_target(f"openai:{base}#m", model_id=model_id).fingerprint()


def test_endpoint_identity_follows_what_the_server_reports(server: _Server) -> None:
    first = _fp(server.base)
    assert _fp(server.base) == first  # a 'created' stamped with the current time is not identity
    server.tokens = [9, 8, 7]  # other weights: another vocabulary
    swapped = _fp(server.base)
    assert swapped != first
    server.listing["meta"] = {"n_params": 135_000_000}
    assert _fp(server.base) not in (first, swapped)
    pinned = _fp(server.base, model_id="v1")
    server.tokens = [1, 2, 3]
    assert _fp(server.base, model_id="v1") == pinned  # the pin holds whatever the server says


def test_an_endpoint_that_reports_nothing_keeps_its_old_fingerprint(server: _Server) -> None:
    import hashlib

    server.tokens = None
    assert _fp(server.base) == hashlib.sha256(f"openai:{server.base}#m".encode()).hexdigest()


def test_model_id_is_for_endpoints_only(smollm2_path: Path) -> None:
    from opentrust.target import resolve_target

    with pytest.raises(UserError, match="applies to endpoints"):
        resolve_target(str(smollm2_path), model_id="x")


# -- register_backends -------------------------------------------------------------------------------------------
def test_a_backend_plugin_takes_over_a_target(tmp_path: Path) -> None:
    from opentrust.backends.base import BackendFactory
    from opentrust.hookspecs import hookimpl
    from opentrust.plugins import plugin_manager
    from opentrust.target import resolve_target

    class Shout(BackendFactory):
        name = "shout"
        scheme = "shout"

        def supports(self, target: Any) -> bool:
            return target.kind == "plugin" and target.scheme == "shout"

        def create(self, target: Any, **options: object) -> FakeBackend:
            return FakeBackend(lambda request, seed: target.model.upper(), script="shout")

    class Plugin:
        @hookimpl
        def register_backends(self, register: Any) -> None:
            register(Shout())

    pm = plugin_manager()
    plugin = Plugin()
    pm.register(plugin, name="test-shout")
    try:
        target = resolve_target("shout:hello")
        assert target.kind == "plugin"
        backend = target.backend()
        assert asyncio.run(backend.generate(REQ)).text == "HELLO"
    finally:
        pm.unregister(plugin)
    with pytest.raises(UserError, match="no such file"):
        resolve_target("shout:hello")


# -- detectors ----------------------------------------------------------------------------------------------------
def test_the_harmful_judge_asks_through_the_sessions_sampler(tmp_path: Path) -> None:
    """A red-team judge's verdicts are samples like any other: cached, linked to the run, reused next time."""
    from opentrust.redteam.campaign import make_detectors

    def judge_once() -> tuple[str, list[Any]]:
        with RunSession("fake:echo", "redteam", db=tmp_path / "s.db") as session:
            detector = make_detectors({"harmful"}, judge="fake:text=UNSAFE", session=session)["harmful"]
            verdict = session.run(lambda: detector.adetect("how do I pick a lock?", "Step 1: ..."))
            session.finish(None)
            return verdict.label, session.store.samples(run_id=session.run_id)

    label, used = judge_once()
    assert label == "harmful" and [(s["text"], s["reused"]) for s in used] == [("UNSAFE", False)]
    label, used = judge_once()
    assert label == "harmful" and [(s["text"], s["reused"]) for s in used] == [("UNSAFE", True)]


def test_detectors_come_from_the_hook_and_a_plugin_can_add_one() -> None:
    from opentrust.detectors import DETECTORS, detectors, get_detector
    from opentrust.hookspecs import hookimpl
    from opentrust.plugins import plugin_manager

    assert set(DETECTORS) <= set(detectors())

    class Always:
        positive_label, negative_label = "x", "y"

        def __init__(self, **options: Any) -> None:
            self.options = options

    class Plugin:
        @hookimpl
        def register_detectors(self, register: Any) -> None:
            register("always", Always, "test detector")

    plugin = Plugin()
    plugin_manager().register(plugin, name="test-always")
    try:
        assert get_detector("always", k=1).options == {"k": 1}
    finally:
        plugin_manager().unregister(plugin)
    with pytest.raises(UserError, match="unknown detector 'always'"):
        get_detector("always")
