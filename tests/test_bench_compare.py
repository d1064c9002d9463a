"""``bench/run_all.py --compare``: two results files side by side, as a refactoring's before/after is read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _results(benchmarks: dict) -> dict:
    return {"date": "2026-12-06", "machine": {}, "versions": {}, "benchmarks": benchmarks}


def test_compare_marks_equal_changed_and_missing_metrics(tmp_path) -> None:
    before = _results({"rag": {"results": {"recall_at_10": 1.0, "p50_ms": 11.5}, "seconds": 100.0},
                       "old": {"results": {"x": 1}, "seconds": 1.0}})
    after = _results({"rag": {"results": {"recall_at_10": 1.0, "p50_ms": 12.25}, "seconds": 98.0},
                      "new": {"error": "exit code 1", "seconds": 2.0}})
    paths = []
    for name, doc in (("before", before), ("after", after)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(doc))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--compare", *map(str, paths)],
                         capture_output=True, text=True, check=True).stdout
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line for line in out.splitlines()[2:]}
    assert out.splitlines()[0] == "| benchmark | metric | before | after | same |"
    assert rows[("rag", "recall_at_10")].endswith("| 1 | 1 | = |")
    assert rows[("rag", "p50_ms")].endswith("| 11.5 | 12.25 |  |")
    assert rows[("old", "x")].endswith("| 1 |  |  |")  # gone after
    assert rows[("new", "error")].endswith("|  | exit code 1 |  |")  # new, and failed
