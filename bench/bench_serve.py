"""Serving throughput and time-to-first-token, engine direct vs through the gateway.

For each engine (local transformers, vLLM CPU) and 1/4/8/16 concurrent streaming clients:
tokens/s over the whole run and p50/p95 TTFT (first non-empty content). "Direct" is the
engine without the gateway: the in-process ``LocalEngine``, or vLLM's own OpenAI port.
Reports the speed-up at 16 clients over 1 and the gateway overhead (tokens/s lost, TTFT added).

    .venv/bin/python bench/bench_serve.py --out bench-serve.json [--quick] [--model DIR]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from harness import bench_parser, write_results

from medassist.data.prompts import SYSTEM_PROMPT
from medassist.ports import free_port
from medassist.serve.launch import run_gateway

# With a system message the gateway sends the engine exactly these messages (without one it adds
# medassist's), so direct and gateway runs prefill the same prompt and the difference is the gateway.
PROMPT = [{"role": "system", "content": SYSTEM_PROMPT},
          {"role": "user", "content": "A 54-year-old with fever, cough and pleuritic chest pain. Next steps?"}]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def http_client_run(url: str, model: str, key: str | None, tokens: int) -> tuple[float, int]:
    """One streaming request: (seconds to first content, completion tokens)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": PROMPT, "max_tokens": tokens, "stream": True, "ignore_eos": True,
            "stream_options": {"include_usage": True}, "rag": False}
    started, first, used = time.perf_counter(), None, 0
    async with httpx.AsyncClient(timeout=600) as client, \
            client.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                first = time.perf_counter() - started
            if chunk.get("usage"):
                used = chunk["usage"]["completion_tokens"]
    return first or time.perf_counter() - started, used


async def engine_run(engine, tokens: int) -> tuple[float, int]:
    from medassist.serve.engines.base import GenerationParams

    started, first, used = time.perf_counter(), None, 0
    async for event in engine.stream(PROMPT, GenerationParams(max_tokens=tokens, ignore_eos=True)):
        if first is None and event.text:
            first = time.perf_counter() - started
        used = event.completion_tokens or used
    return first or time.perf_counter() - started, used


async def load(run, clients: int, requests_per_client: int) -> tuple[int, float, list[float]]:
    """``clients`` concurrent clients, each sending ``requests_per_client`` requests one after another:
    (tokens, wall seconds, every request's TTFT)."""
    ttfts: list[float] = []
    total = 0

    async def client() -> None:
        nonlocal total
        for _ in range(requests_per_client):
            ttft, used = await run()
            ttfts.append(ttft)
            total += used

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return total, time.perf_counter() - started, ttfts


def summary(clients: int, rounds: list[tuple[int, float, list[float]]]) -> dict[str, float]:
    """Median tokens/s over the rounds; TTFT percentiles over every request of every round."""
    ttfts = [t for _, _, round_ttfts in rounds for t in round_ttfts]
    return {"clients": clients, "rounds": len(rounds), "requests": len(ttfts),
            "tokens": sum(tokens for tokens, _, _ in rounds),
            "seconds": round(sum(wall for _, wall, _ in rounds), 3),
            "tokens_per_s": round(statistics.median(tokens / wall for tokens, wall, _ in rounds), 1),
            "ttft_p50_ms": round(1000 * percentile(ttfts, 50), 1),
            "ttft_p95_ms": round(1000 * percentile(ttfts, 95), 1)}


async def paired(direct_run, gateway_run, levels: list[int], per_client: int, rounds: int,
                 gateway_pid: int | None = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """Direct and gateway runs alternate at every level, so a drift in the shared machine's speed
    (2 cores, engine and gateway on the same ones) hits both alike. With ``gateway_pid``, the
    gateway process's own CPU per generated token (its engine's processes excluded): what the
    gateway costs on any machine, while tokens/s here also counts the CPU it takes from the engine."""
    import psutil

    gateway_process = psutil.Process(gateway_pid) if gateway_pid else None
    await direct_run()  # warm-up: first-request costs (compilation, connections) are not measured
    await gateway_run()
    direct, gateway = {}, {}
    for n in levels:
        runs: dict[str, list] = {"direct": [], "gateway": []}
        cpu_s = 0.0
        for _ in range(rounds):
            runs["direct"].append(await load(direct_run, n, per_client))
            before = gateway_process.cpu_times() if gateway_process else None
            runs["gateway"].append(await load(gateway_run, n, per_client))
            if gateway_process is not None:
                after = gateway_process.cpu_times()
                cpu_s += (after.user + after.system) - (before.user + before.system)
        direct[str(n)] = summary(n, runs["direct"])
        gateway[str(n)] = summary(n, runs["gateway"])
        if gateway_process is not None:
            gateway[str(n)]["gateway_cpu_ms_per_token"] = round(1000 * cpu_s / max(gateway[str(n)]["tokens"], 1), 3)
    return direct, gateway


async def local_paired(model: str, gateway_url: str, levels: list[int], tokens: int, per_client: int,
                       rounds: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """The in-process ``LocalEngine`` (direct) against a gateway running the same engine."""
    from medassist.serve.config import ServeConfig
    from medassist.serve.engines.local import LocalEngine

    engine = LocalEngine(ServeConfig(model=model, engine="local"))
    await engine.start()
    try:
        return await paired(lambda: engine_run(engine, tokens),
                            lambda: http_client_run(gateway_url, "medassist-norag", None, tokens),
                            levels, per_client, rounds)
    finally:
        await engine.stop()


def compare(direct: dict[str, dict], gateway: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for n in direct:
        d, g = direct[n], gateway[n]
        out[n] = {"tokens_per_s_ratio": round(g["tokens_per_s"] / d["tokens_per_s"], 3),
                  "tokens_per_s_lost_pct": round(100 * (1 - g["tokens_per_s"] / d["tokens_per_s"]), 1),
                  "ttft_p50_added_ms": round(g["ttft_p50_ms"] - d["ttft_p50_ms"], 1)}
    return out


def report(direct: dict[str, dict], gateway: dict[str, dict], levels: list[int]) -> dict[str, object]:
    return {"direct": direct, "gateway": gateway, "overhead": compare(direct, gateway),
            "speedup_direct": speedup(direct, levels), "speedup_gateway": speedup(gateway, levels)}


def speedup(results: dict[str, dict], levels: list[int]) -> float:
    lo, hi = str(levels[0]), str(levels[-1])
    return round(results[hi]["tokens_per_s"] / results[lo]["tokens_per_s"], 2)


def ensure_model(model: str | None, work: Path) -> str:
    """``--model`` as given; else SmolLM2-135M-Instruct, the embedded default, converted here."""
    if model:
        return model
    from medassist.models.smollm2 import build_smollm2

    return str(build_smollm2(work / "base-smollm2-135m"))


def main() -> None:
    parser = bench_parser(__doc__, "local engine only, 1 and 4 clients, short answers")
    parser.add_argument("--model", help="model folder (default: SmolLM2-135M-Instruct, converted from its GGUF)")
    parser.add_argument("--levels", default=None, help="comma list of client counts (default 1,4,8,16; quick: 1,4)")
    parser.add_argument("--engines", default=None, help="comma list of local,vllm (default: both; quick: local)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="direct/gateway alternations per level; tokens/s is their median")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")] if args.levels else [1, 4] if args.quick else [1, 4, 8, 16]
    tokens, per_client, rounds = (16, 1, 1) if args.quick else (128, 2, args.rounds)
    engines = (args.engines or ("local" if args.quick else "local,vllm")).split(",")
    results: dict[str, dict] = {"levels": levels, "max_tokens": tokens, "requests_per_client": per_client,
                                "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        model = ensure_model(args.model, work)
        common = ["--model", model, "--limits.max_concurrency", "64", "--max_model_len", "1024"]
        if "local" in engines:
            with run_gateway(["--engine", "local", *common], work / "local.log") as gw:
                direct, gateway = asyncio.run(local_paired(model, gw.base_url, levels, tokens, per_client, rounds))
            results["local"] = report(direct, gateway, levels)
        if "vllm" in engines:
            port = free_port()
            with run_gateway(["--engine", "vllm", "--vllm_port", str(port), *common], work / "vllm.log",
                             ready_timeout_s=900) as gw:
                direct, gateway = asyncio.run(paired(
                    lambda: http_client_run(f"http://127.0.0.1:{port}/v1", "medassist-base", None, tokens),
                    lambda: http_client_run(gw.base_url, "medassist-norag", None, tokens),
                    levels, per_client, rounds, gateway_pid=gw.process.pid))
            results["vllm"] = report(direct, gateway, levels)
            results["vllm"]["gateway_keeps_speedup_ratio"] = round(
                results["vllm"]["speedup_gateway"] / results["vllm"]["speedup_direct"], 3)
    with contextlib.suppress(KeyError):
        results["local_vs_vllm_gateway_tokens_per_s_at_max"] = round(
            results["local"]["gateway"][str(levels[-1])]["tokens_per_s"]
            / results["vllm"]["gateway"][str(levels[-1])]["tokens_per_s"], 3)
    write_results(args.out, "serve", results, args.quick)


if __name__ == "__main__":
    main()
