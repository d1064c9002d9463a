"""Evaluation benchmarks: the offline faithfulness scorer's validity, and the embedded tiny
model's figures on the real MedQA dev / PubMedQA / DDXPlus files (a limited number of items).

Faithfulness validity: each PubMedQA conclusion (LONG_ANSWER) is scored against its own
abstract and against the next item's abstract; the scorer must separate the two (ROC-AUC).
Model figures use the in-process transformers path of ``medassist eval`` (the same suites,
predictions.jsonl and scoring as the CLI).

    .venv/bin/python bench/bench_eval.py --out FILE.json [--quick] [--model DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from medassist.eval.backends import TransformersBackend
from medassist.eval.config import EvalConfig
from medassist.eval.faithfulness import OfflineScorer
from medassist.eval.runner import run_suite
from medassist.eval.suites import RunSpec
from medassist.io import atomic_write_json
from medassist.manifest import machine, package_versions

SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REAL = {
    "medqa": SHARED / "medqa" / "us_5options_dev.jsonl",
    "pubmedqa": SHARED / "pubmedqa" / "ori_pqal.json",
    "ddx": SHARED / "ddxplus" / "release_validate_patients_subset_en.csv",
}


def faithfulness_auc(n: int) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    path = REAL["pubmedqa"]
    if not path.is_file():
        return {"skipped": f"{path} not present"}
    records = list(json.loads(path.read_text()).values())[:n]
    abstracts = [" ".join(r["CONTEXTS"]) for r in records]
    scorer = OfflineScorer()
    started = time.perf_counter()
    scorer.prepare([r["LONG_ANSWER"] for r in records], abstracts)
    own = [scorer.score_answer(r["LONG_ANSWER"], {"1": a})["mean_support"] for r, a in zip(records, abstracts,
                                                                                          strict=True)]
    other = [scorer.score_answer(r["LONG_ANSWER"], {"1": abstracts[(i + 1) % n]})["mean_support"]
             for i, r in enumerate(records)]
    seconds = time.perf_counter() - started
    return {
        "pairs": n, "roc_auc": roc_auc_score([1] * n + [0] * n, own + other),
        "mean_support_own_abstract": sum(own) / n, "mean_support_other_abstract": sum(other) / n,
        "own_over_other_ratio": (sum(own) / n) / max(1e-9, sum(other) / n),
        "seconds": round(seconds, 1), "answers_per_s": round(2 * n / seconds, 2),
        "scorer": {"threshold": scorer.threshold, "semantic_weight": scorer.semantic_weight},
    }


def tiny_model(model: str | None, workdir: Path) -> str:
    if model:
        return model
    default = Path(__file__).resolve().parents[1] / "artifacts" / "base-tiny"
    if (default / "config.json").is_file():
        return str(default)
    from medassist.tiny import PRESETS, build_tiny, default_corpus

    cfg = dataclasses.replace(PRESETS["test"], corpus=[str(p) for p in default_corpus()])
    return str(build_tiny(workdir / "base-tiny", cfg))


def model_figures(model: str, n: int, workdir: Path, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"model": model, "items_per_suite": n, "path": "in-process transformers, greedy"}
    budgets = {"medqa": 16, "pubmedqa": 16, "ddx": 48} if quick else {"medqa": 32, "pubmedqa": 32, "ddx": 96}
    for suite, data in REAL.items():
        if not data.is_file():
            results[suite] = {"skipped": f"{data} not present"}
            continue
        config = EvalConfig(max_tokens=budgets[suite], batch_size=8)
        backend = TransformersBackend(model, max_tokens=config.max_tokens, batch_size=config.batch_size)
        spec = RunSpec(suite=suite, data=str(data), backend=backend.name, limit=n)
        started = time.perf_counter()
        report = run_suite(spec, config, backend, workdir / f"run-{suite}", in_process=True)
        results[suite] = {"headline": report["headline"], "seconds": round(time.perf_counter() - started, 1),
                          "max_tokens": config.max_tokens}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quick", action="store_true", help="fewer items (about a minute)")
    parser.add_argument("--model", help="model folder (default: artifacts/base-tiny, else a new test-size one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        work = Path(tmp)
        results = {
            "faithfulness_scorer_pubmedqa": faithfulness_auc(12 if args.quick else 200),
            "tiny_model": model_figures(tiny_model(args.model, work), 2 if args.quick else 10, work, args.quick),
        }
    atomic_write_json(args.out, {"benchmark": "eval", "quick": args.quick, "results": results,
                                 "machine": machine(), "versions": package_versions()})
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
