"""The local engine in-process (tiny model): how it gathers batches, how a request that breaks
its batch fails alone, and the gateway's validate-and-retry path for engines that do not
enforce a schema."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from medassist.serve.config import ServeConfig
from medassist.serve.engines.base import EngineError, GenerationParams, generate
from medassist.serve.engines.local import LocalEngine
from medassist.serve.metrics import Metrics
from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import MODEL_PLAIN, DiagnoseRequest
from medassist.serve.serving import ChatService


@asynccontextmanager
async def running(settings: ServeConfig) -> AsyncIterator[LocalEngine]:
    engine = LocalEngine(settings)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def test_requests_that_straggle_in_share_one_batch(tiny_model_dir, caplog) -> None:
    """Three requests 10 ms apart, with a 200 ms quiet gap: one batch, not one plus a queue."""
    settings = ServeConfig(model=str(tiny_model_dir), engine="local", local_batch_wait_ms=200,
                             local_batch_max_wait_ms=2000)
    messages = [{"role": "user", "content": "Fever and cough."}]

    async def burst() -> list[int]:
        async with running(settings) as engine:
            tasks = []
            for _ in range(3):
                tasks.append(asyncio.create_task(generate(engine, messages, GenerationParams(max_tokens=8))))
                await asyncio.sleep(0.01)
            return [g.completion_tokens for g in await asyncio.gather(*tasks)]

    with caplog.at_level(logging.DEBUG, logger="medassist.serve.engines.local"):
        used = asyncio.run(burst())
    assert all(0 < n <= 8 for n in used)
    batches = [r.getMessage() for r in caplog.records if "generating a batch" in r.getMessage()]
    assert batches == ["generating a batch of 3 request(s)"]


def test_a_request_that_breaks_its_batch_fails_alone(tiny_model_dir, caplog) -> None:
    """A seed torch cannot take (the gateway refuses it with a 400; here it reaches the engine
    directly) in a batch of three: the batch fails before its first token, each request is
    retried alone, and only the bad one gets the error."""
    settings = ServeConfig(model=str(tiny_model_dir), engine="local", local_batch_wait_ms=200,
                             local_batch_max_wait_ms=2000)
    messages = [{"role": "user", "content": "Fever and cough."}]

    async def batch() -> list[object]:
        def sampled(seed: int):
            return asyncio.create_task(generate(engine, messages, GenerationParams(max_tokens=8, temperature=1.0,
                                                                                   seed=seed)))

        async with running(settings) as engine:
            bad = sampled(2**70)
            while not engine._pending:  # queued first: a batch is seeded with its first request's seed
                await asyncio.sleep(0.005)
            jobs = [bad, sampled(1), sampled(2)]
            return await asyncio.gather(*jobs, return_exceptions=True)

    with caplog.at_level(logging.DEBUG, logger="medassist.serve.engines.local"):
        bad, good, other = asyncio.run(batch())
    assert isinstance(bad, EngineError) and bad.status == 500
    assert good.completion_tokens > 0 and other.completion_tokens > 0
    assert [r.getMessage() for r in caplog.records if "batch" in r.getMessage()] == [
        "generating a batch of 3 request(s)",
        "a batch of 3 failed before its first token (ValueError): retrying its requests one by one",
        "generating a batch of 1 request(s)", "local engine batch of 1 failed",
        *["generating a batch of 1 request(s)"] * 2,
    ]


def test_without_the_grammar_a_bad_answer_is_retried_once_then_502(tiny_model_dir) -> None:
    """``local_grammar: false`` (engines that cannot enforce a schema): the gateway validates the
    answer, retries once, then fails with a 502 naming the problem. The tiny model's greedy
    answer in 4 tokens cannot be a valid differential (it either stops at once or is cut)."""
    settings = ServeConfig(model=str(tiny_model_dir), engine="local", local_grammar=False)

    async def diagnose() -> GatewayError:
        async with running(settings) as engine:
            with pytest.raises(GatewayError) as caught:
                await ChatService(settings, engine, None, Metrics()).diagnose(
                    DiagnoseRequest(case="Fever and cough.", model=MODEL_PLAIN, max_tokens=4))
            return caught.value

    error = asyncio.run(diagnose())
    assert error.status == 502 and error.body.error.code == "invalid_model_output"
    assert "after 2 attempt(s)" in str(error)
    assert "no JSON object in the answer" in str(error) or "cut at max_tokens=4" in str(error)


def test_a_dead_worker_reports_failed_and_asks_the_server_to_stop(tiny_model_dir, monkeypatch) -> None:
    """The generation worker thread is not restarted: once it dies (injected: gathering a batch
    raises, which no request can cause) the engine reports ``failed`` and calls ``on_failure``,
    which `medassist serve` turns into exit code 4."""
    settings = ServeConfig(model=str(tiny_model_dir), engine="local")
    calls = []

    def broken_gather() -> None:
        raise RuntimeError("injected worker crash")

    async def crash() -> str:
        async with running(settings) as engine:
            engine.on_failure = lambda: calls.append("on_failure")
            assert engine.status().state == "ready"
            monkeypatch.setattr(engine, "_gather", broken_gather)
            with engine._wake:  # a pending entry wakes the idle worker, which then gathers a batch
                engine._pending.append(object())
                engine._wake.notify_all()
            engine._worker.join(timeout=30)
            return engine.status().state

    assert asyncio.run(crash()) == "failed"
    assert calls == ["on_failure"]
