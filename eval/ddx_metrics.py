"""Differential-diagnosis metrics as the DDXPlus paper defines them (Fansi Tchango et al., 2022).

A differential is a ranked list of ``(condition, probability)``; as a *set* it holds the
conditions whose probability is above 0.01 (the paper's threshold), for both the model's and
the ground-truth differential. Per patient:

- GTPA@k: the ground-truth pathology is among the model's k most probable conditions;
- GTPA: the ground-truth pathology is in the model's differential set;
- DDR = |pred ∩ true| / |true|, DDP = |pred ∩ true| / |pred|, DDF1 their harmonic mean;

each averaged over patients. DDXPlus pathologies are far from balanced (the majority class is 27% of
the shared subset), so a per-patient mean mostly measures the common ones: the summary adds recall
(GTPA@1) per pathology, its macro average (every pathology weighs the same), the worst-served
pathologies, and GTPA@1 over the patients whose pathology is severe. Names must already be
normalised to DDXPlus condition names (``DDXPlusKB.normalise_condition``); an unknown name simply
never matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medassist.data.answers.differential import ranked
from medassist.eval.statistics import macro_mean_with_ci, mean_with_ci

THRESHOLD = 0.01
TOP_K = (1, 3, 5, 10)
SEVERE_MAX = 2  # DDXPlus severity runs 1 (most severe) to 5; 1-2 are the emergencies
WORST_SERVED = 5


@dataclass
class DDXCase:
    """One scored patient: ground truth and the model's ranked differential (normalised names)."""

    pathology: str
    true_differential: list[tuple[str, float]]
    predicted: list[tuple[str, float | None]]


def as_set(differential: Sequence[tuple[str, float | None]], threshold: float = THRESHOLD) -> set[str]:
    """The differential as a set: probability above the threshold (a stated name without one counts)."""
    return {name for name, p in differential if p is None or p > threshold}


def case_scores(case: DDXCase, ks: Sequence[int] = TOP_K, threshold: float = THRESHOLD) -> dict[str, float]:
    order = ranked(case.predicted)
    pred, true = as_set(case.predicted, threshold), as_set(case.true_differential, threshold)
    hit = len(pred & true)
    ddr = hit / len(true) if true else 0.0
    ddp = hit / len(pred) if pred else 0.0
    scores = {f"gtpa@{k}": float(case.pathology in order[:k]) for k in ks}
    scores.update(
        gtpa=float(case.pathology in pred), ddr=ddr, ddp=ddp,
        ddf1=2 * ddr * ddp / (ddr + ddp) if ddr + ddp else 0.0,
    )
    return scores


def ddx_summary(
    cases: Sequence[DDXCase], severity: dict[str, int], ks: Sequence[int] = TOP_K,
    threshold: float = THRESHOLD, severe_max: int = SEVERE_MAX,
) -> dict[str, Any]:
    """Mean (with bootstrap interval) of every per-patient metric, the imbalance view (per-pathology
    recall, macro GTPA@1, worst served, severe GTPA@1) and the severity view."""
    per_case = [case_scores(c, ks, threshold) for c in cases]
    names = list(per_case[0]) if per_case else []
    summary: dict[str, Any] = {name: mean_with_ci([s[name] for s in per_case]) for name in names}
    summary["top_k_curve"] = {k: summary[f"gtpa@{k}"]["value"] for k in ks} if per_case else {}
    hits = [s["gtpa@1"] for s in per_case] if per_case else []
    summary.update(imbalance_view(cases, hits, severity, severe_max))
    summary["severity"] = severity_view(cases, severity, threshold, severe_max)
    return summary


def imbalance_view(
    cases: Sequence[DDXCase], hits: Sequence[float], severity: dict[str, int], severe_max: int = SEVERE_MAX,
    worst: int = WORST_SERVED,
) -> dict[str, Any]:
    """Recall (GTPA@1) per pathology with its n and severity; ``macro_gtpa@1``, their mean with a
    bootstrap interval over patients; the ``worst`` lowest recalls (ties: the larger n first, the
    stronger evidence); ``severe_gtpa@1``, GTPA@1 over the patients whose pathology has severity
    <= ``severe_max`` (a severity the knowledge base does not give counts as not severe)."""
    pathologies = [c.pathology for c in cases]
    by_pathology: dict[str, list[float]] = defaultdict(list)
    for pathology, hit in zip(pathologies, hits, strict=True):
        by_pathology[pathology].append(hit)
    recall = {
        p: {"recall": sum(v) / len(v), "n": len(v), "severity": severity.get(p)}
        for p, v in sorted(by_pathology.items())
    }
    order = sorted(recall, key=lambda p: (recall[p]["recall"], -recall[p]["n"], p))
    severe = [hit for pathology, hit in zip(pathologies, hits, strict=True)
              if (level := severity.get(pathology)) is not None and level <= severe_max]
    return {
        "per_pathology_recall": recall,
        "macro_gtpa@1": macro_mean_with_ci(hits, pathologies),
        "worst_served": [{"pathology": p, **recall[p]} for p in order[:worst]],
        "severe_gtpa@1": {**mean_with_ci(severe), "levels": f"severity <= {severe_max} (1 = most severe)"},
    }


def severity_view(
    cases: Sequence[DDXCase], severity: dict[str, int], threshold: float = THRESHOLD, severe_max: int = SEVERE_MAX
) -> dict[str, Any]:
    """What a clinician worries about: severe conditions the model's differential left out."""
    severe = {name for name, level in severity.items() if level <= severe_max}
    severe_cases = [c for c in cases if c.pathology in severe]
    missed_cases = [c for c in severe_cases if c.pathology not in as_set(c.predicted, threshold)]
    true_severe = predicted_severe = 0
    missed_names: dict[str, int] = defaultdict(int)
    for case in cases:
        wanted = as_set(case.true_differential, threshold) & severe
        got = as_set(case.predicted, threshold)
        true_severe += len(wanted)
        predicted_severe += len(wanted & got)
        for name in wanted - got:
            missed_names[name] += 1
    return {
        "severe_levels": f"severity <= {severe_max} (1 = most severe)",
        "severe_pathology_cases": len(severe_cases),
        "severe_pathology_missed": len(missed_cases),
        "severe_pathology_miss_rate": len(missed_cases) / len(severe_cases) if severe_cases else None,
        "severe_in_true_differentials": true_severe,
        "severe_differential_recall": predicted_severe / true_severe if true_severe else None,
        "severe_missed_by_condition": dict(sorted(missed_names.items(), key=lambda kv: -kv[1])),
    }
