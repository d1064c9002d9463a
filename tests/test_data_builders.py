"""Instruction builders, shared prompts and the stratified split."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter

from medassist.data import ddx_example, load_custom, stratified_split
from medassist.data.answers.differential import format_differential, parse_differential
from medassist.data.answers.pubmedqa_decision import extract_yes_no_maybe
from medassist.data.builders import truth_first
from medassist.data.prompts import SYSTEM_PROMPT


def _roles(example):
    return [m["role"] for m in example["messages"]]


def test_mcq_examples(sample_chat_examples):
    examples = sample_chat_examples["medqa"]
    assert len(examples) == 40
    first = examples[0]
    assert _roles(first) == ["system", "user", "assistant"]
    assert first["messages"][0]["content"] == SYSTEM_PROMPT
    user, answer = first["messages"][1]["content"], first["messages"][2]["content"]
    assert "\nA. " in user and "\nE. " in user
    assert answer == "Answer: E. Right coronary artery" and first["target"] == "E"
    assert {e["source"] for e in sample_chat_examples["medmcqa"]} == {"medmcqa"}


def test_pubmedqa_examples(sample_chat_examples):
    example = sample_chat_examples["pubmedqa"][0]
    user, answer = example["messages"][1]["content"], example["messages"][2]["content"]
    assert user.startswith("Context: ") and "\nQuestion: Does early antibiotic" in user
    assert answer.startswith("yes. ") and extract_yes_no_maybe(answer) == example["target"] == "yes"
    assert example["id"] == "98000001"


def test_ddxplus_examples_answer_with_ranked_json(sample_chat_examples, sample_ddxplus):
    patients, kb = sample_ddxplus
    for example, patient in zip(sample_chat_examples["ddxplus"], patients, strict=True):
        assert _roles(example) == ["system", "user", "assistant"]
        assert example["messages"][1]["content"].startswith(f"A {patient.age}-year-old")
        ranked = parse_differential(example["messages"][2]["content"])
        assert ranked[0][0] == patient.pathology == example["target"]
        probabilities = [p for _, p in ranked]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(kb.normalise_condition(name) == name for name, _ in ranked)


def test_ddxplus_target_puts_the_true_pathology_first(sample_ddxplus):
    """DDXPlus' simulator often ranks another condition first; the training target must not."""
    patients, kb = sample_ddxplus
    patient = dataclasses.replace(patients[0], differential=[
        ("Bronchitis", 0.44), (patients[0].pathology, 0.39), ("Pneumonia", 0.17)])
    ranked = parse_differential(ddx_example(patient, kb)["messages"][2]["content"])
    assert ranked == [(patients[0].pathology, 0.44), ("Bronchitis", 0.39), ("Pneumonia", 0.17)]
    assert truth_first("Asthma", [("Bronchitis", 0.7), ("Pneumonia", 0.3)]) == [("Asthma", 0.7), ("Pneumonia", 0.3)]


def test_custom_examples(sample_chat_examples):
    rows = sample_chat_examples["custom"]
    assert rows[0]["messages"][1]["content"].endswith("Classify this text as one of: routine, soon, urgent.")
    assert rows[0]["messages"][2]["content"] == rows[0]["target"] == "urgent"
    chat = sample_chat_examples["custom_chat"][0]
    assert _roles(chat) == ["system", "user", "assistant"]


def test_differential_format_round_trip():
    text = format_differential([("GERD", 0.1), ("Pneumonia", 0.62), ("Influenza", 0.28)], top_k=2)
    assert json.loads(text) == {"differential": [{"condition": "Pneumonia", "probability": 0.62},
                                                 {"condition": "Influenza", "probability": 0.28}]}
    assert parse_differential(f"Sure.\n```json\n{text}\n```") == [("Pneumonia", 0.62), ("Influenza", 0.28)]
    assert parse_differential('{"differential": ["Croup"]}') == [("Croup", None)]
    assert parse_differential("no json {here") is None


def test_examples_fit_the_tiny_context(sample_chat_examples, tiny_model_dir):
    """The sft helper trains with max_length 512: sample prompts must fit."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    for source, examples in sample_chat_examples.items():
        lengths = [len(tok.apply_chat_template(e["messages"], tokenize=True, return_dict=True)["input_ids"])
                   for e in examples]
        assert max(lengths) <= 512, (source, max(lengths))


def test_split_is_stratified_and_reproducible(samples_dir, sample_ddxplus):
    patients, _ = sample_ddxplus
    train, val = stratified_split(patients, lambda p: p.pathology, validation_fraction=0.25, seed=7)
    assert len(train) == 90 and len(val) == 30
    assert set(Counter(p.pathology for p in val).values()) in ({3, 4}, {4}, {3})
    again = stratified_split(patients, lambda p: p.pathology, validation_fraction=0.25, seed=7)
    assert [p.id for p in again[1]] == [p.id for p in val]
    other = stratified_split(patients, lambda p: p.pathology, validation_fraction=0.25, seed=8)
    assert [p.id for p in other[1]] != [p.id for p in val]
    rows = load_custom(samples_dir / "custom_sample.csv")
    lonely = [*rows, rows[0].__class__(id="x", text="rare case", label="rare")]
    train, val = stratified_split(lonely, lambda r: r.label, validation_fraction=0.25)
    assert any(r.label == "rare" for r in train) and not any(r.label == "rare" for r in val)


def test_grounded_examples_cite_the_source_that_answers(samples_dir):
    """RAFT-style grounded examples: the serve part's grounded prompt, the oracle among distractors
    (one of them on the same subject), an answer citing the oracle's PMID, a share without it."""
    from medassist.data import build_examples, load
    from medassist.data.answers.citations import GROUNDING_RULES, NOT_IN_SOURCES, extract_citations

    abstracts = load("pubmed", samples_dir / "pubmed_sample.jsonl").records
    examples = build_examples("pubmed", abstracts, seed=0)
    assert len(examples) == len(abstracts)
    by_pmid = {a.pmid: a for a in abstracts}
    with_oracle = [e for e in examples if e["target"] != "not-in-sources"]
    assert 0.8 * len(examples) <= len(with_oracle) < len(examples)  # ~10% learn to say the sources do not answer
    for example in examples:
        system, user, answer = (m["content"] for m in example["messages"])
        assert _roles(example) == ["system", "user", "assistant"] and GROUNDING_RULES in system
        shown = re.findall(r"^Source \[(\d+)\]: ", user, flags=re.MULTILINE)
        abstract = by_pmid[example["id"]]
        if example in with_oracle:
            assert len(shown) == 3 and example["id"] in shown
            assert extract_citations(answer) == [example["id"]] and answer.endswith(f"[{example['id']}].")
            related = [p for p in shown if p != example["id"] and set(by_pmid[p].mesh) & set(abstract.mesh)]
            assert related, "a distractor on the same subject, as retrieval returns them"
        else:
            assert example["id"] not in shown and answer == NOT_IN_SOURCES
    cap = next(e for e in with_oracle if e["id"] == "99000002")
    assert cap["messages"][2]["content"] == ("Early guideline-concordant antibiotics within four hours of arrival "
                                            "reduced 30-day mortality [99000002].")
    assert "treatment outcomes in community-acquired pneumonia" in cap["messages"][1]["content"]
    assert build_examples("pubmed", abstracts, seed=0) == examples  # seeded


def test_grounded_pubmedqa_answers_with_the_conclusion(samples_dir):
    from medassist.data import build_examples, load_pubmedqa
    from medassist.data.answers.citations import SOURCES_HEADER

    items = load_pubmedqa(samples_dir / "pubmedqa_sample.json")
    examples = build_examples("pubmedqa", items, grounded=True, seed=1)
    first = next(e for e in examples if e["id"] == "98000001" and e["target"] != "not-in-sources")
    user, answer = first["messages"][1]["content"], first["messages"][2]["content"]
    assert user.startswith(SOURCES_HEADER + "\n") and user.endswith("Question: " + items[0].question)
    assert answer == f"{items[0].long_answer[:-1]} [98000001]."
