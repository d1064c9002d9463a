"""DDXPlus metrics against differentials scored by hand, and free-text name normalisation."""

import json

import pytest

from medassist.data import SAMPLES
from medassist.eval.config import EvalConfig
from medassist.eval.ddx_metrics import DDXCase, case_scores, ddx_summary
from medassist.eval.report import render_markdown
from medassist.eval.statistics import macro_mean_with_ci
from medassist.eval.suites import SUITES

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
    scores, primary, per_item = SUITES["ddx"].score(records, EvalConfig(), spec)
    assert per_item == {"p1": 1.0, "p2": 0.0} and primary == "gtpa@1"
    assert scores["ddr"]["value"] == pytest.approx(0.5)  # p1 recalls both, p2 nothing
    assert scores["unparseable"]["count"] == 1
    assert scores["unrecognised_conditions"] == {"Martian flu": 1}
    assert scores["calibration"]["n"] == 1
    assert scores["subgroups_gtpa@1"]["sex"]["largest_gap"]["value"] == 1.0


def _answered(pathology: str, top1: str) -> DDXCase:
    """A patient whose model put ``top1`` first (the truth second when it is not first)."""
    second = "GERD" if top1 == pathology else pathology
    return DDXCase(pathology, [(pathology, 1.0)], [(top1, 0.7), (second, 0.3)])


# 7 patients, 3 pathologies: Pneumonia 3 of 4 right, PE 1 of 2, Anaphylaxis 0 of 1; URTI has no patient.
IMBALANCED = [
    *(_answered("Pneumonia", "Pneumonia") for _ in range(3)), _answered("Pneumonia", "Bronchitis"),
    _answered("Pulmonary embolism", "Pulmonary embolism"), _answered("Pulmonary embolism", "Pneumonia"),
    _answered("Anaphylaxis", "Pneumonia"),
]
IMBALANCED_SEVERITY = {"Pneumonia": 3, "Pulmonary embolism": 2, "Anaphylaxis": 1, "URTI": 5, "GERD": 3}


def test_macro_gtpa_worst_served_and_severe_recall_by_hand() -> None:
    summary = ddx_summary(IMBALANCED, IMBALANCED_SEVERITY)
    assert summary["gtpa@1"]["value"] == pytest.approx(4 / 7)  # micro: every patient weighs the same
    macro = summary["macro_gtpa@1"]
    assert macro["value"] == pytest.approx((3 / 4 + 1 / 2 + 0) / 3)  # 0.4167: every pathology weighs the same
    assert macro["n"] == 7 and macro["groups"] == 3
    low, high = macro["ci95"]
    assert 0.0 <= low < macro["value"] < high <= 1.0
    assert summary["per_pathology_recall"] == {
        "Anaphylaxis": {"recall": 0.0, "n": 1, "severity": 1},
        "Pneumonia": {"recall": 0.75, "n": 4, "severity": 3},
        "Pulmonary embolism": {"recall": 0.5, "n": 2, "severity": 2},
    }
    assert [(w["pathology"], w["recall"], w["n"]) for w in summary["worst_served"]] == [
        ("Anaphylaxis", 0.0, 1), ("Pulmonary embolism", 0.5, 2), ("Pneumonia", 0.75, 4)]
    severe = summary["severe_gtpa@1"]  # PE (severity 2) and anaphylaxis (1): 1 of 3 patients right
    assert severe["value"] == pytest.approx(1 / 3) and severe["n"] == 3
    assert severe["levels"] == "severity <= 2 (1 = most severe)"


def test_macro_interval_resamples_patients_and_is_reproducible() -> None:
    # A: 3 of 4 right, B: 0 of 1 -> macro 0.375, micro 0.6
    values, groups = [1, 1, 1, 0, 0], ["A", "A", "A", "A", "B"]
    first, again = macro_mean_with_ci(values, groups), macro_mean_with_ci(values, groups)
    assert first["value"] == pytest.approx(0.375) and first == again
    assert first["ci95"][0] <= 0.375 <= first["ci95"][1]
    assert macro_mean_with_ci([1, 1, 1], ["A", "B", "B"])["ci95"] == (1.0, 1.0)  # nothing to vary
    assert macro_mean_with_ci([], []) == {"value": None, "ci95": None, "n": 0, "groups": 0}


def test_worst_served_breaks_ties_by_the_larger_n_and_unknown_severity_is_not_severe() -> None:
    cases = [_answered("GERD", "Pneumonia"), *(_answered("Martian flu", "Pneumonia") for _ in range(3))]
    summary = ddx_summary(cases, IMBALANCED_SEVERITY)
    assert [w["pathology"] for w in summary["worst_served"]] == ["Martian flu", "GERD"]  # both 0.0; n 3 before 1
    assert summary["per_pathology_recall"]["Martian flu"]["severity"] is None
    assert summary["severe_gtpa@1"]["n"] == 0 and summary["severe_gtpa@1"]["value"] is None


def test_report_headline_and_markdown_carry_the_imbalance_view() -> None:
    """Scored through the eval part's own DDXPlus scorer against the bundled knowledge base."""
    def record(i: int, pathology: str, top1: str) -> dict:
        answer = json.dumps({"differential": [{"condition": top1, "probability": 0.8},
                                              {"condition": pathology, "probability": 0.2}]})
        return {"id": f"p{i}", "pathology": pathology, "true_differential": [[pathology, 1.0]], "age": 40,
                "sex": "F", "text": answer}

    records = [record(0, "Pneumonia", "Pneumonia"), record(1, "Pneumonia", "Pneumonia"),
               record(2, "Pneumonia", "GERD"), record(3, "Anaphylaxis", "Anaphylaxis"),
               record(4, "Pulmonary embolism", "Pneumonia"), record(5, "Pulmonary embolism", "Pneumonia")]
    spec = {"suite": "ddx", "backend": "hand-written answers", "rag": False,
            "data": str(SAMPLES / "ddxplus" / "patients_sample.csv")}
    scores, _, _ = SUITES["ddx"].score(records, EvalConfig(), spec)
    rows = SUITES["ddx"].headline(scores)
    assert list(rows)[:3] == ["gtpa@1", "macro_gtpa@1", "severe_gtpa@1"]  # micro and macro side by side
    assert rows["gtpa@1"]["value"] == pytest.approx(3 / 6)
    assert rows["macro_gtpa@1"]["value"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert rows["severe_gtpa@1"]["value"] == pytest.approx(1 / 3)  # anaphylaxis (1) right, PE (2) twice wrong
    text = render_markdown({"spec": spec, "scores": scores, "headline": rows, "n_items": len(records)})
    assert "| macro_gtpa@1 | 0.556 [" in text
    assert "| pathology | severity | n | recall (GTPA@1) |" in text
    # most patients first: the table shows the imbalance beside the recall
    assert ("| Pneumonia | 3 | 3 | 0.667 |\n| Pulmonary embolism | 2 | 2 | 0.000 |\n| Anaphylaxis | 1 | 1 | 1.000 |"
            in text)
    assert "worst served: Pulmonary embolism 0.000 (n=2), Pneumonia 0.667 (n=3), Anaphylaxis 1.000 (n=1)" in text
    assert "- severe pathologies, severity <= 2 (1 = most severe): GTPA@1 0.333 [" in text
