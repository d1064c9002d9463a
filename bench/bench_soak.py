"""Bounded soak: 16 clients stream from the gateway (local engine, SmolLM2-135M) on loopback for
5 minutes (``--quick``: 30 s); every request must succeed; the server's memory growth is reported.

    .venv/bin/python bench/bench_soak.py --out bench-soak.json [--quick] [--engine local|vllm]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from bench_serve import ensure_model
from harness import bench_parser, write_results

from medassist.serve.launch import run_gateway

QUESTIONS = [
    "Fever, productive cough and pleuritic chest pain for three days: what is likely?",
    "A child with ear pain and fever after a cold: first-line management?",
    "Sudden severe headache with neck stiffness: what must be excluded?",
    "Burning epigastric pain after meals, worse lying down: what is likely?",
]


def rss_mib(pid: int) -> float:
    """Resident memory of the server process and its children (vLLM runs as a child)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.is_file():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


async def soak(url: str, clients: int, seconds: float, pid: int) -> dict:
    deadline = time.monotonic() + seconds
    ok = failed = 0
    errors: dict[str, int] = {}
    memory = [rss_mib(pid)]

    async def client(i: int) -> None:
        nonlocal ok, failed
        async with httpx.AsyncClient(timeout=120) as http:
            n = 0
            while time.monotonic() < deadline:
                body = {"model": "medassist", "stream": True, "max_tokens": 24,
                        "messages": [{"role": "user", "content": QUESTIONS[(i + n) % len(QUESTIONS)]}]}
                n += 1
                try:
                    async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
                        lines = [line async for line in r.aiter_lines() if line.strip()]
                    if r.status_code == 200 and lines and lines[-1] == "data: [DONE]":
                        ok += 1
                        continue
                    key = f"status {r.status_code}"
                except httpx.HTTPError as exc:
                    key = exc.__class__.__name__
                failed += 1
                errors[key] = errors.get(key, 0) + 1

    async def sample_memory() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            memory.append(rss_mib(pid))

    started = time.monotonic()
    await asyncio.gather(sample_memory(), *(client(i) for i in range(clients)))
    elapsed = time.monotonic() - started
    memory.append(rss_mib(pid))
    return {"clients": clients, "seconds": round(elapsed, 1), "requests_ok": ok, "requests_failed": failed,
            "errors": errors, "requests_per_s": round(ok / elapsed, 2), "rss_mib_start": memory[0],
            "rss_mib_end": memory[-1], "rss_mib_peak": max(memory),
            "rss_growth_ratio": round(memory[-1] / memory[0], 3)}


def main() -> None:
    parser = bench_parser(__doc__, "30 seconds instead of 5 minutes")
    parser.add_argument("--engine", default="local", choices=["local", "vllm"])
    parser.add_argument("--model", help="model folder (default: SmolLM2-135M-Instruct, converted from its GGUF)")
    parser.add_argument("--index", help="RAG index folder (default: none, ungrounded)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        work = Path(tmp)
        model = ensure_model(args.model, work)
        extra = ["--index", args.index] if args.index else []
        gateway_args = ["--engine", args.engine, "--model", model, "--limits.max_concurrency", "32", *extra]
        with run_gateway(gateway_args, work / "gateway.log", ready_timeout_s=900) as gw:
            results = asyncio.run(soak(gw.url, 16, 30.0 if args.quick else 300.0, gw.process.pid))
    results["engine"] = args.engine
    write_results(args.out, "soak", results, args.quick)


if __name__ == "__main__":
    main()
