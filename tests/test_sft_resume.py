"""A training run killed after a checkpoint, or interrupted (SIGINT/SIGTERM) at a random point,
resumes from its last complete checkpoint and ends at the same total steps."""

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

from tests.fixtures.sft import QUICK, RECIPE

TOTAL = 4
SEED = int(os.environ.get("MEDASSIST_INTERRUPT_SEED", "0"))


def test_killed_run_resumes_to_same_total_steps(tiny_model_dir: Path, tmp_path: Path) -> None:
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.train import train

    out = tmp_path / "run"
    args = [*QUICK, "--model", str(tiny_model_dir), "--output-dir", str(out), "--max-steps", str(TOTAL),
            "--save-steps", "2", "--eval-steps", "100", "--per-device-train-batch-size", "2",
            "--max-length", "128"]
    proc = subprocess.Popen([sys.executable, "-m", "medassist.sft", "--config", str(RECIPE), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    checkpoint = out / "checkpoint-2" / "trainer_state.json"
    deadline = time.monotonic() + 300
    while not checkpoint.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate()
    assert checkpoint.is_file(), stderr[-2000:]
    assert not (out / "training_report.json").exists()  # it really died before finishing

    train(parse_config(SFTRunConfig, RECIPE, [*args, "--resume-from-checkpoint", "last"]))
    report = json.loads((out / "training_report.json").read_text())
    assert report["global_steps"] == TOTAL
    assert report["resumed_from_step"] in (2, 4) and report["steps_this_session"] == TOTAL - report[
        "resumed_from_step"]
    state = json.loads((out / f"checkpoint-{TOTAL}" / "trainer_state.json").read_text())
    assert state["global_step"] == TOTAL and state["max_steps"] == TOTAL


@pytest.mark.slow
def test_signal_at_a_random_point_leaves_a_resumable_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    """SIGINT or SIGTERM (chosen by the seed, like the delay) while loading, training or saving:
    the run exits cleanly, no checkpoint it leaves is taken for complete unless it is, and running
    again (resuming when a complete checkpoint exists) ends at the planned number of steps."""
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.train import last_complete_checkpoint, train

    rng = random.Random(f"{SEED}-sft")
    sig, delay = rng.choice([signal.SIGINT, signal.SIGTERM]), rng.uniform(5.0, 40.0)
    out = tmp_path / "run"
    args = [*QUICK, "--model", str(tiny_model_dir), "--output-dir", str(out), "--max-steps", "6",
            "--save-steps", "1", "--eval-steps", "100", "--per-device-train-batch-size", "2",
            "--max-length", "128"]
    proc = subprocess.Popen([sys.executable, "-m", "medassist.cli", "sft", "--config", str(RECIPE), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=300)
    # 130: the CLI unwound it; -2/-15: the signal came before the CLI installed its handler
    assert proc.returncode in (0, 130, -sig.value), (sig.name, delay, stderr[-2000:])
    last = last_complete_checkpoint(out, max_steps=6)
    if last is not None:
        state = json.loads((last / "trainer_state.json").read_text())
        assert state["global_step"] == int(last.name.split("-")[1])
    resume = ["--resume-from-checkpoint", "last"] if last is not None else []
    train(parse_config(SFTRunConfig, RECIPE, [*args, *resume]))
    report = json.loads((out / "training_report.json").read_text())
    assert report["global_steps"] == 6, (sig.name, delay)
