"""Are the findings attributions faithful? The deletion test on DDXPlus patients.

For each patient the model names its top condition (greedy, as ``/v1/diagnose`` would), every
finding is attributed to that condition's score (data/attribution.py: leave one finding out),
and then for k = 1, 2, 3... the case is scored again without its k most supporting findings
and without k findings drawn at random. A faithful attribution makes the first removal cost
more: the per-patient gap ``drop(top k) - mean drop(random k)`` (in nats of the condition's
log-probability) is averaged over patients with a bootstrap 95% interval. An interval above zero
says that the attribution ranks findings by what the model actually uses, better than chance.

- k = 1 needs no new pass: removing the top finding is its leave-one-out variant, and the mean
  drop over *all* leave-one-out variants is the exact expectation of removing one random finding
  (no draws). For a leave-one-out attribution that row is in-sample: the top finding's drop *is*
  its weight, the largest, so the k = 1 gap is >= 0 by construction (it says how concentrated the
  effect is). The test is k >= 2: findings removed together interact, and only an attribution that
  ranks what the model uses keeps beating chance. k >= 2 draws ``draws`` random k-subsets (seeded).
- A patient with no more than k findings is left out of the k row (the two removals would be
  the same), so each row says how many patients it has.
- Patients are taken round-robin over pathologies (seeded order within each), so a rare
  pathology is not drowned by a common one in a small run.

Writes OUT/report.json, OUT/report.md, OUT/samples.jsonl (per patient: top condition, its
attribution, the drops) and OUT/manifest.json.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from medassist.data.attribution import attribute, parse_vignette
from medassist.data.ddxplus import DDXPlusKB
from medassist.data.records import DDXPatient
from medassist.errors import MedassistError
from medassist.eval.statistics import mean_with_ci
from medassist.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


class TopScorer(Protocol):
    """A ``data.attribution.Scorer`` that can also name the model's top condition (``ConditionScorer``)."""

    def __call__(self, cases: list[str], conditions: list[str]) -> list[float]: ...

    def top_condition(self, vignette: str) -> str: ...


@dataclass
class DeletionSpec:
    ks: tuple[int, ...] = (1, 2, 3)  # how many findings each removal takes
    draws: int = 3  # random k-subsets per patient for k >= 2
    seed: int = 0
    limit: int | None = 200
    pathologies: tuple[str, ...] = ()  # only patients with these pathologies (empty: all)

    def __post_init__(self) -> None:
        if not self.ks or min(self.ks) < 1:
            raise MedassistError(f"--k {','.join(map(str, self.ks))}: expected positive whole numbers, e.g. 1,2,3")
        if self.draws < 1:
            raise MedassistError(f"--draws {self.draws}: expected at least 1")
        if self.limit is not None and self.limit < 1:
            raise MedassistError(f"--limit {self.limit}: expected at least 1")


@dataclass
class PatientResult:
    id: str
    pathology: str
    top_condition: str
    top_is_pathology: bool
    n_findings: int
    score: float  # log P(top condition named first | full case)
    attribution: dict[str, Any]
    drops: dict[int, dict[str, Any]] = field(default_factory=dict)  # k -> {"top", "random": [...], "gap"}


def select_patients(
    patients: Sequence[DDXPatient], pathologies: Sequence[str], limit: int | None, seed: int
) -> list[DDXPatient]:
    """Round-robin over pathologies (each shuffled with ``seed``), first ``limit``; only ``pathologies`` if given."""
    groups: dict[str, list[DDXPatient]] = {}
    for p in patients:
        if not pathologies or p.pathology in pathologies:
            groups.setdefault(p.pathology, []).append(p)
    if not groups:
        raise MedassistError(f"no patient has one of the pathologies {list(pathologies)}")
    rng = random.Random(seed)
    for name in sorted(groups):
        rng.shuffle(groups[name])
    order = [g[i] for i in range(max(map(len, groups.values()))) for _, g in sorted(groups.items()) if i < len(g)]
    return order[:limit] if limit else order


def deletion_test(
    vignette: str, scorer: TopScorer, ks: Sequence[int], draws: int, rng: random.Random
) -> tuple[str, Any, dict[int, dict[str, Any]]]:
    """(top condition, its attribution, {k: drops}) for one case; see the module docstring."""
    top = scorer.top_condition(vignette)
    explained = attribute(vignette, [top], scorer)
    mine = explained.conditions[0]
    findings, weights = explained.findings, mine.weights
    ranked = sorted(range(len(findings)), key=lambda i: -weights[i])
    case = parse_vignette(vignette)
    plan: list[tuple[int, str, list[int]]] = []  # (k, "top"|"random", removed indices) for k >= 2
    for k in ks:
        if k >= 2 and k < len(findings):
            plan.append((k, "top", ranked[:k]))
            plan += [(k, "random", rng.sample(range(len(findings)), k)) for _ in range(draws)]
    # the full case first: the scorer's cache is anchored on it
    cases = [vignette] + [case.without(removed).vignette() for _, _, removed in plan]
    scores = scorer(cases, [top] * len(cases))
    full, rest = scores[0], scores[1:]
    drops: dict[int, dict[str, Any]] = {}
    for k in ks:
        if k >= len(findings):
            continue
        if k == 1:
            top_drop, random_drops = weights[ranked[0]], [float(np.mean(weights))]
        else:
            top_drop = next(full - s for (kk, kind, _), s in zip(plan, rest, strict=True) if kk == k and kind == "top")
            random_drops = [
                full - s for (kk, kind, _), s in zip(plan, rest, strict=True) if kk == k and kind == "random"
            ]
        drops[k] = {"top": top_drop, "random": random_drops, "gap": top_drop - float(np.mean(random_drops))}
    return top, mine, drops


def summarise(results: Sequence[PatientResult], spec: DeletionSpec) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for k in spec.ks:
        have = [r for r in results if k in r.drops]
        gaps = [r.drops[k]["gap"] for r in have]
        pathologies: dict[str, list[float]] = {}
        for r in have:
            pathologies.setdefault(r.pathology, []).append(r.drops[k]["gap"])
        rows[str(k)] = {
            "patients": len(have),
            "gap": mean_with_ci(gaps),
            "drop_top": mean_with_ci([r.drops[k]["top"] for r in have]),
            "drop_random": mean_with_ci([float(np.mean(r.drops[k]["random"])) for r in have]),
            "top_beats_random": float(np.mean([g > 0 for g in gaps])) if gaps else None,
            "gap_per_pathology": {
                name: {"n": len(v), "mean": float(np.mean(v))} for name, v in sorted(pathologies.items())
            },
        }
    correct = [r for r in results if r.top_is_pathology]
    counts: dict[str, int] = {}
    for r in results:
        counts[r.pathology] = counts.get(r.pathology, 0) + 1
    return {
        "by_k": rows,
        "patients": len(results),
        "pathologies": counts,
        "top_condition_is_pathology": len(correct) / len(results) if results else None,
        "findings_per_patient": float(np.mean([r.n_findings for r in results])) if results else None,
    }


def run_deletion_test(
    patients: Sequence[DDXPatient], kb: DDXPlusKB, scorer: TopScorer, spec: DeletionSpec, out: Path, model: str
) -> dict[str, Any]:
    from tqdm.auto import tqdm

    chosen = select_patients(patients, spec.pathologies, spec.limit, spec.seed)
    rng = random.Random(spec.seed)
    out.mkdir(parents=True, exist_ok=True)
    results: list[PatientResult] = []
    started = time.perf_counter()
    lines = []
    for patient in tqdm(chosen, desc="deletion test", unit="patient"):
        vignette = kb.vignette(patient)
        top, explained, drops = deletion_test(vignette, scorer, spec.ks, spec.draws, rng)
        result = PatientResult(
            patient.id,
            patient.pathology,
            top,
            kb.normalise_condition(top) == patient.pathology,
            len(parse_vignette(vignette).findings()),
            explained.score,
            explained.to_dict(),
            drops,
        )
        results.append(result)
        lines.append(json.dumps(asdict(result), ensure_ascii=False) + "\n")
    atomic_write_text(out / "samples.jsonl", "".join(lines))
    seconds = time.perf_counter() - started
    report = {
        "test": "attribution deletion test",
        "model": model,
        "spec": asdict(spec),
        "score": "log P(condition named first | case), teacher-forced (data/attribution.py)",
        "seconds": round(seconds, 1),
        "seconds_per_patient": round(seconds / max(1, len(results)), 2),
        **summarise(results, spec),
    }
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render(report))
    return report


def render(report: dict[str, Any]) -> str:
    spec = report["spec"]
    mix = ", ".join(f"{name} {n}" for name, n in sorted(report["pathologies"].items(), key=lambda x: -x[1]))
    lines = [
        "# Attribution deletion test",
        "",
        f"Model {report['model']}; {report['patients']} patients ({mix}); "
        f"{report['findings_per_patient']:.1f} findings per patient; the model's top condition is the "
        f"patient's pathology for {report['top_condition_is_pathology']:.1%}.",
        "",
        f"Score: {report['score']}. Drop = score(full case) - score(case without the removed findings), nats. "
        f"Random removal: k = 1 the exact mean over all findings, k >= 2 {spec['draws']} seeded draws.",
        "",
        "| k | patients | drop, top-k attributed [95% CI] | drop, random k [95% CI] | gap [95% CI] | "
        "top beats random |",
        "|---|---|---|---|---|---|",
    ]
    for k, row in report["by_k"].items():
        if not row["patients"]:
            lines.append(f"| {k} | 0 | n/a | n/a | n/a | n/a |")
            continue
        cells = [_ci(row[name]) for name in ("drop_top", "drop_random", "gap")]
        lines.append(f"| {k} | {row['patients']} | {' | '.join(cells)} | {row['top_beats_random']:.1%} |")
    lines += [
        "",
        "A gap whose interval lies above zero: removing what the attribution ranks first lowers the "
        "condition more than removing findings at random (the attribution is faithful to the model). "
        "k = 1 is in-sample for a leave-one-out attribution (the gap is >= 0 by construction); k >= 2 is "
        "the test.",
        "",
        f"{report['seconds']} s ({report['seconds_per_patient']} s per patient).",
    ]
    return "\n".join(lines) + "\n"


def _ci(row: dict[str, Any]) -> str:
    low, high = row["ci95"]
    return f"{row['value']:.3f} [{low:.3f}, {high:.3f}]"
