"""Every CLI command given a wrong path, a bad YAML key or a corrupted file exits 2 with one line
naming what to fix (no traceback), as ``medassist --help`` documents. Table-driven over the real
``medassist`` CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CASES = [
    # (id, argv with {tmp} placeholders, text the one-line error must contain)
    ("data-missing-file", "data validate {tmp}/nope.jsonl --format medqa", "nope.jsonl: file not found"),
    ("model-missing-corpus", "model init --preset tiny --corpus {tmp}/nope --out {tmp}/m", "corpus path not found"),
    ("model-unknown-preset", "model init --preset gpt5 --out {tmp}/m", "--preset 'gpt5' is unknown"),
    ("sft-bad-key", "sft --config {tmp}/bad.yaml", "unknown config key(s) max_stepz"),
    ("sft-missing-config", "sft --config {tmp}/nope.yaml", "config file not found"),
    ("sft-bad-yaml", "sft --config {tmp}/broken.yaml", "not valid YAML"),
    ("sft-missing-model", "sft --model {tmp}/no-model --max-steps 1", "no-model"),
    ("rag-missing-corpus", "rag build --corpus {tmp}/nope.jsonl --out {tmp}/ix", "nope.jsonl: file not found"),
    ("rag-missing-index", "rag query --index {tmp}/nope hello", "not a medassist index"),
    ("rag-corrupt-corpus", "rag build --corpus {tmp}/broken.jsonl --out {tmp}/ix2 --on-bad-line error", "line 1"),
    ("serve-bad-key", "serve --config {tmp}/bad.yaml", "unknown config key(s) max_stepz"),
    ("serve-missing-model", "serve --model {tmp}/no-model --engine local --port 1", "no-model"),
    ("eval-missing-data", "eval medqa --data {tmp}/nope.jsonl --out {tmp}/ev --model {tmp}/m", "nope.jsonl"),
    ("eval-corrupt-data", "eval medqa --data {tmp}/broken.jsonl --out {tmp}/ev3 --endpoint http://127.0.0.1:9/v1",
     "broken.jsonl"),
    ("eval-bad-key", "eval medqa --data {tmp}/broken.jsonl --out {tmp}/ev4 --endpoint http://127.0.0.1:9/v1 "
     "--config {tmp}/bad.yaml", "unknown config key(s) max_stepz"),
    ("ui-missing-db", "ui export-feedback --db {tmp}/nope.db --out {tmp}/x.csv", "nope.db"),
    ("guide-bad-format", "guide --format pdf", "--format 'pdf' is unknown"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli-errors")
    (tmp / "bad.yaml").write_text("max_stepz: 3\n")
    (tmp / "broken.yaml").write_text("max_steps: [1, 2\n")
    (tmp / "broken.jsonl").write_text('{"question": "x", "options": {"A": "a"}\n')
    return tmp


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_error_is_one_clear_line(inputs: Path, argv: str, expected: str) -> None:
    args = argv.format(tmp=inputs).split()
    proc = subprocess.run([sys.executable, "-m", "medassist.cli", *args], capture_output=True, text=True,
                          cwd=inputs, timeout=180)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_usage_error_exits_2_and_help_documents_the_codes() -> None:
    run = [sys.executable, "-m", "medassist.cli"]
    usage = subprocess.run([*run, "rag", "build"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "Missing option '--corpus'" in usage.stderr and "Traceback" not in usage.stderr
    shown = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60).stdout
    help_text = " ".join(shown.replace("│", " ").split())  # unwrapped from rich's box
    for code in ("0 done", "1 a failure that is not the input's", "2 a usage or input problem", "130 interrupted"):
        assert code in help_text
