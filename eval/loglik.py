"""MedQA and MedMCQA by log-likelihood, through EleutherAI's lm-evaluation-harness.

Published open-model MedQA figures (the Open Medical-LLM Leaderboard, Meditron, BioMistral,
OpenBioLLM) come from lm-eval's ``medqa_4options``/``medmcqa`` tasks: the model reads
"Question: ... A. ... Answer:" and the option letter it gives the highest log-likelihood is its
answer (``acc``; ``acc_norm`` divides by the letter's length in bytes). Nothing is generated, so
a model that cannot follow an answer format is still scored. This runs that protocol offline: the
items (any MedQA/MedMCQA file medassist reads, 4 or 5 options) are written as JSONL beside a task
YAML in the run folder with lm-eval's own prompt, and lm-eval's ``hf`` model scores them
in-process (with a PEFT adapter when given). Per-item results give the same bootstrap interval
as the generative suite, so the two protocols compare on the same items.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from medassist.errors import MedassistError
from medassist.eval.statistics import mean_with_ci
from medassist.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

TASK = "medassist_mcq_loglik"


def lm_eval_prompt(question: str, options: dict[str, str]) -> str:
    """lm-eval's ``medqa_4options`` prompt (``preprocess_medqa.doc_to_text``), for any option count."""
    answers = "".join(f"{letter}. {text}\n" for letter, text in options.items())
    return f"Question: {question}\n{answers}Answer:"


def write_task(records: list[Any], folder: Path) -> Path:
    """The items as JSONL and an lm-eval task over them; returns the folder (lm-eval's include path)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": r.id, "text": lm_eval_prompt(r.question, r.options), "letters": list(r.options),
             "gold": list(r.options).index(r.answer_idx)} for r in records]
    data = folder / "items.jsonl"
    atomic_write_text(data, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    atomic_write_text(folder / f"{TASK}.yaml", "\n".join([
        f"task: {TASK}",
        "dataset_path: json",
        f"dataset_kwargs: {{data_files: {{test: {json.dumps(str(data))}}}}}",
        "test_split: test",
        "output_type: multiple_choice",
        'doc_to_text: "{{text}}"',
        'doc_to_choice: "{{letters}}"',
        'doc_to_target: "{{gold}}"',
        "metric_list:",
        "  - {metric: acc, aggregation: mean, higher_is_better: true}",
        "  - {metric: acc_norm, aggregation: mean, higher_is_better: true}",
        "",
    ]))
    return folder


def run_loglik(records: list[Any], model: str, adapter: str | None, out: Path, batch_size: int = 8,
               device: str = "cpu") -> dict[str, Any]:
    """Score ``records`` with lm-eval; writes OUT/report.json, OUT/report.md and OUT/samples.jsonl."""
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise MedassistError("--protocol loglik needs lm-eval (pip install -e '.[eval]')") from exc
    if not records:
        raise MedassistError("no items to score")
    task_dir = write_task(records, out / "lm-eval-task")
    model_args = {"pretrained": model, "dtype": "float32", "device": device}
    if adapter:
        model_args["peft"] = adapter
    log.info("lm-eval %s on %d items: %s", TASK, len(records), model_args)
    results = lm_eval.simple_evaluate(model="hf", model_args=model_args, tasks=[TASK], batch_size=batch_size,
                                      task_manager=TaskManager(include_path=str(task_dir)), log_samples=True)
    samples = sorted(results["samples"][TASK], key=lambda s: s["doc_id"])
    atomic_write_text(out / "samples.jsonl", "".join(
        json.dumps({"id": records[s["doc_id"]].id, "acc": s["acc"], "acc_norm": s["acc_norm"],
                    "target": s["target"]}) + "\n" for s in samples))
    options = {len(r.options) for r in records}
    report = {
        "protocol": "loglik (lm-evaluation-harness, hf model)",
        "lm_eval_version": lm_eval.__version__, "model": model, "adapter": adapter, "n_items": len(records),
        "headline": {"accuracy": mean_with_ci([s["acc"] for s in samples]),
                     "accuracy_norm": mean_with_ci([s["acc_norm"] for s in samples])},
        "chance": round(sum(1 / len(r.options) for r in records) / len(records), 4),
        "options": sorted(options),
    }
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render(report))
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"# MedQA by log-likelihood ({report['protocol']})", "",
             f"{report['n_items']} items, {'/'.join(map(str, report['options']))} options, chance "
             f"{report['chance']:.3f}; model {report['model']}" + (f" + {report['adapter']}" if report["adapter"]
                                                                   else ""), "",
             "| metric | value | 95% CI |", "|---|---|---|"]
    for name, row in report["headline"].items():
        low, high = row["ci95"]
        lines.append(f"| {name} | {row['value']:.3f} | [{low:.3f}, {high:.3f}] |")
    return "\n".join(lines) + "\n"
