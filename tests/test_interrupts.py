"""Interrupting ``medassist rag build`` (SIGTERM), ``medassist eval`` (SIGINT) and ``medassist sft``
(either) at a random point never corrupts their outputs, and re-running the same command (resuming,
for sft) completes the work. (A run killed with SIGKILL: tests/test_sft_resume.py.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medassist.data import SAMPLES

SEED = int(os.environ.get("MEDASSIST_INTERRUPT_SEED", "0"))


def run_and_interrupt(argv: list[str], sig: signal.Signals, delay_s: float, cwd: Path) -> subprocess.CompletedProcess:
    """Start ``medassist ARGV``; after ``delay_s`` send ``sig`` (if still running); wait for it."""
    proc = subprocess.Popen([sys.executable, "-m", "medassist.cli", *argv], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + delay_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def medassist(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medassist.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=True)


@pytest.mark.slow
def test_interrupted_rag_build_keeps_old_index_and_rebuilds(sample_index_dir, rag_cache, tmp_path):
    sig = signal.SIGTERM
    from medassist.rag.retriever import Retriever

    index = tmp_path / "index"
    subprocess.run(["cp", "-r", str(sample_index_dir), str(index)], check=True)
    before = json.loads((index / "manifest.json").read_text())["count"]
    argv = ["rag", "build", "--corpus", str(SAMPLES / "pubmed_sample.jsonl"),
            "--corpus", str(SAMPLES / "pubmed_sample.xml"), "--out", str(index),
            "--embedding-cache", str(tmp_path / "cache.sqlite")]
    delay = random.Random(f"{SEED}-{sig.name}").uniform(2.0, 12.0)
    interrupted = run_and_interrupt(argv, sig, delay, tmp_path)
    # 130: our handler unwound it; -2/-15: the signal came before the CLI installed its handler.
    assert interrupted.returncode in (0, 130, -2, -15), interrupted.stderr[-2000:]
    after_interrupt = json.loads((index / "manifest.json").read_text())["count"]
    assert len(Retriever.load(index).search("pneumonia", k=3)) == 3, "index loadable after the interrupt"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".index.")], "no temporary leftovers"
    medassist(argv, tmp_path)
    rebuilt = json.loads((index / "manifest.json").read_text())["count"]
    assert Retriever.load(index).search("pneumonia", k=3)
    # Either the old index survived whole, or the signal came after the new one was renamed in.
    assert after_interrupt in (before, rebuilt)


@pytest.mark.slow
def test_interrupted_eval_resumes_without_duplicates(live_server, tmp_path):
    sig = signal.SIGINT
    run = tmp_path / "run"
    argv = ["eval", "medqa", "--endpoint", live_server.base_url, "--api-key", live_server.api_key,
            "--data", str(SAMPLES / "medqa_sample.jsonl"), "--out", str(run), "--limit", "10",
            "--max-tokens", "8", "--concurrency", "2"]
    delay = random.Random(f"{SEED}-{sig.name}").uniform(3.0, 12.0)
    interrupted = run_and_interrupt(argv, sig, delay, tmp_path)
    assert interrupted.returncode in (0, 130, -2, -15), interrupted.stderr[-2000:]
    medassist(argv, tmp_path)
    lines = (run / "predictions.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) == 10
    report = json.loads((run / "report.json").read_text())
    assert report["n_items"] == 10


@pytest.mark.slow
def test_interrupted_sft_resumes_to_the_planned_steps(tiny_model_dir, tmp_path):
    """SIGINT or SIGTERM (chosen by the seed, like the delay) while loading, training or saving:
    every checkpoint taken for complete is, and running again (resuming when a complete checkpoint
    exists) ends at the planned number of steps."""
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.train import last_complete_checkpoint, train
    from tests.fixtures.sft import QUICK, RECIPE

    rng = random.Random(f"{SEED}-sft")
    sig, delay = rng.choice([signal.SIGINT, signal.SIGTERM]), rng.uniform(5.0, 40.0)
    out = tmp_path / "run"
    args = [*QUICK, "--model-name-or-path", str(tiny_model_dir), "--output-dir", str(out), "--max-steps", "6",
            "--save-steps", "1", "--eval-steps", "100", "--per-device-train-batch-size", "2",
            "--max-length", "128"]
    # from the repository root: the recipe's data paths are relative to it
    interrupted = run_and_interrupt(["sft", "--config", str(RECIPE), *args], sig, delay, RECIPE.parents[1])
    assert interrupted.returncode in (0, 130, -sig.value), (sig.name, delay, interrupted.stderr[-2000:])
    last = last_complete_checkpoint(out, max_steps=6)
    if last is not None:
        state = json.loads((last / "trainer_state.json").read_text())
        assert state["global_step"] == int(last.name.split("-")[1])
    resume = ["--resume-from-checkpoint", "last"] if last is not None else []
    train(parse_config(SFTRunConfig, RECIPE, [*args, *resume]))
    report = json.loads((out / "training_report.json").read_text())
    assert report["global_steps"] == 6, (sig.name, delay)


BENCH_SCRIPT = """
import sys, time
sys.path.insert(0, {bench!r})
from harness import bench_parser
from medassist.ports import free_port
from medassist.serve.launch import running
from pathlib import Path

bench_parser("a benchmark", "quick").parse_args(["--out", "unused.json"])
port = free_port()
with running([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
             f"http://127.0.0.1:{{port}}/", Path("server.log"), name="server") as server:
    print(server.pid, flush=True)
    time.sleep(300)
"""


def test_a_killed_benchmark_stops_the_server_it_started(tmp_path):
    """A benchmark killed with SIGTERM (a timeout, a scheduler) must not orphan its gateway and vLLM:
    2026-12-06, a killed bench_sft.py left vLLM holding both cores. Here a real HTTP server stands in."""
    script = BENCH_SCRIPT.format(bench=str(Path(__file__).resolve().parents[1] / "bench"))
    bench = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    server_pid = int(bench.stdout.readline())  # printed once the server answers
    bench.send_signal(signal.SIGTERM)
    assert bench.wait(timeout=90) != 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(server_pid, signal.SIGKILL)
    pytest.fail(f"the server (pid {server_pid}) outlived the benchmark that started it")
