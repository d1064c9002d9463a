"""Partial-evidence DDXPlus training cases: a patient seen part-way through a consultation.

A model trained only on complete cases has never seen the chief complaint plus two answers, which
is what it gets early in an interactive consultation. Each variant keeps the chief complaint and
a random subset of the patient's other evidences: its size uniform in 0 .. n-1 (always partial),
a follow-up question (``code_question``) kept only with its parent, a multi-choice answer kept
whole. The target is the patient's differential, true pathology first (``truth_first``, as for full
cases), with probabilities pulled toward uniform by the share still hidden,
``p' = f p + (1 - f) / K`` (f = shown share of the evidences, K = conditions listed): the ranking
stays, the stated confidence falls with what is unknown.

Deterministic: variant j of a patient depends only on (seed, patient id, j), not on the order or
number of other patients. Variants come from the records ``build_examples`` is given, i.e. after
decontamination against the evaluation patients (``sft/dataset.py``, ``data/build.py``), so no
variant of an evaluation patient is ever built.
"""

from __future__ import annotations

import random
from typing import Any

from medassist.data.ddxplus import DDXPlusKB
from medassist.data.records import DDXPatient


def partial_evidence(patient: DDXPatient, kb: DDXPlusKB, rng: random.Random) -> dict[str, list[Any]]:
    """A random part of the patient's answers ({code: values}), chief complaint always kept."""
    grouped = kb.group(patient.evidences)
    grouped.setdefault(patient.initial_evidence, [True])
    others = sorted(code for code in grouped if code != patient.initial_evidence)
    chosen = set(rng.sample(others, rng.randrange(len(others)))) if others else set()
    chosen.add(patient.initial_evidence)
    kept = {}
    for code in sorted(chosen):
        parent = kb.evidences[code].parent
        if parent is None or parent in chosen:
            kept[code] = grouped[code]
    return kept


def soften(ranked: list[tuple[str, float]], shown: float) -> list[tuple[str, float]]:
    """``p' = f p + (1 - f) / K``: the ranking kept, the confidence lowered by the hidden share."""
    return [(name, shown * p + (1 - shown) / len(ranked)) for name, p in ranked]


def variant_rng(seed: int, patient_id: str, variant: int) -> random.Random:
    return random.Random(f"{seed}:{patient_id}:{variant}")
