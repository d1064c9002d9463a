"""What to ask next: the question with the largest expected information gain over the current
differential, red-flag conditions weighted, each suggestion explained.

The differential is a distribution over the knowledge base's conditions: the naive-Bayes
posterior of ``EvidenceModel`` given the answers so far, mixed with a model's differential when
one is given (``model_weight`` of the mass to the model, the rest to the knowledge base; a
model's unrecognised or missing names simply do not count).

Score of a question e: the *weighted* information gain (Guiaşu's weighted entropy,
``H_w(p) = -sum_c w_c p_c log2 p_c``), ``H_w(p) - sum_o P(o) H_w(p | o)`` over e's outcomes o, with
``w_c = red_flag_weight`` (default 3) for conditions of severity <= ``severe_max`` (2: the
emergencies of release_conditions.json) and 1 otherwise. A question that rules a dangerous
condition in or out is worth ``red_flag_weight`` times the same certainty about a benign one, so
raising a red-flag condition's probability raises the priority of the questions that separate
it. Weighted entropy is concave, so every score is >= 0.

The same mixture is what a consultation shows as its *combined* differential (``combined``): each
condition with the model's and the knowledge base's share, so a clinician sees where a probability
comes from. On 500 held-out DDXPlus patients after 15 questions it scores DDF1 0.787 where the
model alone scores 0.754 (bench/results/2026-12-06-interactive-15q-combined.json).

Askable: evidences not yet known, and a follow-up question (``code_question``: "where is the
pain") only once its parent was answered positively ("do you have pain"). Stop when the top
condition's probability reaches ``stop_threshold`` or the question budget is spent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medassist.data.consultation import is_positive
from medassist.data.ddx_likelihood import EvidenceModel
from medassist.data.ddxplus import DDXPlusKB

SEPARATES_SHOWN = 3
COMBINED_FLOOR = 0.01  # a combined differential lists the conditions above it (DDXPlus' differential threshold)


@dataclass
class PolicyConfig:
    red_flag_weight: float = 3.0  # w_c of a severity <= severe_max condition in the weighted entropy
    severe_max: int = 2  # DDXPlus severity 1 (most severe) .. 5
    model_weight: float = 0.5  # share of the differential taken from a model, when one is given
    stop_threshold: float = 0.9  # stop asking once the top condition is this probable
    max_questions: int = 20


@dataclass
class Separation:
    """How one condition's probability moves with the answer (yes: any non-default answer)."""

    condition: str
    if_yes: float
    if_no: float
    red_flag: bool


@dataclass
class CombinedRow:
    """A row of the combined differential: the mixture and the two distributions it mixes."""

    condition: str
    probability: float
    model: float  # the model's stated probability, normalised over the knowledge base's conditions
    knowledge_base: float  # the naive-Bayes posterior given the answers so far
    red_flag: bool


@dataclass
class Suggestion:
    code: str
    question: str
    score: float  # expected weighted information gain, bits
    p_yes: float  # probability of a non-default answer under the current differential
    separates: list[Separation] = field(default_factory=list)
    type: str = "B"  # the evidence's data type: B binary, C categorical/numeric, M multi-choice
    options: list[dict[str, Any]] = field(default_factory=list)  # ``Evidence.options``: none for binary

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "question": self.question, "type": self.type, "options": self.options,
                "score": round(self.score, 4),
                "p_yes": round(self.p_yes, 4),
                "separates": [{"condition": s.condition, "if_yes": round(s.if_yes, 4), "if_no": round(s.if_no, 4),
                               "red_flag": s.red_flag} for s in self.separates]}


def askable(kb: DDXPlusKB, known: Mapping[str, list[Any]]) -> list[str]:
    """Evidences not yet known whose parent question (if any) was answered positively."""
    return [code for code, ev in kb.evidences.items() if code not in known
            and (ev.parent is None or (ev.parent in known and is_positive(kb, ev.parent, known[ev.parent])))]


def _weighted_entropy(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """H_w over the last axis (p may be a stack of distributions)."""
    safe = np.where(p > 0, p, 1.0)
    return -(w * p * np.log2(safe)).sum(axis=-1)


class QuestionPolicy:
    """Ranks the askable questions of a consultation (see the module docstring)."""

    def __init__(self, model: EvidenceModel, config: PolicyConfig | None = None):
        self.model, self.config = model, config or PolicyConfig()
        kb = model.kb
        self.red_flag = np.array([(kb.severity(c) or 5) <= self.config.severe_max for c in model.conditions])
        self.weights = np.where(self.red_flag, self.config.red_flag_weight, 1.0)

    def differential(self, known: Mapping[str, list[Any]],
                     model_differential: Sequence[tuple[str, float | None]] | None = None) -> np.ndarray:
        """The distribution questions are scored on: KB posterior, mixed with the model's when given."""
        return self._mix(self.model.posterior(dict(known)), self._model_distribution(model_differential))

    def _mix(self, kb: np.ndarray, stated: np.ndarray | None) -> np.ndarray:
        if stated is None:
            return kb
        return self.config.model_weight * stated + (1 - self.config.model_weight) * kb

    def combined(self, known: Mapping[str, list[Any]],
                 model_differential: Sequence[tuple[str, float | None]] | None = None,
                 floor: float = COMBINED_FLOOR) -> list[CombinedRow]:
        """``differential`` as ranked rows above ``floor``, each with its two sources (the model's
        share is 0 where it did not name the condition or its answer did not parse)."""
        kb = self.model.posterior(dict(known))
        stated = self._model_distribution(model_differential)
        p = self._mix(kb, stated)
        stated = np.zeros_like(kb) if stated is None else stated
        return [CombinedRow(self.model.conditions[i], float(p[i]), float(stated[i]), float(kb[i]),
                                  bool(self.red_flag[i])) for i in np.argsort(-p, kind="stable") if p[i] > floor]

    def _model_distribution(self, differential: Sequence[tuple[str, float | None]] | None) -> np.ndarray | None:
        """A model's (normalised-name) differential as a distribution over the KB's conditions; a name
        without a probability gets an equal share of what the stated ones leave; None if none is known."""
        rows = [(self.model.row[name], prob) for name, prob in differential or () if name in self.model.row]
        if not rows:
            return None
        q = np.zeros(len(self.model.conditions))
        for r, prob in rows:
            q[r] += max(0.0, prob or 0.0)
        unstated = [r for r, prob in rows if prob is None]
        if unstated:
            q[unstated] += max(0.0, 1.0 - q.sum()) / len(unstated) if q.sum() else 1.0 / len(unstated)
        return q / q.sum() if q.sum() > 0 else None

    def done(self, p: np.ndarray, asked: int) -> bool:
        return asked >= self.config.max_questions or float(p.max()) >= self.config.stop_threshold

    def rank(self, known: Mapping[str, list[Any]], p: np.ndarray, k: int = 3, language: str = "en",
             exclude: Collection[str] = ()) -> list[Suggestion]:
        """The ``k`` best questions for differential ``p``, best first (ties: knowledge-base order),
        leaving out the ``exclude``d codes (questions skipped: still unknown, not to be asked again)."""
        candidates = [code for code in askable(self.model.kb, known) if code not in exclude]
        if not candidates:
            return []
        prior = _weighted_entropy(p, self.weights)
        scores = []
        for code in candidates:
            _, likelihood = self.model.outcome_likelihoods(code)  # (outcomes, conditions)
            joint = likelihood * p[None, :]
            p_outcome = joint.sum(axis=1)
            posterior = joint / np.maximum(p_outcome[:, None], 1e-300)
            scores.append(float(prior - (p_outcome * _weighted_entropy(posterior, self.weights)).sum()))
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])[:k]
        return [self._explain(candidates[i], scores[i], p, language) for i in order]

    def _explain(self, code: str, score: float, p: np.ndarray, language: str) -> Suggestion:
        theta = self.model.p_present[:, self.model.column[code]]
        p_yes = float((theta * p).sum())
        if_yes = theta * p / max(p_yes, 1e-300)
        if_no = (1 - theta) * p / max(1 - p_yes, 1e-300)
        moved = np.argsort(-np.abs(if_yes - if_no))[:SEPARATES_SHOWN]
        evidence = self.model.kb.evidences[code]
        question = evidence.question_fr if language == "fr" and evidence.question_fr else evidence.question
        return Suggestion(code, question, max(0.0, score), p_yes, [
            Separation(self.model.conditions[i], float(if_yes[i]), float(if_no[i]), bool(self.red_flag[i]))
            for i in moved], evidence.data_type, evidence.options_in(language))
