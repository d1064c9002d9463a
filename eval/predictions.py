"""``predictions.jsonl``: one line per answered item, appended and flushed as answers arrive.

The file is the run's source of truth (as in MIRAGE): scoring reads only it, so a run can be
re-scored, compared and resumed. A crash can leave a half-written last line; ``PredictionLog``
cuts it off on open so appending continues from the last complete record.

Answers are PHI-scrubbed before they are written: a model echoes the case it was given, and a
user's own evaluation file may hold real cases. Scoring is unaffected, since the scrubber leaves
options, diagnoses (eponyms included) and clinical values as they are.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from medassist.data.phi import scrub
from medassist.errors import MedassistError
from medassist.eval.suites import EvalItem
from medassist.io import atomic_write_json

PREDICTIONS = "predictions.jsonl"
FREE_TEXT = ("text", "error")  # the fields a model or server wrote, which may echo the case
RUN_SPEC = "run.json"


def read_predictions(run_dir: Path) -> list[dict[str, Any]]:
    """Complete records of a run; a broken line other than a crash-truncated last one is an error."""
    path = run_dir / PREDICTIONS
    if not path.is_file():
        raise MedassistError(f"{path}: no predictions file (run `medassist eval <suite> --out {run_dir}` first)")
    records = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):  # the unfinished last line of a crashed run
                break
            raise MedassistError(f"{path}:{number}: not a JSON record ({exc.msg})") from exc
    return records


class PredictionLog:
    """Append-only log of answered items, resumable after a crash."""

    def __init__(self, run_dir: Path, spec: dict[str, Any]):
        self.path = run_dir / PREDICTIONS
        run_dir.mkdir(parents=True, exist_ok=True)
        spec_path = run_dir / RUN_SPEC
        if spec_path.is_file():
            previous = json.loads(spec_path.read_text())
            changed = sorted(k for k in set(spec) | set(previous) if k != "limit" and spec.get(k) != previous.get(k))
            if changed:
                diff = ", ".join(f"{k}: {previous.get(k)!r} -> {spec.get(k)!r}" for k in changed)
                raise MedassistError(f"{run_dir} holds a different run ({diff}); use a new --out directory")
        atomic_write_json(spec_path, spec)
        self._drop_partial_line()
        self.done = {r["id"] for r in read_predictions(run_dir)} if self.path.is_file() else set()

    def _drop_partial_line(self) -> None:
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def pending(self, items: list[EvalItem]) -> list[EvalItem]:
        return [item for item in items if item.id not in self.done]

    def append(self, record: dict[str, Any]) -> None:
        record = {k: scrub(v) if k in FREE_TEXT and isinstance(v, str) else v for k, v in record.items()}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.done.add(record["id"])
