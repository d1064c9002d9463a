"""Normalisation, duplicate removal and decontamination (with counts), on samples and real MedQA."""

from __future__ import annotations

import dataclasses
import json

import pytest

from medassist.cli import main
from medassist.data import decontaminate, deduplicate, load_medqa, normalise_whitespace
from medassist.data.clean import comparison_key


def test_normalisation():
    assert normalise_whitespace("  Fever\u00a0and\tcough\u200b\n\n ﬁne ") == "Fever and cough fine"
    assert comparison_key("Café-au-lait SPOTS!") == comparison_key("cafe au lait spots")


def test_exact_and_near_duplicates_removed(samples_dir):
    items = load_medqa(samples_dir / "medqa_sample.jsonl")
    exact = dataclasses.replace(items[3], question=items[3].question.upper() + "  ")
    words = items[7].question.split()
    near = dataclasses.replace(items[7], question=" ".join(words[:-1] + ["likely?"]))  # one word edited
    kept, report = deduplicate([*items, exact, near])
    assert (report.kept, report.exact_duplicates, report.near_duplicates) == (40, 1, 1)
    assert kept == items
    assert (40, 3) in report.examples and (41, 7) in report.examples


def test_decontamination_removes_and_counts_copied_eval_item(samples_dir):
    items = load_medqa(samples_dir / "medqa_sample.jsonl")
    train, evaluation = items[:30], items[30:]
    leaked = dataclasses.replace(evaluation[2], question="  " + evaluation[2].question.replace(". ", ".\n"))
    kept, report = decontaminate([*train, leaked], evaluation)
    assert kept == train
    assert (report.checked, report.removed, report.eval_items) == (31, 1, 10)
    assert report.matches == [{"train": 30, "eval": 2, "overlap": 1.0}]


def test_shared_boilerplate_is_not_contamination(samples_dir):
    items = load_medqa(samples_dir / "medqa_sample.jsonl")
    generic = dataclasses.replace(items[0], question="Which of the following is the most likely diagnosis?")
    kept, report = decontaminate([generic], items[1:])
    assert report.removed == 0 and kept == [generic]


def test_build_cli_decontaminates_splits_and_writes_manifest(samples_dir, tmp_path, capsys):
    lines = (samples_dir / "medqa_sample.jsonl").read_text().splitlines()
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("\n".join(lines[:5]) + "\n")
    out = tmp_path / "built"
    main(["data", "build", str(samples_dir / "medqa_sample.jsonl"), "--source", "medqa", "--out", str(out),
          "--decontaminate", str(eval_file), "--validation-fraction", "0.25"])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["decontamination"]["removed"] == 5
    assert (stats["train_examples"], stats["validation_examples"]) == (26, 9)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "data-build" and str(eval_file) in manifest["data_sha256"]
    train = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    eval_questions = {json.loads(x)["question"] for x in lines[:5]}
    assert not any(q in ex["messages"][1]["content"] for ex in train for q in eval_questions)
    assert "examples written to" in capsys.readouterr().out


@pytest.mark.shared_data
def test_real_medqa_train_subset_against_dev(shared_data):
    """The train subset shares no question text with dev, but one case vignette (same patient,
    another question) is caught by the n-gram overlap."""
    dev = load_medqa(shared_data / "medqa" / "us_5options_dev.jsonl")
    train = load_medqa(shared_data / "medqa" / "us_4options_train_subset_1030.json")
    kept, report = decontaminate(train, dev)
    assert report.removed == 1 and len(kept) == 1029
    match = report.matches[0]
    assert train[match["train"]].question[:80] == dev[match["eval"]].question[:80]
    assert match["overlap"] >= 0.8


def test_ddxplus_decontamination_keeps_distinct_patients(shared_data):
    """Against a 1% held-out split of the shared subset, decontamination removes the patients whose
    case repeats a held-out one, not a third of them: 6,251 of 6,695 kept, 4,239 when an evidence code
    was split into several words ("E_55_@_V_1" -> "e 55 v 1", whose shingles unrelated patients share;
    the sample patients have too few findings to show it)."""
    from medassist.data import label_of, load, stratified_split

    patients = load("ddxplus", next((shared_data / "ddxplus").glob("*patients*.csv"))).records
    train, held_out = stratified_split(patients, lambda r: label_of("ddxplus", r), 0.01, 42)
    kept, _ = decontaminate(train, held_out)
    assert len(kept) >= 0.9 * len(train), (len(kept), len(train))
