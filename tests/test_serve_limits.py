"""Concurrency cap (429 + Retry-After), request timeout (504), graceful shutdown and upstream mode,
on real gateways."""

from __future__ import annotations

import signal
import socket
import time

import httpx
import pytest
from openai import OpenAI

from medassist.serve.protocol import MODEL_PLAIN
from tests.fixtures.serve import gateway

LONG = {"model": MODEL_PLAIN, "max_tokens": 128, "stream": True, "ignore_eos": True,
        "messages": [{"role": "user", "content": "Describe the workup of anaemia."}]}


@pytest.fixture(scope="module")
def capped_server(tiny_model_dir, tmp_path_factory):
    """Cap of one request in flight; the last test of this module shuts it down."""
    args = ["--engine", "local", "--model", str(tiny_model_dir), "--limits.max_concurrency", "1",
            "--limits.retry_after_s", "3", "--max_model_len", "1024"]
    with gateway(args, tmp_path_factory.mktemp("serve-capped") / "gateway.log") as server:
        yield server


def _auth(server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


def test_concurrency_cap_returns_429_with_retry_after(capped_server) -> None:
    with httpx.Client(base_url=capped_server.url, headers=_auth(capped_server), timeout=120) as http:
        with http.stream("POST", "/v1/chat/completions", json=LONG) as first:
            assert first.status_code == 200
            lines = first.iter_lines()  # kept open: dropping the iterator would close the stream
            next(lines)  # the first request now holds the only slot
            second = http.post("/v1/chat/completions", json={**LONG, "stream": False, "max_tokens": 4})
            assert second.status_code == 429
            assert second.headers["Retry-After"] == "3"
            assert second.json()["error"]["code"] == "max_concurrency"
            assert "limits.max_concurrency" in second.json()["error"]["message"]
            rest = [line for line in lines if line]
        assert rest[-1] == "data: [DONE]"
        # the slot is free again
        assert http.post("/v1/chat/completions", json={**LONG, "stream": False, "max_tokens": 4}).status_code == 200


def test_busy_server_shows_429_in_the_page(capped_server, ui_app) -> None:
    """The Streamlit page asks while a held stream has the only slot: it shows the server's 429 as
    the busy message with its Retry-After, not a stack trace."""
    at = ui_app(capped_server.url, capped_server.api_key).run()  # the page is up before the slot is taken
    assert not at.exception and not at.error, [e.value for e in at.error]
    with httpx.Client(base_url=capped_server.url, headers=_auth(capped_server), timeout=120) as http, \
            http.stream("POST", "/v1/chat/completions", json=LONG) as held:
        lines = held.iter_lines()  # kept: a dropped iterator closes the stream and frees the slot
        next(lines)
        at.chat_input[0].set_value("Fever and cough for three days").run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert f"The API at {capped_server.url} is busy (429). Try again in 3 seconds." in messages, messages


def test_stream_holds_its_slot_until_the_client_leaves(capped_server) -> None:
    """/health counts a stream as in flight while it is open, and a client that hangs up mid-stream
    gives its slot back (the generation is cancelled, not left to run for nobody)."""
    def in_flight() -> int:
        return httpx.get(f"{capped_server.url}/health", timeout=10).json()["in_flight"]

    with httpx.Client(base_url=capped_server.url, headers=_auth(capped_server), timeout=120) as http:
        with http.stream("POST", "/v1/chat/completions", json={**LONG, "max_tokens": 256}) as held:
            lines = held.iter_lines()
            next(lines)
            assert in_flight() == 1
        deadline = time.monotonic() + 30
        while in_flight() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert in_flight() == 0
        assert http.post("/v1/chat/completions", json={**LONG, "stream": False, "max_tokens": 4}).status_code == 200


def test_graceful_shutdown_finishes_in_flight_stream(capped_server) -> None:
    with httpx.Client(base_url=capped_server.url, headers=_auth(capped_server), timeout=120) as http, \
            http.stream("POST", "/v1/chat/completions", json=LONG) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("data: ")
        capped_server.process.send_signal(signal.SIGTERM)
        rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    assert any('"finish_reason"' in line for line in rest)
    assert capped_server.process.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled


def test_upstream_mode_forwards_streaming(live_server, tmp_path) -> None:
    """A second gateway forwarding to the first one (any OpenAI-compatible server would do)."""
    args = ["--engine", "upstream", "--upstream", live_server.base_url, "--upstream_model", MODEL_PLAIN,
            "--upstream_api_key", live_server.api_key, "--model", "upstream"]
    with gateway(args, tmp_path / "upstream.log", api_key=None) as front:
        client = OpenAI(base_url=front.base_url, api_key="unused", max_retries=0, timeout=120)
        chunks = list(client.chat.completions.create(
            model=MODEL_PLAIN, max_tokens=16, stream=True,
            messages=[{"role": "user", "content": "What causes anaemia?"}]))
        texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(texts) > 1 and "decision support" in "".join(texts)
        whole = client.chat.completions.create(model=MODEL_PLAIN, max_tokens=8,
                                               messages=[{"role": "user", "content": "fever"}])
        assert whole.usage.completion_tokens > 0
        bad = httpx.post(f"{front.base_url}/chat/completions", timeout=30, json={
            "model": MODEL_PLAIN, "messages": [{"role": "user", "content": "fever " * 3000}], "max_tokens": 256})
        assert bad.status_code == 400  # the upstream's context check comes back as a client error
        assert "context" in bad.json()["error"]["message"]


def test_engine_past_the_request_timeout_gives_504(tmp_path) -> None:
    """The engine is an upstream that accepts connections and never answers (a real socket): past
    limits.request_timeout_s a plain request gets 504 and a stream ends with an error event."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody ever reads
        args = ["--engine", "upstream", "--upstream", f"http://127.0.0.1:{silent.getsockname()[1]}/v1",
                "--upstream_model", "silent", "--model", "upstream", "--limits.request_timeout_s", "1"]
        with gateway(args, tmp_path / "gateway.log", api_key=None) as front:
            body = {"model": MODEL_PLAIN, "max_tokens": 8, "messages": [{"role": "user", "content": "fever"}]}
            plain = httpx.post(f"{front.base_url}/chat/completions", json=body, timeout=30)
            assert plain.status_code == 504
            assert plain.json()["error"]["code"] == "timeout"
            assert "limits.request_timeout_s=1.0s" in plain.json()["error"]["message"]
            with httpx.stream("POST", f"{front.base_url}/chat/completions", json={**body, "stream": True},
                              timeout=30) as stream:
                lines = [line for line in stream.iter_lines() if line]
            assert lines[-1] == "data: [DONE]"
            assert "limits.request_timeout_s=1.0s" in lines[-2] and '"error"' in lines[-2]
