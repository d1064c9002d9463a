"""A training run killed after a checkpoint resumes from it and ends at the same total steps
(SIGINT/SIGTERM at a random point: tests/test_interrupts.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.sft import QUICK, RECIPE

TOTAL = 4


def test_killed_run_resumes_to_same_total_steps(tiny_model_dir: Path, tmp_path: Path) -> None:
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.train import train

    out = tmp_path / "run"
    args = [*QUICK, "--model-name-or-path", str(tiny_model_dir), "--output-dir", str(out), "--max-steps", str(TOTAL),
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
