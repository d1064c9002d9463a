"""Which findings drive each condition: splitting a vignette into findings and leaving each out
(data/attribution.py), the in-process scorer (medassist/condition_scorer.py) against a plain forward
pass of a real model, and the deletion test end to end (``medassist eval attribution``).

The model tests use the tiny Llama (plumbing, not skill: it knows no English, so its attributions
mean nothing medically); the figures on the trained SmolLM2 are in bench/results."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from medassist.data import SAMPLES
from medassist.data.attribution import (
    Finding,
    WeightedFinding,
    attribute,
    condition_attribution,
    explain,
    parse_vignette,
)
from medassist.data.prompts import case_vignette
from medassist.errors import MedassistError

SAMPLE_DDXPLUS = SAMPLES / "ddxplus"
# written as the UI's case form writes it (medassist/demo.py's case): it has vitals and a negative finding
FORM_CASE = case_vignette(
    34,
    "female",
    "cough with coloured sputum and fever for three days",
    symptoms=[
        "sharp pain on the right side of the chest, worse on deep breathing",
        "chills",
        "crackles at the right lung base",
    ],
    history=["no recent travel"],
    vitals=["temperature 38.9 °C", "respiratory rate 24/min"],
)


def medassist(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medassist.cli", *args], capture_output=True, text=True, timeout=900)


def _vignettes(sample_ddxplus) -> list[str]:
    patients, kb = sample_ddxplus
    return [kb.vignette(p) for p in patients] + [FORM_CASE]


def test_every_finding_is_removed_exactly_once_and_the_rest_is_unchanged(sample_ddxplus) -> None:
    for vignette in _vignettes(sample_ddxplus):
        case = parse_vignette(vignette)
        assert case.vignette() == vignette  # the split loses nothing
        findings = case.findings()
        assert {f.kind for f in findings[:3]} == {"age", "sex", "chief_complaint"}
        for i in range(len(findings)):
            rebuilt = case.without([i]).vignette()
            assert rebuilt != vignette
            # a valid vignette again, holding every other finding in order and not the removed one
            assert parse_vignette(rebuilt).findings() == findings[:i] + findings[i + 1 :]


def test_age_and_sex_removal_still_give_a_vignette() -> None:
    case = parse_vignette(FORM_CASE)
    kinds = [f.kind for f in case.findings()]
    no_age = case.without([kinds.index("age")]).vignette()
    no_sex = case.without([kinds.index("sex")]).vignette()
    assert no_age.splitlines()[0] == "A woman." and no_sex.splitlines()[0] == "A 34-year-old patient."
    assert case.without([kinds.index("age"), kinds.index("sex")]).vignette().splitlines()[0] == "A patient."
    assert [f.text for f in case.findings() if f.kind == "vitals"] == ["temperature 38.9 °C", "respiratory rate 24/min"]
    child = parse_vignette(case_vignette(7, "M", "ear pain"))
    assert child.findings()[:2] == [Finding("age", "7"), Finding("sex", "M")]


def test_a_text_that_is_not_a_vignette_is_refused_with_its_line() -> None:
    with pytest.raises(MedassistError, match="case line 1"):
        parse_vignette("Patient has fever.")
    with pytest.raises(MedassistError, match="case line 3 'Signs: rash.'"):
        parse_vignette("A 3-year-old girl.\nChief complaint: rash.\nSigns: rash.")


def test_the_explanation_says_absence_only_for_a_negative_finding() -> None:
    fever, cough = WeightedFinding(Finding("symptom", "fever"), 1.2), WeightedFinding(Finding("symptom", "cough"), 0.4)
    no_wheeze = WeightedFinding(Finding("symptom", "no wheeze"), -0.8)
    wheeze = WeightedFinding(Finding("symptom", "wheeze"), -0.3)
    assert explain("pneumonia", [fever, cough], []) == "fever and cough raise pneumonia"
    assert explain("asthma", [], [no_wheeze]) == "absence of wheeze lowers asthma"
    assert explain("asthma", [], [wheeze]) == "wheeze lowers asthma"
    # weights in finding order; for and against sorted strongest first; a zero weight is neither
    findings = [Finding("age", "34"), Finding("symptom", "no wheeze"), Finding("symptom", "fever"), Finding("sex", "F")]
    row = condition_attribution("asthma", -1.0, findings, [0.1, -0.9, 0.6, 0.0])
    assert [w.finding.text for w in row.supporting] == ["fever", "34"]
    assert [w.finding.text for w in row.opposing] == ["no wheeze"]
    assert row.sentence == "fever and age 34 raise asthma; absence of wheeze lowers asthma"
    assert row.to_dict()["for"][0] == {
        "kind": "symptom",
        "text": "fever",
        "label": "fever",
        "negative": False,
        "weight": 0.6,
    }


@pytest.fixture(scope="module")
def tiny_scorer(tiny_model_dir: Path):
    from medassist.condition_scorer import ConditionScorer

    return ConditionScorer.load(str(tiny_model_dir))


def _plain_score(scorer, vignette: str, condition: str) -> float:
    """The same log-probability from one uncached forward pass over prompt + continuation."""
    import torch

    ids, cont = scorer.prompt_ids(vignette), scorer.continuation_ids(condition)
    with torch.inference_mode():
        logp = torch.log_softmax(scorer.model(torch.tensor([ids + cont])).logits[0].float(), dim=-1)
    return float(sum(logp[len(ids) - 1 + j, token] for j, token in enumerate(cont)))


def test_the_scorer_equals_a_plain_forward_pass(tiny_scorer, sample_ddxplus) -> None:
    vignette = _vignettes(sample_ddxplus)[0]
    case = parse_vignette(vignette)
    variants = [vignette] + [case.without([i]).vignette() for i in (0, 3, len(case.findings()) - 1)]
    conditions = ["Pneumonia", "GERD", "Pulmonary embolism", "Acute otitis media"]
    # one condition per case (the deletion test's shape), then several per case (attribution's)
    got = tiny_scorer(variants, conditions)
    assert got == pytest.approx(
        [_plain_score(tiny_scorer, v, c) for v, c in zip(variants, conditions, strict=True)], abs=1e-3
    )
    pairs = [(v, c) for c in conditions[:2] for v in variants]
    got = tiny_scorer([v for v, _ in pairs], [c for _, c in pairs])
    assert got == pytest.approx([_plain_score(tiny_scorer, v, c) for v, c in pairs], abs=1e-3)
    assert all(s < 0 for s in got)


def test_attribution_on_a_real_model_covers_every_listed_condition(tiny_scorer) -> None:
    conditions = ["Pneumonia", "Influenza", "Bronchospasm / acute asthma exacerbation"]
    result = attribute(FORM_CASE, conditions, tiny_scorer)
    assert [c.condition for c in result.conditions] == conditions
    findings = parse_vignette(FORM_CASE).findings()
    case = parse_vignette(FORM_CASE)
    for row in result.conditions:
        assert len(row.weights) == len(findings)
        assert row.score == pytest.approx(_plain_score(tiny_scorer, FORM_CASE, row.condition), abs=1e-3)
        # each weight is the score with the finding minus the score without it
        assert row.weights[4] == pytest.approx(
            row.score - _plain_score(tiny_scorer, case.without([4]).vignette(), row.condition), abs=1e-3
        )
        assert len(row.supporting) + len(row.opposing) == sum(w != 0 for w in row.weights)
    exported = json.loads(json.dumps(result.to_dict()))
    assert [c["condition"] for c in exported["conditions"]] == conditions
    assert len(exported["findings"]) == len(findings) and exported["summary"]


def test_the_deletion_test_of_one_case(tiny_scorer) -> None:
    from medassist.eval.attribution import deletion_test

    top, explained, drops = deletion_test(FORM_CASE, tiny_scorer, (1, 2, 3), 2, random.Random(0))
    assert explained.condition == top  # the tiny model may name nothing: it knows no English
    ranked = sorted(explained.weights, reverse=True)
    assert drops[1]["top"] == pytest.approx(ranked[0])  # k = 1: the leave-one-out drop of the best finding
    assert drops[1]["random"] == [pytest.approx(sum(ranked) / len(ranked))]  # k = 1: exact mean over findings
    for k in (2, 3):
        assert len(drops[k]["random"]) == 2
        assert drops[k]["gap"] == pytest.approx(drops[k]["top"] - sum(drops[k]["random"]) / 2)


def test_deletion_test_cli_end_to_end_on_sample_patients(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--model", str(tiny_model_dir), "--data", str(SAMPLE_DDXPLUS), "--limit", "5", "--k", "1,2", "--draws", "2"]
    proc = medassist("eval", "attribution", *args, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["patients"] == 5 and set(report["by_k"]) == {"1", "2"}
    for row in report["by_k"].values():
        assert row["patients"] == 5
        low, high = row["gap"]["ci95"]
        assert low <= row["gap"]["value"] <= high
    # round-robin over pathologies: five patients, five pathologies
    assert len(report["pathologies"]) == 5
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 5 and all(s["attribution"]["condition"] == s["top_condition"] for s in samples)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "eval-attribution" and manifest["seed"] == 0 and manifest["data_sha256"]
    assert "| 2 | 5 |" in (out / "report.md").read_text()
    assert "k=1: gap" in proc.stdout


def test_deletion_test_cli_refuses_bad_k(tiny_model_dir: Path, tmp_path: Path) -> None:
    args = ["--model", str(tiny_model_dir), "--data", str(SAMPLE_DDXPLUS), "--k", "1,two"]
    proc = medassist("eval", "attribution", *args, "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "--k '1,two'" in proc.stderr


@pytest.mark.shared_data
def test_real_ddxplus_vignettes_split_and_rebuild(shared_data: Path) -> None:
    from medassist.data import load_kb
    from medassist.data.ddxplus import iter_patients
    from medassist.eval.attribution import select_patients

    folder = shared_data / "ddxplus"
    kb = load_kb(folder / "release_conditions.json", folder / "release_evidences.json")
    patients = list(iter_patients(folder / "release_validate_patients_subset_en.csv", kb))
    chosen = select_patients(patients, (), 300, seed=0)
    assert len({p.pathology for p in chosen}) == len({p.pathology for p in patients})  # every pathology is in
    for patient in chosen:
        vignette = kb.vignette(patient)
        case = parse_vignette(vignette)
        assert case.vignette() == vignette
        findings = case.findings()
        last = len(findings) - 1
        assert parse_vignette(case.without([last]).vignette()).findings() == findings[:last]
