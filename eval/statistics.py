"""Scores computed from per-item results: accuracy with bootstrap intervals, per-class clinical
metrics (scikit-learn), calibration, and subgroup gaps.

Everything here is a pure function of lists, so it is tested against hand-computed cases and
re-run offline on a stored ``predictions.jsonl``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

CI_RESAMPLES = 2000
AGE_BANDS = ((0, 17, "0-17"), (18, 39, "18-39"), (40, 64, "40-64"), (65, 200, "65+"))


def bootstrap_ci(
    values: Sequence[float], statistic: Callable[..., float] = np.mean, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap 95% interval of ``statistic`` over items (scipy.stats.bootstrap)."""
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return None
    if len(data) == 1 or np.all(data == data[0]):
        value = float(statistic(data))
        return (value, value)
    result = bootstrap(
        (data,), statistic, n_resamples=CI_RESAMPLES, confidence_level=0.95,
        method="percentile", random_state=seed,
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def mean_with_ci(values: Sequence[float]) -> dict[str, Any]:
    data = [float(v) for v in values]
    return {"value": float(np.mean(data)) if data else None, "ci95": bootstrap_ci(data), "n": len(data)}


def macro_mean_with_ci(values: Sequence[float], groups: Sequence[str]) -> dict[str, Any]:
    """Mean of the per-group means (every group weighs the same, however many items it has), with a
    bootstrap interval that resamples items, as ``mean_with_ci`` does, and recomputes the macro mean;
    a group that a resample happens to leave out drops out of that resample's mean.

    ``bootstrap_ci`` resamples item indices here, so each value stays paired with its group.
    """
    data = np.asarray(values, dtype=float)
    if len(data) != len(groups):
        raise ValueError(f"{len(data)} values but {len(groups)} groups")
    if len(data) == 0:
        return {"value": None, "ci95": None, "n": 0, "groups": 0}
    names, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)

    def macro(index: np.ndarray) -> float:
        index = index.astype(int)  # bootstrap_ci hands the indices over as floats
        chosen = codes[index]
        sums = np.bincount(chosen, weights=data[index], minlength=len(names))
        counts = np.bincount(chosen, minlength=len(names))
        return float(np.mean(sums[counts > 0] / counts[counts > 0]))

    every = np.arange(len(data))
    value = macro(every)
    ci = (value, value) if np.all(data == data[0]) else bootstrap_ci(every, macro)
    return {"value": value, "ci95": ci, "n": len(data), "groups": len(names)}


def accuracy(correct: Sequence[bool], groups: Sequence[str | None] | None = None) -> dict[str, Any]:
    """Accuracy with its bootstrap interval, overall and per group (e.g. MedQA ``meta_info``)."""
    out = mean_with_ci([float(c) for c in correct])
    if groups is not None:
        by_group: dict[str, list[float]] = defaultdict(list)
        for ok, group in zip(correct, groups, strict=True):
            if group is not None:
                by_group[group].append(float(ok))
        out["per_group"] = {g: mean_with_ci(v) for g, v in sorted(by_group.items())}
    return out


def classification_report(y_true: Sequence[str], y_pred: Sequence[str | None], labels: Sequence[str]) -> dict:
    """Per-class precision, recall, F1, specificity and NPV, macro-F1 and the confusion matrix.

    Unparseable predictions (``None``) become the label ``"unparseable"``: they count against
    recall of the true class and appear as their own column of the confusion matrix.
    """
    from sklearn.metrics import confusion_matrix, multilabel_confusion_matrix, precision_recall_fscore_support

    pred = [p if p is not None else "unparseable" for p in y_pred]
    columns = list(labels) + (["unparseable"] if "unparseable" in pred else [])
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, pred, labels=list(labels), zero_division=0
    )
    per_class_cm = multilabel_confusion_matrix(y_true, pred, labels=list(labels))
    per_class = {}
    for i, label in enumerate(labels):
        (tn, fp), (fn, tp) = per_class_cm[i]
        per_class[label] = {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "specificity": float(tn / (tn + fp)) if tn + fp else 0.0,
            "npv": float(tn / (tn + fn)) if tn + fn else 0.0,
            "support": int(support[i]),
        }
    return {
        "labels": list(labels),
        "per_class": per_class,
        "macro_f1": float(np.mean(f1)) if len(f1) else 0.0,
        "confusion_matrix": {"rows_true": list(labels), "columns_pred": columns,
                             "counts": confusion_matrix(y_true, pred, labels=columns)[: len(labels)].tolist()},
    }


def calibration(confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> dict[str, Any]:
    """Expected calibration error (equal-width bins, weighted by bin size) and the diagram's bins.

    ``confidences`` are the probabilities the model stated for its own top answer.
    Without any, ECE is ``None`` (reported as n/a), never NaN.
    """
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hit = np.asarray(correct, dtype=float)
    if len(conf) == 0:
        return {"ece": None, "n": 0, "bins": []}  # no stated probabilities to calibrate
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins, with 0.0 in the first one
    index = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        mask = index == b
        if not mask.any():
            continue
        mean_conf, acc = float(conf[mask].mean()), float(hit[mask].mean())
        ece += mask.sum() / len(conf) * abs(acc - mean_conf)
        bins.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                     "confidence": mean_conf, "accuracy": acc})
    return {"ece": float(ece), "n": int(len(conf)), "bins": bins}


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return next((name for low, high, name in AGE_BANDS if low <= age <= high), None)


def subgroup_table(values: Sequence[float], attributes: dict[str, Sequence[str | None]]) -> dict[str, Any]:
    """A per-item metric averaged per subgroup of each attribute, with the largest gap between groups.

    ``attributes`` maps an attribute name (``"age_band"``, ``"sex"``) to each item's group.
    """
    table: dict[str, Any] = {}
    for attribute, groups in attributes.items():
        by_group: dict[str, list[float]] = defaultdict(list)
        for value, group in zip(values, groups, strict=True):
            if group is not None:
                by_group[group].append(float(value))
        rows = {g: mean_with_ci(v) for g, v in sorted(by_group.items())}
        gap = None
        if len(rows) >= 2:
            high = max(rows, key=lambda g: rows[g]["value"])
            low = min(rows, key=lambda g: rows[g]["value"])
            gap = {"value": rows[high]["value"] - rows[low]["value"], "highest": high, "lowest": low}
        table[attribute] = {"groups": rows, "largest_gap": gap}
    return table
