"""Parsing of the generation probes and the report's eval curve (no model needed)."""

from __future__ import annotations

from medassist.data import SAMPLES, build_examples, load_medqa
from medassist.data.prompts import format_differential, mcq_answer
from medassist.eval.config import EvalConfig
from medassist.eval.scoring import score_medqa
from medassist.sft.callbacks import Probe, eval_curve, top_condition


def test_the_mcq_probe_scores_answers_as_the_eval_suite_does() -> None:
    """The accuracy printed during training and the one ``medassist eval`` reports are one measure:
    the same answers, read by the same parser, score the same item by item."""
    items = load_medqa(SAMPLES / "medqa_sample.jsonl")[:6]
    examples = build_examples("medqa", items)
    probes = [Probe("mcq", e["messages"][:-1], e["target"], e["options"]) for e in examples]
    first = next(iter(items[1].options.values()))
    answers = [mcq_answer(items[0].answer_idx, items[0].answer),  # the trained form, right
               f"The answer is {first}.",  # an option's text, no letter
               "answer: (b)", "A 45-year-old man needs ceftriaxone", "", f"({items[5].answer_idx}) I think"]
    records = [{"id": i.id, "text": a, "options": i.options, "answer_idx": i.answer_idx, "meta_info": i.meta_info}
               for i, a in zip(items, answers, strict=True)]
    _, _, per_item = score_medqa(records, EvalConfig(), {})
    assert [p.hit(a) for p, a in zip(probes, answers, strict=True)] == [bool(per_item[i.id]) for i in items]
    assert probes[0].hit(answers[0]) and not probes[3].hit(answers[3])


def test_top_condition_full_and_cut_json() -> None:
    full = format_differential([("Pneumonia", 0.6), ("Bronchitis", 0.3), ("URTI", 0.1)])
    assert top_condition(full) == "Pneumonia"
    assert top_condition(full[:60]) == "Pneumonia"  # cut after the first entry by max_new_tokens
    assert top_condition("I cannot tell") is None


def test_eval_curve_merges_loss_and_generation_metrics_per_step() -> None:
    history = [
        {"loss": 2.0, "step": 1},
        {"eval_loss": 1.5, "eval_runtime": 3.0, "step": 2},
        {"eval_mcq_letter_em": 0.5, "eval_ddx_top1": 0.25, "step": 2},
    ]
    assert eval_curve(history) == [{"step": 2, "eval_loss": 1.5, "eval_mcq_letter_em": 0.5, "eval_ddx_top1": 0.25}]
