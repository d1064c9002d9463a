"""P(answer | condition) for every DDXPlus evidence: the knowledge base's links, sharpened by counts
from training patients, and the naive-Bayes posterior over conditions it gives.

Why naive Bayes: it needs no training beyond counting, so it can be fitted in a second on
whatever patients a user has (or none), and every number it uses can be shown to a clinician.

- Presence: ``P(e non-default | c) = (k + a*m) / (n + a)``: k of the n training patients with
  condition c had e; ``m`` is the knowledge base's prior, ``link_prior`` (0.5) when e is among c's
  ``symptoms``/``antecedents`` in release_conditions.json, else ``off_prior`` (0.01); ``a`` =
  ``strength`` (2 pseudo-patients). With no patients the KB links alone decide.
- Values, given presence: categorical (and numeric scale) answers a Dirichlet-smoothed
  distribution over the non-default values (``value_strength`` pseudo-counts spread evenly);
  multi-choice answers one smoothed Bernoulli per value, independent given c.
- Condition prior: training frequencies with add-one smoothing (uniform without patients).

Memory: conditions x evidences floats (49 x 223 on the release) plus the value tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from medassist.data.ddxplus import DDXPlusKB
from medassist.data.records import DDXPatient


@dataclass
class Smoothing:
    link_prior: float = 0.5  # P(present | c) before any patient, evidence linked to c in the KB
    off_prior: float = 0.01  # ... evidence not linked to c
    strength: float = 2.0  # pseudo-patients behind that prior
    value_strength: float = 1.0  # pseudo-counts spread over an evidence's non-default values


class EvidenceModel:
    """Likelihoods of answers given each condition of ``kb``; ``fit`` counts training patients."""

    def __init__(self, kb: DDXPlusKB, patients: Iterable[DDXPatient] = (), smoothing: Smoothing | None = None):
        self.kb, self.smoothing = kb, smoothing or Smoothing()
        self.conditions = kb.condition_names
        self.codes = list(kb.evidences)
        self.column = {code: i for i, code in enumerate(self.codes)}
        self.row = {name: i for i, name in enumerate(self.conditions)}
        # non-default values of C/M evidences, in a fixed order
        self.values = {code: [v for v in (ev.possible or list(ev.values)) if v != ev.default]
                       for code, ev in kb.evidences.items() if ev.data_type != "B"}
        self._fit(list(patients))

    def _fit(self, patients: list[DDXPatient]) -> None:
        s, n_cond, n_ev = self.smoothing, len(self.conditions), len(self.codes)
        linked = np.zeros((n_cond, n_ev), dtype=bool)
        for name, cond in self.kb.conditions.items():
            for code in (*cond.get("symptoms", {}), *(cond.get("antecedents") or {})):
                if code in self.column:
                    linked[self.row[name], self.column[code]] = True
        present = np.zeros((n_cond, n_ev))
        totals = np.zeros(n_cond)
        value_counts = {code: np.zeros((n_cond, len(vals))) for code, vals in self.values.items()}
        index = {code: {v: i for i, v in enumerate(vals)} for code, vals in self.values.items()}
        for patient in patients:
            c = self.row.get(patient.pathology)
            if c is None:
                continue
            totals[c] += 1
            for code, answer in self.kb.group(patient.evidences).items():
                default = self.kb.evidences[code].default
                shown = [v for v in answer if v != default]
                if not shown:
                    continue
                present[c, self.column[code]] += 1
                for value in shown:
                    if code in index and value in index[code]:
                        value_counts[code][c, index[code][value]] += 1
        prior = np.where(linked, s.link_prior, s.off_prior)
        self.p_present = (present + s.strength * prior) / (totals[:, None] + s.strength)
        self.p_value: dict[str, np.ndarray] = {}
        for code, counts in value_counts.items():
            k = max(1, counts.shape[1])
            n_present = present[:, self.column[code]][:, None]
            if self.kb.evidences[code].data_type == "C":  # one value: a distribution over the values
                self.p_value[code] = (counts + s.value_strength / k) / (n_present + s.value_strength)
            else:  # multi-choice: each value chosen or not
                self.p_value[code] = (counts + s.value_strength / k) / (n_present + s.value_strength * 2)
        self.log_prior = np.log((totals + 1) / (totals.sum() + n_cond))

    # ------------------------------------------------------------------ likelihoods
    def outcome_likelihoods(self, code: str) -> tuple[list[str], np.ndarray]:
        """The outcomes a question is scored on and P(outcome | c) as an (outcomes x conditions) array.

        Binary and multi-choice: default vs not (a multi-choice answer is any subset of up to 165
        values, too many to enumerate; its values still count once answered). Categorical: the
        default and each other value.
        """
        theta = self.p_present[:, self.column[code]]
        if self.kb.evidences[code].data_type != "C":
            return ["no", "yes"], np.stack([1 - theta, theta])
        values = self.p_value[code].T * theta[None, :]
        return ["default", *map(str, self.values[code])], np.vstack([1 - theta, values])

    def log_likelihood(self, code: str, answer: list[Any]) -> np.ndarray:
        """log P(answer | c) for every condition."""
        theta = self.p_present[:, self.column[code]]
        evidence = self.kb.evidences[code]
        shown = [v for v in answer if v != evidence.default]
        if not shown:
            return np.log(1 - theta)
        out = np.log(theta)
        if evidence.data_type == "B" or code not in self.p_value:
            return out
        position = {v: i for i, v in enumerate(self.values[code])}
        table = self.p_value[code]
        if evidence.data_type == "C":
            i = position.get(shown[0])
            return out if i is None else out + np.log(table[:, i])
        chosen = np.zeros(len(position), dtype=bool)
        chosen[[position[v] for v in shown if v in position]] = True
        return out + np.log(np.where(chosen, table, 1 - table)).sum(axis=1)

    def posterior(self, known: dict[str, list[Any]]) -> np.ndarray:
        """P(c | answers so far), over ``self.conditions``."""
        logp = self.log_prior.copy()
        for code, answer in known.items():
            if code in self.column:
                logp += self.log_likelihood(code, answer)
        logp -= logp.max()
        p = np.exp(logp)
        return p / p.sum()
