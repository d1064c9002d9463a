"""Clients that hang up: slots always come back and an early disconnect is one log line.

Two levels. The ASGI tests drive the app by hand with a spec-2.3 server scope (what uvicorn's
httptools and h11 servers report), where Starlette cancels a streaming response when the client
has already gone; when the cancel lands before the body iterator has started (here: the server's
first write yields to the loop), a slot released in the stream's own ``finally`` leaked. The
loopback test sends 240 real TCP clients at a real uvicorn gateway (local engine, tiny model,
sample index), each hanging up at a random point: before its body is read, right after sending
it (during retrieval and prompt building), before the first chunk, or mid-stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter

import httpx
import pytest

from medassist.serve.api_server import create_app
from medassist.serve.config import Limits, ServeConfig
from medassist.serve.protocol import MODEL_GROUNDED, MODEL_PLAIN
from tests.fixtures.serve import gateway

EARLY = "client disconnected before its request body was read"


# ------------------------------------------------------------------------------- ASGI level
async def asgi_call(app, method: str, path: str, body: bytes = b"", *, leaves: str | None = None,
                    on_send=None) -> list[dict]:
    """One request through ``app`` as an ASGI 2.3 server would make it; returns what was sent.

    ``leaves``: None (the client stays until the response ends), "after_body" (gone once its
    body was delivered) or "before_body" (gone before any of it arrived). ``on_send``: awaited
    with each message the app sends, before the app goes on.
    """
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }
    delivered = leaves == "before_body"

    async def receive() -> dict:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        if leaves is None:
            await asyncio.Event().wait()  # stays connected; Starlette cancels this listener at the end
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        if on_send is not None:
            await on_send(message)
        await asyncio.sleep(0)  # a write yields to the loop, as a server waiting on its socket does

    await app(scope, receive, send)
    return sent


def status_of(sent: list[dict]) -> int | None:
    return next((m["status"] for m in sent if m["type"] == "http.response.start"), None)


def body_of(sent: list[dict]) -> dict:
    return json.loads(b"".join(m.get("body", b"") for m in sent))


STREAM = json.dumps({"model": MODEL_PLAIN, "max_tokens": 8, "stream": True,
                     "messages": [{"role": "user", "content": "Fever and cough."}]}).encode()
PLAIN = json.dumps({"model": MODEL_PLAIN, "max_tokens": 4,
                    "messages": [{"role": "user", "content": "Fever and cough."}]}).encode()


@pytest.fixture
def asgi_app(tiny_model_dir):
    """``run(scenario)``: a new app (local engine, two slots) runs ``scenario(app)`` inside its lifespan."""
    def run(scenario):
        app = create_app(ServeConfig(model=str(tiny_model_dir), engine="local", limits=Limits(max_concurrency=2)))

        async def inside():
            async with app.router.lifespan_context(app):
                return await scenario(app)

        return asyncio.run(inside())

    return run


def test_asgi_2_3_streams_cancelled_before_their_first_chunk_leak_no_slot(asgi_app) -> None:
    """Four streams (twice limits.max_concurrency) whose clients left right after sending: none
    holds a slot afterwards, and a normal request is served, not refused with 429."""
    async def scenario(app):
        gone = [await asgi_call(app, "POST", "/v1/chat/completions", STREAM, leaves="after_body") for _ in range(4)]
        return gone, body_of(await asgi_call(app, "GET", "/health")), await asgi_call(
            app, "POST", "/v1/chat/completions", PLAIN)

    gone, health, served = asgi_app(scenario)
    assert health["in_flight"] == 0
    assert status_of(served) == 200, served
    assert body_of(served)["choices"][0]["message"]["content"]
    # Starlette cancelled each stream before its first chunk: nothing, or the stream's head, was sent
    assert all(status_of(s) in (None, 200) for s in gone), [status_of(s) for s in gone]


def test_a_slot_is_free_before_the_last_byte_of_its_answer(asgi_app) -> None:
    """A client that sends its next request the moment it has read an answer is admitted: the slot
    comes back before the response's last message leaves, not after it (CI once saw a 429 there)."""
    async def scenario(app):
        at_end: list[int] = []

        async def on_send(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                at_end.append(body_of(await asgi_call(app, "GET", "/health"))["in_flight"])

        for body in (STREAM, PLAIN):
            assert status_of(await asgi_call(app, "POST", "/v1/chat/completions", body, on_send=on_send)) == 200
        return at_end

    assert asgi_app(scenario) == [0, 0]


def test_asgi_disconnect_before_the_body_is_one_log_line(asgi_app, caplog) -> None:
    """Clients gone before their body arrived: a 499 nobody reads, one INFO line each, no traceback."""
    async def scenario(app):
        return [await asgi_call(app, "POST", "/v1/chat/completions", STREAM, leaves="before_body") for _ in range(2)]

    with caplog.at_level(logging.INFO, logger="medassist.serve"):
        early = asgi_app(scenario)
    assert [status_of(s) for s in early] == [499, 499]
    assert [r.getMessage() for r in caplog.records if EARLY in r.getMessage()] == \
        ["client disconnected before its request body was read: POST /v1/chat/completions"] * 2
    assert not [r for r in caplog.records if r.exc_info], "an early disconnect must not log a traceback"


# ---------------------------------------------------------------------------- loopback level
PHASES = ("before_body", "after_send", "before_first_chunk", "mid_stream")
CLIENTS = 240


@pytest.fixture(scope="module")
def fault_server(tiny_model_dir, sample_index_dir, tmp_path_factory):
    """A gateway with 8 slots: a leak of a few slots shows as 429s long before 240 clients end."""
    args = ["--engine", "local", "--model", str(tiny_model_dir), "--index", str(sample_index_dir),
            "--limits.max_concurrency", "8"]
    with gateway(args, tmp_path_factory.mktemp("serve-faults") / "gateway.log") as server:
        yield server


def _request(server, body: dict, declared: int | None = None) -> tuple[bytes, bytes]:
    """HTTP/1.1 request head and body bytes (``declared`` overrides Content-Length)."""
    payload = json.dumps(body).encode()
    port = server.url.rsplit(":", 1)[1]
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {server.api_key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared or len(payload)}\r\n\r\n").encode()
    return head, payload


async def hang_up(server, phase: str, rng: random.Random) -> str:
    """One client that leaves at ``phase`` (after a random delay where the phase has one);
    returns what it saw: the status line it read, or "-" when it left before any reply."""
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    body = {"model": rng.choice((MODEL_GROUNDED, MODEL_PLAIN)), "max_tokens": rng.choice((8, 32)),
            "stream": phase == "mid_stream" or rng.random() < 0.8, "messages": [{"role": "user", "content": rng.choice((
                "Fever and productive cough for three days.", "Does aspirin reduce cardiovascular events?",
                "Iron deficiency anaemia workup in an adult."))}]}
    reader, writer = await asyncio.open_connection(host, port)
    seen = "-"
    try:
        if phase == "before_body":
            head, payload = _request(server, body, declared=len(json.dumps(body)) + 100)
            writer.write(head + payload[: rng.randrange(len(payload))])
            await writer.drain()
            await asyncio.sleep(rng.uniform(0, 0.05))
            return seen
        head, payload = _request(server, body)
        writer.write(head + payload)
        await writer.drain()
        if phase == "after_send":
            await asyncio.sleep(rng.uniform(0, 0.02))
        elif phase == "before_first_chunk":
            await asyncio.sleep(rng.uniform(0.02, 0.08))
        else:
            seen = (await asyncio.wait_for(reader.readline(), 60)).decode().strip()
            events = rng.randint(1, 4) if seen.endswith("200 OK") else 0  # a 429 leaves at once
            while events and (line := await asyncio.wait_for(reader.readline(), 60)):
                if line.startswith(b"data:"):  # headers and chunk sizes are read past
                    events -= 1
        return seen
    finally:
        writer.close()  # gone, without reading the rest
        await asyncio.gather(writer.wait_closed(), return_exceptions=True)


def test_240_clients_hanging_up_anywhere_leave_no_slot_held(fault_server) -> None:
    rng = random.Random(14)
    phases = [PHASES[i % len(PHASES)] for i in range(CLIENTS)]
    rng.shuffle(phases)

    async def crowd() -> list[str]:
        results: list[str] = []
        for start in range(0, CLIENTS, 24):  # 24 at a time: three times the slots
            wave = phases[start : start + 24]
            results += await asyncio.gather(*(hang_up(fault_server, p, random.Random(rng.random())) for p in wave))
        return results

    seen = asyncio.run(crowd())
    mid = Counter(s for s, p in zip(seen, phases, strict=True) if p == "mid_stream")
    assert mid["HTTP/1.1 200 OK"] > 0, mid  # some streams really were running when their client left

    with httpx.Client(base_url=fault_server.url, timeout=60,
                      headers={"Authorization": f"Bearer {fault_server.api_key}"}) as http:
        for _ in range(120):  # cancelled generations stop at their next step
            if http.get("/health").json()["in_flight"] == 0:
                break
            time.sleep(0.25)
        assert http.get("/health").json()["in_flight"] == 0
        reply = http.post("/v1/chat/completions", json={
            "model": MODEL_GROUNDED, "max_tokens": 8, "messages": [{"role": "user", "content": "Fever and cough."}]})
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"]

    log = fault_server.log_path.read_text()
    assert log.count(EARLY) == phases.count("before_body")
    assert "Traceback" not in log
