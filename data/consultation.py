"""A simulated consultation: a DDXPlus patient who answers one question at a time from the record.

The consultation opens as in DDXPlus' own protocol: age, sex and the chief complaint
(``INITIAL_EVIDENCE``). Every other answer is read from the record, never inferred: a binary
evidence the record lists is present, one it does not list is its default (absent); a categorical
or numeric evidence has the record's value, else its default; a multi-choice evidence the set of
values the record repeats, else its default. An answer is a list of values, the shape
``DDXPlusKB.group`` gives, so the part of the case uncovered so far renders with the vignette
code the model is trained on (``DDXPlusKB.partial_vignette``).
"""

from __future__ import annotations

from typing import Any

from medassist.data.ddxplus import DDXPlusKB
from medassist.data.records import DDXPatient
from medassist.errors import MedassistError


class SimulatedPatient:
    """One patient of a simulated consultation; ``known`` holds every answer given so far."""

    def __init__(self, patient: DDXPatient, kb: DDXPlusKB):
        self.patient, self.kb = patient, kb
        self.record = kb.group(patient.evidences)
        self.known: dict[str, list[Any]] = {}
        self.answer(patient.initial_evidence)

    def answer(self, code: str) -> list[Any]:
        """What the record says about ``code`` (see the module docstring); the answer is then known."""
        evidence = self.kb.evidences.get(code)
        if evidence is None:
            raise MedassistError(f"evidence {code!r} is not in the knowledge base (release_evidences.json)")
        values = list(self.record.get(code) or [True if code == self.patient.initial_evidence else evidence.default])
        self.known[code] = values
        return values

    def positives(self) -> set[str]:
        """Codes the record holds with a non-default answer: what a consultation can uncover."""
        return {code for code, values in self.record.items() if is_positive(self.kb, code, values)}

    def vignette(self) -> str:
        """The case as far as it is known, in the model's input format."""
        p = self.patient
        return self.kb.partial_vignette(p.age, p.sex, p.initial_evidence, self.known)


def is_positive(kb: DDXPlusKB, code: str, values: list[Any]) -> bool:
    """An answer that says something: present, or any value other than the evidence's default."""
    default = kb.evidences[code].default
    return any(v != default for v in values)
