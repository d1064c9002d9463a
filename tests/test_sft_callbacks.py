"""Parsing of the generation probes and the report's eval curve (no model needed)."""

from __future__ import annotations

import json

from medassist.data import SAMPLES, build_examples, load, load_medqa
from medassist.data.answers.differential import format_differential, top_condition
from medassist.data.answers.mcq import mcq_answer
from medassist.eval.config import EvalConfig
from medassist.eval.suites import SUITES
from medassist.sft.callbacks import Probe, eval_curve


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
    _, _, per_item = SUITES["medqa"].score(records, EvalConfig(), {})
    assert [p.hit(a) for p, a in zip(probes, answers, strict=True)] == [bool(per_item[i.id]) for i in items]
    assert probes[0].hit(answers[0]) and not probes[3].hit(answers[3])


def test_the_ddx_probe_scores_answers_as_the_eval_suite_does() -> None:
    """The DDXPlus probe's top-1 is the ddx suite's GTPA@1, item by item: the same parser, the same
    knowledge-base names, the same ranking by stated probability, cut-off answers read alike."""
    data = SAMPLES / "ddxplus" / "patients_sample.csv"
    loaded = load("ddxplus", data)
    patients = loaded.records[:7]
    examples = build_examples("ddxplus", patients, kb=loaded.kb)
    probes = [Probe("ddx", e["messages"][:-1], e["target"], normalise=loaded.kb.normalise_condition)
              for e in examples]
    truth, other = patients[0].pathology, next(p.pathology for p in patients if p.pathology != patients[0].pathology)
    answers = [
        examples[0]["messages"][-1]["content"],  # the trained answer: right
        json.dumps({"differential": [{"condition": other, "probability": 0.2},  # listed second, more probable
                                     {"condition": patients[1].pathology, "probability": 0.7}]}),
        "Most likely " + json.dumps({"differential": [patients[2].pathology.upper()]}),  # another case, no probability
        format_differential([(patients[3].pathology, 0.6), (other, 0.3), (truth, 0.1)])[:60],  # cut by the budget
        "I cannot tell",
        json.dumps({"differential": [{"condition": "Martian flu", "probability": 0.9}]}),
        '{"differential":[{"condition":"' + patients[6].pathology + '","probab',  # cut inside the first entry
    ]
    records = [{"id": p.id, "pathology": p.pathology, "true_differential": p.differential, "age": p.age, "sex": p.sex,
                "text": a} for p, a in zip(patients, answers, strict=True)]
    _, _, per_item = SUITES["ddx"].score(records, EvalConfig(), {"data": str(data)})
    hits = [p.hit(a) for p, a in zip(probes, answers, strict=True)]
    assert hits == [bool(per_item[p.id]) for p in patients]
    assert hits[0] and not hits[4] and not hits[5]


def test_top_condition_full_and_cut_json() -> None:
    full = format_differential([("Pneumonia", 0.6), ("Bronchitis", 0.3), ("URTI", 0.1)])
    assert top_condition(full) == "Pneumonia"
    assert top_condition(full[:60]) == "Pneumonia"  # cut after the first entry by max_new_tokens
    assert top_condition(full[:75]) == "Pneumonia"  # cut inside the second entry
    assert top_condition('{"differential":[{"condition":"Asthma","probab') == "Asthma"  # cut inside the first
    assert top_condition('{"differential":[{"condition":"Bronchitis","probability":0.2},{"condition":"Pneumonia",'
                         '"probability":0.7}]}') == "Pneumonia"  # the most probable, wherever it is listed
    assert top_condition("I cannot tell") is None


def test_eval_curve_merges_loss_and_generation_metrics_per_step() -> None:
    history = [
        {"loss": 2.0, "step": 1},
        {"eval_loss": 1.5, "eval_runtime": 3.0, "step": 2},
        {"eval_mcq_letter_em": 0.5, "eval_ddx_top1": 0.25, "step": 2},
    ]
    assert eval_curve(history) == [{"step": 2, "eval_loss": 1.5, "eval_mcq_letter_em": 0.5, "eval_ddx_top1": 0.25}]
