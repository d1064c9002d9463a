"""DDXPlus metrics against differentials scored by hand, and free-text name normalisation."""

import json

import pytest

from medassist.data import SAMPLES
from medassist.eval.config import EvalConfig
from medassist.eval.ddx_metrics import DDXCase, case_scores, ddx_summary
from medassist.eval.scoring import score_ddx

SEVERITY = {"Pneumonia": 3, "Bronchitis": 4, "URTI": 5, "Influenza": 3, "Pulmonary embolism": 2, "GERD": 3}

# Influenza (0.005) is below the 0.01 threshold: not in the true differential set.
# GERD (0.01) is not *above* it: not in the predicted set, but still ranked 4th.
CASE_1 = DDXCase(
    "Pneumonia",
    [("Pneumonia", 0.6), ("Bronchitis", 0.3), ("URTI", 0.095), ("Influenza", 0.005)],
    [("Bronchitis", 0.5), ("Pneumonia", 0.3), ("Pulmonary embolism", 0.19), ("GERD", 0.01)],
)
# A severe pathology the model left out; a condition named without a probability still counts.
CASE_2 = DDXCase("Pulmonary embolism", [("Pulmonary embolism", 0.7), ("Pneumonia", 0.3)], [("Pneumonia", None)])


def test_case_scores_by_hand() -> None:
    # pred set {Bronchitis, Pneumonia, PE}, true set {Pneumonia, Bronchitis, URTI}: 2 shared
    assert case_scores(CASE_1) == pytest.approx({"gtpa@1": 0.0, "gtpa@3": 1.0, "gtpa@5": 1.0, "gtpa@10": 1.0,
                                                  "gtpa": 1.0, "ddr": 2 / 3, "ddp": 2 / 3, "ddf1": 2 / 3})
    # pred set {Pneumonia}, true set {PE, Pneumonia}: DDR 1/2, DDP 1, DDF1 2/3
    assert case_scores(CASE_2) == pytest.approx({"gtpa@1": 0.0, "gtpa@3": 0.0, "gtpa@5": 0.0, "gtpa@10": 0.0,
                                                  "gtpa": 0.0, "ddr": 0.5, "ddp": 1.0, "ddf1": 2 / 3})
    ranked_first = DDXCase("GERD", [("GERD", 1.0)], [("Pneumonia", 0.2), ("GERD", 0.8)])
    assert case_scores(ranked_first)["gtpa@1"] == 1.0  # ranked by probability, not by position


def test_summary_averages_per_patient_and_severity_view() -> None:
    summary = ddx_summary([CASE_1, CASE_2], SEVERITY)
    assert summary["gtpa@1"]["value"] == 0.0
    assert summary["gtpa@3"]["value"] == 0.5
    assert summary["ddr"]["value"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert summary["ddp"]["value"] == pytest.approx((2 / 3 + 1) / 2)
    assert summary["ddf1"]["value"] == pytest.approx(2 / 3)
    assert summary["top_k_curve"] == {1: 0.0, 3: 0.5, 5: 0.5, 10: 0.5}
    assert summary["per_pathology_recall"]["Pulmonary embolism"] == {"recall": 0.0, "n": 1, "severity": 2}
    severity = summary["severity"]
    assert severity["severe_pathology_cases"] == 1 and severity["severe_pathology_miss_rate"] == 1.0
    assert severity["severe_in_true_differentials"] == 1 and severity["severe_differential_recall"] == 0.0
    assert severity["severe_missed_by_condition"] == {"Pulmonary embolism": 1}


def test_free_text_names_are_normalised_against_the_kb() -> None:
    """Lower case, an ICD-10 code and a prose wrapper all map to the KB's names before matching."""
    answer = ("Most likely: " + json.dumps({"differential": [
        {"condition": "pulmonary embolism", "probability": 0.7},
        {"condition": "J18", "probability": 0.2},
        {"condition": "Martian flu", "probability": 0.1}]}))
    records = [
        {"id": "p1", "pathology": "Pulmonary embolism", "true_differential": [["Pulmonary embolism", 0.84],
                                                                             ["Pneumonia", 0.16]],
         "age": 59, "sex": "M", "text": answer},
        {"id": "p2", "pathology": "Pneumonia", "true_differential": [["Pneumonia", 1.0]], "age": 30, "sex": "F",
         "text": "I cannot tell."},
    ]
    spec = {"data": str(SAMPLES / "ddxplus" / "patients_sample.csv")}
    scores, primary, per_item = score_ddx(records, EvalConfig(), spec)
    assert per_item == {"p1": 1.0, "p2": 0.0} and primary == "gtpa@1"
    assert scores["ddr"]["value"] == pytest.approx(0.5)  # p1 recalls both, p2 nothing
    assert scores["unparseable"]["count"] == 1
    assert scores["unrecognised_conditions"] == {"Martian flu": 1}
    assert scores["calibration"]["n"] == 1
    assert scores["subgroups_gtpa@1"]["sex"]["largest_gap"]["value"] == 1.0
