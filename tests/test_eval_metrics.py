"""Metric code against cases computed by hand."""

import pytest

from medassist.eval import statistics


def test_accuracy_with_bootstrap_interval_per_group() -> None:
    result = statistics.accuracy([True, True, False, False], ["step1", "step1", "step2&3", "step2&3"])
    assert result["value"] == 0.5 and result["n"] == 4
    low, high = result["ci95"]
    assert 0.0 <= low < 0.5 < high <= 1.0
    assert result["ci95"] == statistics.accuracy([True, True, False, False])["ci95"]  # seeded: reproducible
    assert result["per_group"]["step1"] == {"value": 1.0, "ci95": (1.0, 1.0), "n": 2}
    assert result["per_group"]["step2&3"]["value"] == 0.0


def test_bootstrap_interval_narrows_with_more_items() -> None:
    small = statistics.bootstrap_ci([1, 0] * 5)
    large = statistics.bootstrap_ci([1, 0] * 200)
    assert large[1] - large[0] < small[1] - small[0]
    assert large[0] < 0.5 < large[1]


def test_classification_report_by_hand() -> None:
    report = statistics.classification_report(
        ["yes", "yes", "no", "maybe", "no"], ["yes", "no", "no", None, "no"], ["yes", "no", "maybe"]
    )
    yes, no, maybe = (report["per_class"][k] for k in ("yes", "no", "maybe"))
    assert yes == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "specificity": 1.0,
                                 "npv": 0.75, "support": 2})
    assert no == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "specificity": 2 / 3,
                                "npv": 1.0, "support": 2})
    assert maybe == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "specificity": 1.0,
                                   "npv": 0.8, "support": 1})
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0.0) / 3)
    cm = report["confusion_matrix"]
    assert cm["columns_pred"] == ["yes", "no", "maybe", "unparseable"]
    assert cm["counts"] == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 1]]


def test_expected_calibration_error_by_hand() -> None:
    # bin (0.9, 1.0]: confidence 0.95, accuracy 0.5; bin (0.2, 0.3]: confidence 0.25, accuracy 0
    result = statistics.calibration([0.95, 0.95, 0.25, 0.25], [True, False, False, False])
    assert result["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.25)
    assert [(b["count"], b["accuracy"]) for b in result["bins"]] == [(2, 0.0), (2, 0.5)]
    assert statistics.calibration([1.0, 0.0], [True, False])["ece"] == pytest.approx(0.0)


def test_subgroup_table_and_largest_gap() -> None:
    ages = [statistics.age_band(a) for a in (30, 25, 70, 80)]
    assert ages == ["18-39", "18-39", "65+", "65+"]
    assert [statistics.age_band(a) for a in (17, 18, 64, 65, None)] == ["0-17", "18-39", "40-64", "65+", None]
    table = statistics.subgroup_table([1, 0, 1, 1], {"age_band": ages, "sex": ["M", "F", "M", None]})
    assert table["age_band"]["groups"]["18-39"]["value"] == 0.5
    assert table["age_band"]["largest_gap"] == {"value": 0.5, "highest": "65+", "lowest": "18-39"}
    assert table["sex"]["groups"]["M"]["n"] == 2
    assert table["sex"]["largest_gap"]["value"] == 1.0
