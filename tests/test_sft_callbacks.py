"""Parsing of the generation probes and the report's eval curve (no model needed)."""

from __future__ import annotations

from medassist.data.prompts import format_differential, mcq_answer
from medassist.sft.callbacks import answer_letter, eval_curve, top_condition


def test_answer_letter_reads_the_trained_form() -> None:
    assert answer_letter(mcq_answer("C", "Right coronary artery")) == "C"
    assert answer_letter("answer: (b) Ceftriaxone") == "B"
    assert answer_letter("A 45-year-old man needs ceftriaxone") is None


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
