"""``medassist eval medqa --protocol loglik``: lm-evaluation-harness scores each option by
log-likelihood, in-process, offline, with lm-eval's own MedQA prompt; per-item results and the
same bootstrap interval as the generative suite. On the tiny model (plumbing, not skill)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from medassist.data import SAMPLES, load_medqa
from medassist.eval.loglik import lm_eval_prompt

MEDQA = SAMPLES / "medqa_sample.jsonl"


def medassist(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medassist.cli", *args], capture_output=True, text=True, timeout=900)


def test_the_prompt_is_lm_evals_own() -> None:
    from lm_eval.tasks.medqa.preprocess_medqa import doc_to_text

    item = next(i for i in load_medqa(MEDQA) if len(i.options) == 4)
    doc = {"sent1": item.question, **{f"ending{k}": v for k, v in enumerate(item.options.values())}}
    assert lm_eval_prompt(item.question, item.options) == doc_to_text(doc)


def test_loglik_run_on_the_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = medassist("eval", "medqa", "--protocol", "loglik", "--model", str(tiny_model_dir), "--data", str(MEDQA),
                     "--out", str(out), "--limit", "6")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["n_items"] == 6 and report["headline"]["accuracy"]["n"] == 6
    low, high = report["headline"]["accuracy"]["ci95"]
    assert 0 <= low <= report["headline"]["accuracy"]["value"] <= high <= 1
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    gold = {i.id: list(i.options).index(i.answer_idx) for i in load_medqa(MEDQA)}
    assert [s["target"] for s in samples] == [gold[s["id"]] for s in samples]
    assert json.loads((out / "manifest.json").read_text())["kind"] == "eval-loglik"
    assert "accuracy" in (out / "report.md").read_text()


def test_loglik_needs_a_local_model(tmp_path: Path) -> None:
    proc = medassist("eval", "medqa", "--protocol", "loglik", "--endpoint", "http://127.0.0.1:9/v1", "--data",
                     str(MEDQA), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "give --model" in proc.stderr
