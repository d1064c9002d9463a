"""Run a suite: ask the backend for every item not yet answered, append each answer to
``predictions.jsonl`` as it arrives, then score the run offline and write its report."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

from medassist.config import to_dict
from medassist.errors import MedassistError
from medassist.eval.backends import Backend
from medassist.eval.config import EvalConfig
from medassist.eval.predictions import RUN_SPEC, PredictionLog, read_predictions
from medassist.eval.report import write_report
from medassist.eval.suites import RunSpec, build_items, get_suite, record_of
from medassist.manifest import write_manifest

log = logging.getLogger(__name__)


def run_suite(spec: RunSpec, config: EvalConfig, backend: Backend, out: Path, in_process: bool) -> dict[str, Any]:
    """Answer the pending items of ``spec`` into ``out`` (resuming a previous run), then score."""
    from tqdm.auto import tqdm

    items, files = build_items(spec, config, in_process)
    if not items:
        raise MedassistError(f"{spec.data}: no items to evaluate")
    predictions = PredictionLog(out, dataclasses.asdict(spec))
    pending = predictions.pending(items)
    if len(pending) < len(items):
        log.info("resuming %s: %d of %d items already answered", out, len(items) - len(pending), len(items))
    started = time.perf_counter()
    with tqdm(total=len(items), initial=len(items) - len(pending), desc=f"eval {spec.suite}", unit="item") as bar:
        for item, answer in backend.answer(pending):
            predictions.append(record_of(item, answer))
            bar.update()
    write_manifest(out, f"eval-{spec.suite}", {"spec": dataclasses.asdict(spec), "config": to_dict(config)},
                   data_files=files, answered_now=len(pending), answer_seconds=round(time.perf_counter() - started, 1))
    return score_run(out, config)


def score_run(run_dir: Path, config: EvalConfig) -> dict[str, Any]:
    """Score ``predictions.jsonl`` offline and write report.json, report.md and the plots."""
    spec_path = run_dir / RUN_SPEC
    if not spec_path.is_file():
        raise MedassistError(f"{spec_path}: not a run directory (no {RUN_SPEC})")
    spec = json.loads(spec_path.read_text())
    records = read_predictions(run_dir)
    if not records:
        raise MedassistError(f"{run_dir}: predictions.jsonl holds no answers yet")
    scored = get_suite(spec["suite"])
    scores, primary, per_item = scored.score(records, config, spec)
    report = {"spec": spec, "config": to_dict(config), "n_items": len(records),
              "headline": scored.headline(scores), "primary": primary, "per_item_primary": per_item,
              "latency_s_mean": sum(r.get("latency_s", 0.0) for r in records) / len(records), "scores": scores}
    return write_report(run_dir, report)
