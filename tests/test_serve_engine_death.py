"""The vLLM child dies under a running gateway; the gateway tells, heals, or hands over.

A real gateway (``medassist serve --engine vllm`` in a subprocess, on loopback) whose child is
``tests/stand_ins/vllm_api_server.py`` in vLLM's place: a real process that, like vLLM's API
server, is started from ``vllm_python``, answers ``/health`` openly and ``/v1`` with the per-start
key, and streams slowly enough to be killed mid-answer (SIGKILL to its process group, as the OOM
killer does). The stand-in starts in a second where vLLM takes a minute;
``tests/test_serve_vllm.py`` kills the real vLLM once, at its end, and times the recovery.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx

from medassist.serve.protocol import MODEL_PLAIN
from tests.fixtures.serve import gateway, kill_vllm_child, vllm_child

INTERNAL = "127.0.0.1:"  # the child's address: operator configuration, never in what a client reads


def chat(max_tokens: int, stream: bool) -> dict:
    return {"model": MODEL_PLAIN, "max_tokens": max_tokens, "stream": stream,
            "messages": [{"role": "user", "content": "Fever and cough for three days."}]}




def gateway_args(model: Path, *extra: str) -> list[str]:
    return ["--engine", "vllm", "--model", str(model), "--vllm_python", sys.executable,
            "--vllm_startup_timeout_s", "60", *extra]


def child_key(pid: int) -> bytes:
    return next(v for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if v.startswith(b"VLLM_API_KEY="))


def wait_for_health(http: httpx.Client, status: int, timeout_s: float) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        reply = http.get("/health")
        if reply.status_code == status:
            return reply
        assert time.monotonic() < deadline, f"/health never answered {status}: {reply.status_code} {reply.text}"
        time.sleep(0.05)


def test_killed_mid_answer_the_gateway_reports_refuses_and_heals(stand_in_vllm, tiny_model_dir, tmp_path) -> None:
    log_path = tmp_path / "gateway.log"
    # 3 s before the restart: long enough to see the gateway while its engine is down
    with gateway(gateway_args(tiny_model_dir, "--vllm_restart_backoff_s", "3"), log_path) as server, \
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.api_key}"},
                         timeout=60) as http:
        assert http.get("/health").json()["engine_restarts"] == 0
        old_child = vllm_child(server.process.pid)
        old_key = child_key(old_child)

        whole: dict = {}  # a non-streamed answer in flight when the engine dies
        waiting = threading.Thread(target=lambda: whole.update(
            reply=http.post("/v1/chat/completions", json=chat(200, stream=False))))
        with http.stream("POST", "/v1/chat/completions", json=chat(200, stream=True)) as streamed:
            assert streamed.status_code == 200
            lines = (line for line in streamed.iter_lines() if line)
            first = [next(lines) for _ in range(3)]  # the head and two words: the answer is under way
            waiting.start()
            time.sleep(0.5)
            kill_vllm_child(server.process.pid)
            killed_at = time.monotonic()
            rest = list(lines)
        waiting.join(30)

        # the stream that was cut: the words it had, then an error event and [DONE]
        assert "word" in first[-1]
        assert rest[-1] == "data: [DONE]"
        error = json.loads(rest[-2].removeprefix("data: "))["error"]
        assert error["code"] == "engine_error" and "stopped answering" in error["message"], error
        # the request that waited for its whole answer: a 503 saying so
        assert whole["reply"].status_code == 503, whole["reply"].text
        assert whole["reply"].json()["error"]["code"] == "engine_error"

        # while the engine is down: /health and every new request say so, with Retry-After
        down = wait_for_health(http, 503, timeout_s=2)
        assert down.json()["status"] == "restarting" and "restarting" in down.json()["detail"]
        refused = http.post("/v1/chat/completions", json=chat(4, stream=False))
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "engine_unavailable"
        assert "exited" in refused.json()["error"]["message"]
        for text in (down.text, refused.text, whole["reply"].text, "\n".join(rest)):
            assert INTERNAL not in text, text

        # healed: a new child with a new key answers, and the gateway counts the restart
        up = wait_for_health(http, 200, timeout_s=30)
        healed_s = time.monotonic() - killed_at
        assert up.json()["engine_restarts"] == 1
        new_child = vllm_child(server.process.pid)
        assert new_child not in (None, old_child) and child_key(new_child) != old_key
        answer = http.post("/v1/chat/completions", json=chat(4, stream=False))
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"].startswith("stand-in")
        metrics = http.get("/metrics").text
        assert "medassist_engine_up 1.0" in metrics and "medassist_engine_restarts 1.0" in metrics
        assert 'medassist_rejected_total{limit="engine_unavailable"} 1.0' in metrics
    log = log_path.read_text()
    assert "restart 1 of 5 in 3s" in log and "vLLM back" in log, log[-2000:]
    assert 3 <= healed_s < 30, healed_s


def test_gateway_exits_for_its_supervisor_when_restarts_run_out(stand_in_vllm, tiny_model_dir, tmp_path) -> None:
    """With no restarts allowed, the first death ends the gateway with status 4 (not 0, not a hang)."""
    log_path = tmp_path / "gateway.log"
    with gateway(gateway_args(tiny_model_dir, "--vllm_max_restarts", "0"), log_path) as server:
        kill_vllm_child(server.process.pid)
        assert server.process.wait(timeout=60) == 4
    assert "giving up after 0 restarts in a row" in log_path.read_text()
