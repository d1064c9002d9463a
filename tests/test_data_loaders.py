"""Loaders on the bundled samples and on every real file in ../shared/data (skipped when absent)."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter

import pytest

from medassist.data import (
    iter_pubmed,
    load_custom,
    load_ddxplus,
    load_medmcqa,
    load_medqa,
    load_pubmedqa,
    to_dataset,
)
from medassist.errors import MedassistError


# ---------------------------------------------------------------- bundled samples
def test_medqa_sample_has_4_and_5_option_questions(samples_dir):
    items = load_medqa(samples_dir / "medqa_sample.jsonl")
    assert len(items) == 40
    assert Counter(len(i.options) for i in items) == {5: 30, 4: 10}
    for item in items:
        assert item.options[item.answer_idx] == item.answer
        assert item.meta_info in ("step1", "step2&3")
    assert len({i.id for i in items}) == 40


def test_medmcqa_sample_release_layout(samples_dir):
    items = load_medmcqa(samples_dir / "medmcqa_sample.jsonl")
    assert len(items) == 10
    first = items[0]
    assert (first.answer_idx, first.answer, first.source) == ("A", "Ethosuximide", "medmcqa")


def test_pubmedqa_sample_and_hf_layout(samples_dir, tmp_path):
    items = load_pubmedqa(samples_dir / "pubmedqa_sample.json")
    assert len(items) == 20
    assert {i.final_decision for i in items} == {"yes", "no", "maybe"}
    # The same records in the Hugging Face pqa_labeled row layout, as a JSONL export.
    rows = [{"pubid": int(i.pmid), "question": i.question, "long_answer": i.long_answer,
             "final_decision": i.final_decision,
             "context": {"contexts": i.contexts, "labels": i.labels, "meshes": i.meshes}} for i in items]
    path = tmp_path / "pqa_labeled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = load_pubmedqa(path)
    assert [(a.pmid, a.question, a.contexts, a.final_decision) for a in again] == [
        (i.pmid, i.question, i.contexts, i.final_decision) for i in items]


def test_medqa_hf_options_list_layout(tmp_path):
    """bigbio-style rows carry options as [{"key", "value"}]."""
    row = {"question": "Which vitamin deficiency causes scurvy?", "answer": "Vitamin C", "answer_idx": "B",
           "options": [{"key": "A", "value": "Vitamin A"}, {"key": "B", "value": "Vitamin C"},
                       {"key": "C", "value": "Vitamin D"}, {"key": "D", "value": "Vitamin K"}]}
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([row]))
    (item,) = load_medqa(path)
    assert item.options["B"] == "Vitamin C" and item.answer_idx == "B"


def test_hub_id_offline_fails_with_instructions(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MedassistError, match=r"GBaker/MedQA-USMLE-4-options.*could not be loaded.*to_json"):
        load_medqa("GBaker/MedQA-USMLE-4-options")


def test_ddxplus_sample_decodes_to_english(sample_ddxplus):
    patients, kb = sample_ddxplus
    assert len(patients) == 120
    assert Counter(p.pathology for p in patients) == {name: 15 for name in kb.condition_names}
    patient = next(p for p in patients if "E_6_@_V_2" in p.evidences)
    vignette = kb.vignette(patient)
    assert vignette.startswith(f"A {patient.age}-year-old ")
    assert "side of the chest(L)" in vignette  # multi-choice value decoded through value_meaning
    assert "E_" not in vignette and "V_" not in vignette
    assert kb.severity("Anaphylaxis") == 1 and kb.icd10("Pneumonia") == "J18"


def test_ddxplus_condition_normalisation(sample_ddxplus):
    _, kb = sample_ddxplus
    cases = {
        "Pneumonia": "Pneumonia", "pneumonie": "Pneumonia", "Community-acquired pneumonia": "Pneumonia",
        "heart attack": "Possible NSTEMI / STEMI", "STEMI": "Possible NSTEMI / STEMI",
        "acute asthma exacerbation": "Bronchospasm / acute asthma exacerbation",
        "Otite moyenne aiguë (OMA)": "Acute otitis media", "J11.1": "Influenza", "i26": "Pulmonary embolism",
        "gastroesophageal reflux disease": "GERD", "possible pulmonary embolism": "Pulmonary embolism",
        "migraine": None, "": None,
    }
    assert {text: kb.normalise_condition(text) for text in cases} == cases


def test_pubmed_jsonl_xml_and_gzip_agree(samples_dir, tmp_path):
    jsonl = list(iter_pubmed(samples_dir / "pubmed_sample.jsonl"))
    assert len(jsonl) == 60 and len({a.pmid for a in jsonl}) == 60
    xml = list(iter_pubmed(samples_dir / "pubmed_sample.xml"))
    assert len(xml) == 5
    by_pmid = {a.pmid: a for a in jsonl}
    for article in xml:
        twin = by_pmid[article.pmid]
        assert (article.abstract, article.year, article.journal, article.mesh) == (
            twin.abstract, twin.year, twin.journal, twin.mesh)
        assert article.title.rstrip(".") == twin.title
    gz = tmp_path / "pubmed_sample.xml.gz"
    with open(samples_dir / "pubmed_sample.xml", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert [a.pmid for a in iter_pubmed(gz)] == [a.pmid for a in xml]


def test_custom_csv_and_chat(samples_dir):
    rows = load_custom(samples_dir / "custom_sample.csv")
    assert len(rows) == 24 and {r.label for r in rows} == {"urgent", "soon", "routine"}
    chats = load_custom(samples_dir / "custom_chat_sample.jsonl")
    assert len(chats) == 8 and all(c.messages[-1]["role"] == "assistant" for c in chats)


# ---------------------------------------------------------------- real datasets (../shared/data)
@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "count", "n_options"), [
    ("us_5options_dev.jsonl", 1272, 5),
    ("us_5options_phrases_dev.jsonl", 1272, 5),
    ("us_4options_train_subset_1030.json", 1030, 4),
])
def test_real_medqa(shared_data, name, count, n_options):
    items = load_medqa(shared_data / "medqa" / name)
    assert len(items) == count
    assert {len(i.options) for i in items} == {n_options}
    assert all(i.options[i.answer_idx] == i.answer for i in items)


@pytest.mark.shared_data
def test_real_medmcqa(shared_data):
    items = load_medmcqa(shared_data / "medmcqa" / "medmcqa_dev_subset_2816.jsonl")
    assert len(items) == 2816
    assert {len(i.options) for i in items} == {4}


@pytest.mark.shared_data
def test_real_pubmedqa(shared_data):
    items = load_pubmedqa(shared_data / "pubmedqa" / "ori_pqal.json")
    assert len(items) == 1000
    assert Counter(i.final_decision for i in items) == {"yes": 552, "no": 338, "maybe": 110}
    first = next(i for i in items if i.pmid == "21645374")
    assert first.question.startswith("Do mitochondria play a role")
    abstracts = list(iter_pubmed(shared_data / "pubmedqa" / "ori_pqal.json"))
    assert len(abstracts) == 1000 and abstracts[0].pmid == "21645374" and abstracts[0].year == 2011


@pytest.mark.shared_data
def test_real_ddxplus(shared_data):
    folder = shared_data / "ddxplus"
    patients, kb = load_ddxplus(folder / "release_validate_patients_subset_en.csv",
                                folder / "release_conditions.json", folder / "release_evidences.json")
    assert len(patients) == 6763
    assert len({p.pathology for p in patients}) == 19
    assert len(kb.conditions) == 49 and len(kb.evidences) == 223
    hernia = next(p for p in patients if p.pathology == "Inguinal hernia")
    vignette = kb.vignette(hernia)
    assert vignette.startswith(f"A {hernia.age}-year-old ")
    assert "Chief complaint:" in vignette and "Symptoms:" in vignette
    assert "testicle" in vignette or "groin" in vignette or "iliac" in vignette  # decoded pain locations
    assert "E_" not in vignette and "V_" not in vignette
    assert all(kb.normalise_condition(name) == name for name in kb.condition_names)
    assert kb.normalise_condition("I20.0") == "Unstable angina"
    assert kb.severity("Possible NSTEMI / STEMI") == 1


def test_hf_saved_dataset_and_parquet_round_trip(samples_dir, sample_ddxplus, tmp_path):
    """The Hugging Face path (``datasets``) on local copies: save_to_disk folders and parquet files."""
    items = load_medqa(samples_dir / "medqa_sample.jsonl")
    dataset = to_dataset(items)
    assert dataset.num_rows == 40 and set(dataset.column_names) >= {"question", "options", "answer_idx"}
    dataset.save_to_disk(str(tmp_path / "saved"))
    dataset.to_parquet(str(tmp_path / "medqa.parquet"))
    for source in (tmp_path / "saved", tmp_path / "medqa.parquet"):
        again = load_medqa(source)
        assert [(i.question, i.answer_idx, i.answer) for i in again] == [
            (i.question, i.answer_idx, i.answer) for i in items]
    patients, _ = sample_ddxplus
    rows = to_dataset(patients)
    assert rows[0]["differential"][0]["condition"] == patients[0].differential[0][0]
