"""The gateway's per-start key for its vLLM child, without starting vLLM (it needs .venv-vllm and
minutes; tests/test_serve_vllm.py runs the real one where it exists).

``VllmEngine`` starts ``tests/stand_ins/vllm_api_server.py`` in vLLM's place: a real process on a
loopback port that, like vLLM's API server, answers ``/health`` openly and ``/v1/*`` only with
``Bearer $VLLM_API_KEY``. What is tested for real: the command line and environment the engine
builds, what it logs, and that the gateway's client sends the key.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import httpx
import pytest

from medassist.errors import MedassistError
from medassist.serve.config import ServeConfig
from medassist.serve.engines.base import GenerationParams, generate
from medassist.serve.engines.vllm import KEY_ENV, VllmEngine, redacted


def settings(model: Path, **extra) -> ServeConfig:
    return ServeConfig(model=str(model), engine="vllm", vllm_python=sys.executable, vllm_startup_timeout_s=60,
                         **extra)


def test_per_start_key_reaches_vllm_by_environment_only(stand_in_vllm, tiny_model_dir, caplog,
                                                        monkeypatch) -> None:
    monkeypatch.setenv("MEDASSIST_API_KEYS", "gateway-client-key")
    engine = VllmEngine(settings(tiny_model_dir, vllm_extra_args=["--hf-token", "hf_SECRET1",
                                                                  "--some-api-key=SECRET2"]))
    key = engine.environment()[KEY_ENV]
    assert len(key) >= 32 and key != VllmEngine(settings(tiny_model_dir)).environment()[KEY_ENV]
    assert "MEDASSIST_API_KEYS" not in engine.environment()  # vLLM needs none of the gateway's keys

    async def answer() -> tuple[str, int, bytes, bytes]:
        with caplog.at_level(logging.INFO, logger="medassist.serve"):
            await engine.start()
        try:
            pid = engine.process.pid
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            text = (await generate(engine, [{"role": "user", "content": "hi"}], GenerationParams(8))).text
            async with httpx.AsyncClient() as anyone:  # a local process that skips the gateway
                direct = await anyone.post(f"{engine.base_url}/chat/completions", json={"messages": []})
            return text, direct.status_code, cmdline, environ
        finally:
            await engine.stop()

    text, direct_status, cmdline, environ = asyncio.run(answer())
    assert text == "stand-in"  # the gateway's client sent the key
    assert direct_status == 401  # and nobody else gets in without it
    assert f"{KEY_ENV}={key}".encode() in environ.split(b"\0")
    started = next(r.getMessage() for r in caplog.records if "starting vLLM" in r.getMessage())
    assert "--hf-token *** --some-api-key=***" in started
    for secret in (key, "hf_SECRET1", "SECRET2"):
        assert secret not in caplog.text and secret not in engine.log_path.read_text()
    assert key.encode() not in cmdline and key not in " ".join(engine.command())


def test_operator_api_key_for_vllm_is_refused(tiny_model_dir) -> None:
    """vLLM prefers --api-key to VLLM_API_KEY: allowing it would lock the gateway out (or put a key in ps)."""
    with pytest.raises(MedassistError, match="vllm_extra_args: --api-key is not allowed"):
        VllmEngine(settings(tiny_model_dir, vllm_extra_args=["--api-key=abc"]))


def test_redacted_keeps_ordinary_flags() -> None:
    command = ["python", "--max-num-batched-tokens", "512", "--tokenizer", "t", "--hf-token", "x"]
    assert redacted(command) == ["python", "--max-num-batched-tokens", "512", "--tokenizer", "t", "--hf-token", "***"]
