"""The server's DDXPlus knowledge base: what a ``/v1/diagnose`` consultation is written in.

Loaded once at startup from ``ddx_kb`` (release_conditions.json + release_evidences.json) and
``ddx_patients`` (a DDXPlus CSV that fits the next-question policy's likelihoods; the packaged
samples by default). It checks a consultation's codes and values (a 400 naming
``consultation.answers.<code>``), renders the vignette the model reads (``DDXPlusKB.partial_vignette``,
the format the model was trained on), gives each named condition its severity, and ranks the next
questions with ``data.next_question.QuestionPolicy``: the knowledge base's posterior mixed with the
model's differential, as ``medassist eval ddx --interactive`` does in its model mode.

Memory: the knowledge base and conditions x evidences likelihoods (49 x 223 floats on the release).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from medassist.data.ddx_likelihood import EvidenceModel
from medassist.data.ddxplus import DDXPlusKB, Evidence, iter_patients, load_kb
from medassist.data.next_question import PolicyConfig, QuestionPolicy
from medassist.resources import bundled
from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import CombinedCondition, Consultation, EvidenceCard, EvidenceList, NextQuestion

log = logging.getLogger(__name__)

CONDITIONS_FILE, EVIDENCES_FILE = "release_conditions.json", "release_evidences.json"


class DiagnosticKB:
    """A knowledge base, the likelihoods fitted on its patients, and the question policy over them."""

    def __init__(self, kb: DDXPlusKB, model: EvidenceModel, chief_complaints: set[str],
                 policy: PolicyConfig | None = None) -> None:
        self.kb, self.model, self.chief_complaints = kb, model, chief_complaints
        self.policy = QuestionPolicy(model, policy)
        self.severe_max = self.policy.config.severe_max

    @classmethod
    def load(cls, kb_dir: str, patients_csv: str | None) -> DiagnosticKB:
        folder = bundled(kb_dir)
        kb = load_kb(folder / CONDITIONS_FILE, folder / EVIDENCES_FILE)
        patients = list(iter_patients(bundled(patients_csv), kb)) if patients_csv else []
        # the chief complaints patients opened with; without patients, any symptom of its own
        chiefs = {p.initial_evidence for p in patients} or {
            code for code, ev in kb.evidences.items() if ev.data_type == "B" and ev.parent is None
            and not ev.is_antecedent}
        log.info("diagnostic knowledge base: %d conditions, %d evidences (%s), likelihoods fitted on %d patients",
                 len(kb.conditions), len(kb.evidences), folder, len(patients))
        return cls(kb, EvidenceModel(kb, patients), chiefs)

    # ---- a consultation ------------------------------------------------------------------
    def known(self, consultation: Consultation) -> dict[str, list[Any]]:
        """The consultation's answers ({code: values}, the chief complaint present), checked against
        the knowledge base: a 400 naming the field for an unknown code or value."""
        chief = consultation.chief_complaint
        evidence = self.kb.evidences.get(chief)
        if evidence is None or evidence.data_type != "B":
            what = "unknown evidence code" if evidence is None else f"{chief} is not a binary (yes/no) evidence"
            raise _bad(f"consultation.chief_complaint: {what}; expected a symptom code of the server's knowledge "
                       "base (GET /v1/diagnose/evidences, chief_complaint: true)", "consultation.chief_complaint")
        known: dict[str, list[Any]] = {chief: [True]}
        for code, values in consultation.answers.items():
            param = f"consultation.answers.{code}"
            evidence = self.kb.evidences.get(code)
            if evidence is None:
                raise _bad(f"{param}: unknown evidence code (GET /v1/diagnose/evidences lists the server's)", param)
            if code == chief and values != [True]:
                raise _bad(f"{param}: the chief complaint is present by definition; leave it out of answers", param)
            problem = _answer_problem(evidence, values)
            if problem:
                raise _bad(f"{param}: {problem}", param)
            known[code] = list(values)
        for i, code in enumerate(consultation.skipped):
            param = f"consultation.skipped[{i}]"
            if code not in self.kb.evidences:
                raise _bad(f"{param}: unknown evidence code {code!r} (GET /v1/diagnose/evidences lists the server's)",
                           param)
            if code in known:
                raise _bad(f"{param}: {code} is answered (or is the chief complaint); a question is either "
                           "answered or skipped", param)
        return known

    def vignette(self, consultation: Consultation, known: dict[str, list[Any]]) -> str:
        return self.kb.partial_vignette(consultation.age, consultation.sex, consultation.chief_complaint, known)

    def severity(self, condition: str) -> int | None:
        """The knowledge base's severity of a condition the model named (names, synonyms, ICD-10 codes
        are matched by ``DDXPlusKB.normalise_condition``); None when the knowledge base lacks it."""
        name = self.kb.normalise_condition(condition)
        return self.kb.severity(name) if name else None

    def must_not_miss(self, severity: int | None) -> bool:
        return severity is not None and severity <= self.severe_max

    def _stated(self, differential: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
        """The model's rows under the knowledge base's names (the ones it knows)."""
        return [(name, p) for cond, p in differential if (name := self.kb.normalise_condition(cond))]

    def combined(self, known: dict[str, list[Any]], differential: Sequence[tuple[str, float]],
                 ) -> list[CombinedCondition]:
        """The knowledge base's posterior given ``known`` mixed with the model's ``differential``, with
        both shares (``QuestionPolicy.combined``): what the next questions are chosen on."""
        return [CombinedCondition(condition=row.condition, probability=round(row.probability, 4),
                                  model=round(row.model, 4), knowledge_base=round(row.knowledge_base, 4),
                                  severity=(severity := self.kb.severity(row.condition)),
                                  must_not_miss=self.must_not_miss(severity))
                for row in self.policy.combined(known, self._stated(differential))]

    def next_questions(self, known: dict[str, list[Any]], differential: Sequence[tuple[str, float]], k: int,
                       language: str, skipped: Collection[str] = ()) -> list[NextQuestion]:
        """The ``k`` most informative questions neither answered nor ``skipped``: the knowledge base's
        posterior given ``known``, mixed with the model's ``differential`` (the names it shares with the
        knowledge base)."""
        p = self.policy.differential(known, self._stated(differential) or None)
        ranked = self.policy.rank(known, p, k=k, language=language, exclude=skipped)
        return [NextQuestion.model_validate(s.to_dict()) for s in ranked]

    # ---- the form a client builds --------------------------------------------------------
    def evidences(self) -> EvidenceList:
        return EvidenceList(data=[
            EvidenceCard(code=code, question=ev.question, question_fr=ev.question_fr, type=ev.data_type,
                         options=ev.options, default=False if ev.data_type == "B" else ev.default,
                         is_antecedent=ev.is_antecedent, parent=ev.parent,
                         chief_complaint=code in self.chief_complaints)
            for code, ev in self.kb.evidences.items()])


def _answer_problem(evidence: Evidence, values: list[Any]) -> str | None:
    """What is wrong with an answer to ``evidence``, or None (module docstring of protocol.Consultation)."""
    default = evidence.default
    if not values:
        return "empty answer; expected [true]/[false], [value] or [v1, v2, ...]"
    if evidence.data_type == "B":
        if len(values) != 1 or not (isinstance(values[0], bool) or values[0] == default):
            return f"a binary evidence is answered [true] or [false], got {values}"
        return None
    if evidence.data_type == "C" and len(values) != 1:
        return f"a categorical evidence takes one value, got {len(values)}"
    if len(set(map(str, values))) != len(values):
        return "a value is repeated"
    allowed = evidence.possible or list(evidence.values)
    for value in values:
        if value == default or (not isinstance(value, bool) and value in allowed):
            continue
        shown = ", ".join(map(str, allowed[:12])) + (" ..." if len(allowed) > 12 else "")
        return f"unknown value {value!r}; expected one of {shown}"
    return None


def _bad(message: str, param: str) -> GatewayError:
    return GatewayError(400, message, param=param, code="invalid_consultation")
