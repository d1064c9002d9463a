"""Which findings of a case drive each condition of a differential: leave-one-finding-out attribution.

A case vignette (``prompts.case_vignette``'s format) is split into findings: age, sex, chief
complaint, and each symptom, history and vitals item. Each finding is removed in turn, the
vignette rebuilt without it (still a valid vignette: without the age it reads "A woman.", without
the sex "A 34-year-old patient."), and the condition re-scored. A finding's weight is
``score(full case) - score(case without it)``: positive, it raises the condition (a finding
*for*); negative, it lowers it (*against*).

The score of a condition is the model's teacher-forced log-probability of naming it first in the
differential: ``log P(<name>"," | chat prompt + {"differential":[{"condition":")`` (``ANSWER_PREFIX``
then ``condition_continuation``). Why this and not "the name at any rank":

- It is the quantity ``/v1/diagnose`` decodes from: the answer is the compact JSON of
  ``format_differential`` (the trained form), so the first condition is chosen exactly here. A
  finding that lowers this number pushes the condition down the list.
- It costs one forward pass per perturbation and no generation. The name at any rank would need
  a marginal over every list that could precede it, which only sampling estimates.
- The closing quote is part of the continuation, so "Pneumonia" gets no credit for being the
  start of "Pneumonia with effusion": the name must end there (``condition_continuation``).
- Log-probabilities of several perturbations of one case share the prompt format, so their
  differences compare like with like (nats, the unit of every weight here).

Nothing here imports a model: the caller passes a ``Scorer`` (medassist/condition_scorer.py runs one
with transformers; the server's engines can run the same prompt with prompt log-probs). Cost: one
scorer call of ``conditions x (findings + 1)`` pairs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from medassist.data.prompts import case_vignette
from medassist.errors import MedassistError

# the start of the trained answer (``format_differential``) up to the first condition's name
ANSWER_PREFIX = '{"differential":[{"condition":"'

# (cases, conditions) -> log-probabilities: ``conditions[i]``'s score on ``cases[i]``, same length
Scorer = Callable[[list[str], list[str]], list[float]]

KINDS = ("age", "sex", "chief_complaint", "symptom", "history", "vitals")
_SECTIONS = {"Chief complaint": "chief_complaint", "Symptoms": "symptom", "History": "history", "Vitals": "vitals"}
_JOINERS = {"chief_complaint": None, "symptom": "; ", "history": "; ", "vitals": ", "}
_WHO = re.compile(r"^A (?:(?P<age>\d+)-year-old )?(?P<noun>man|woman|boy|girl|patient)\.$")
_NOUN_SEX = {"man": "M", "boy": "M", "woman": "F", "girl": "F", "patient": None}
# a finding that states an absence: "no wheeze", "denies chest pain", "without fever"
_NEGATIVE = re.compile(
    r"^(?:no|not|none|denies|denied|without|never|absent|absence of|negative for)\b[:\s]*", re.IGNORECASE
)


def condition_continuation(condition: str) -> str:
    """What is scored after ``ANSWER_PREFIX``: the name, then ``","`` as the trained answer goes on
    (``format_differential``: ``...","probability":0.7``). The quote ends the name; the comma is
    there because byte-level BPE tokenises the run ``","`` as one piece: a lone closing quote would
    be a token the model never saw there."""
    return condition + '","'


@dataclass(frozen=True)
class Finding:
    """One finding of a case: ``kind`` is one of ``KINDS``; ``text`` as the vignette writes it
    (the age as "34", the sex as "M"/"F")."""

    kind: str
    text: str

    @property
    def label(self) -> str:
        """The finding in words, for the explanation and the UI: "age 34", "female sex", "fever"."""
        if self.kind == "age":
            return f"age {self.text}"
        if self.kind == "sex":
            return {"M": "male sex", "F": "female sex"}[self.text]
        return self.text

    @property
    def negative(self) -> bool:
        """The finding states an absence ("no wheeze"): the explanation says "absence of wheeze"."""
        return bool(_NEGATIVE.match(self.text))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "label": self.label, "negative": self.negative}


@dataclass(frozen=True)
class Case:
    """A vignette's content, field by field, so that any finding can be left out and the vignette rebuilt."""

    age: int | None
    sex: str | None  # "M", "F" or None ("patient")
    chief_complaint: str
    symptoms: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    vitals: tuple[str, ...] = ()

    def findings(self) -> list[Finding]:
        """Every finding, in vignette order; ``without`` takes indices into this list."""
        out = [Finding("age", str(self.age))] if self.age is not None else []
        out += [Finding("sex", self.sex)] if self.sex else []
        out += [Finding("chief_complaint", self.chief_complaint)] if self.chief_complaint else []
        for kind, items in (("symptom", self.symptoms), ("history", self.history), ("vitals", self.vitals)):
            out += [Finding(kind, item) for item in items]
        return out

    def without(self, indices: Sequence[int]) -> Case:
        """The case with the findings at ``indices`` (positions in ``findings()``) removed."""
        findings = self.findings()
        drop = set(indices)
        if bad := sorted(i for i in drop if not 0 <= i < len(findings)):
            raise IndexError(f"finding index {bad[0]} out of range: the case has {len(findings)} findings")
        kept = [f for i, f in enumerate(findings) if i not in drop]

        def texts(kind: str) -> tuple[str, ...]:
            return tuple(f.text for f in kept if f.kind == kind)

        return replace(
            self,
            age=int(texts("age")[0]) if texts("age") else None,
            sex=texts("sex")[0] if texts("sex") else None,
            chief_complaint=texts("chief_complaint")[0] if texts("chief_complaint") else "",
            symptoms=texts("symptom"),
            history=texts("history"),
            vitals=texts("vitals"),
        )

    def vignette(self) -> str:
        return case_vignette(self.age, self.sex, self.chief_complaint, self.symptoms, self.history, self.vitals)


def parse_vignette(text: str) -> Case:
    """Read a vignette written by ``case_vignette``; ``parse_vignette(v).vignette() == v`` for those.

    The items of a section are split on its joiner ("; ", vitals ", "), as ``case_vignette`` wrote
    them. Raises ``MedassistError`` naming the line and what was expected.
    """
    lines = text.strip().splitlines()
    if not lines or not (who := _WHO.match(lines[0].strip())):
        first = lines[0] if lines else ""
        raise MedassistError(
            f"case line 1 {first!r}: expected 'A <age>-year-old <man|woman|boy|girl|patient>.' "
            "or 'A <man|woman|patient>.' (the case_vignette format)"
        )
    fields: dict[str, Any] = {
        "age": int(who["age"]) if who["age"] else None,
        "sex": _NOUN_SEX[who["noun"]],
        "chief_complaint": "",
    }
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        label, sep, body = line.partition(": ")
        kind = _SECTIONS.get(label)
        if not sep or kind is None or not body.endswith("."):
            raise MedassistError(
                f"case line {number} {line!r}: expected '<section>: <items>.' with section one of "
                f"{', '.join(_SECTIONS)}"
            )
        if kind in seen:
            raise MedassistError(f"case line {number}: a second {label!r} line")
        seen.add(kind)
        body = body[:-1]
        joiner = _JOINERS[kind]
        if joiner is None:
            fields["chief_complaint"] = body
        else:
            fields[{"symptom": "symptoms", "history": "history", "vitals": "vitals"}[kind]] = tuple(body.split(joiner))
    return Case(**fields)


@dataclass(frozen=True)
class WeightedFinding:
    """A finding and its weight for one condition: ``score(with) - score(without)``, in nats."""

    finding: Finding
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "weight": round(self.weight, 4)}


@dataclass(frozen=True)
class ConditionAttribution:
    """One condition's explanation: its score on the full case, and its findings for and against,
    strongest first."""

    condition: str
    score: float  # log P(condition named first | full case)
    supporting: tuple[WeightedFinding, ...]  # weight > 0: the finding raises the condition
    opposing: tuple[WeightedFinding, ...]  # weight < 0: the finding lowers it
    sentence: str
    weights: tuple[float, ...] = ()  # every finding's weight, in the order of ``Attribution.findings``

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "score": round(self.score, 4),
            "for": [w.to_dict() for w in self.supporting],
            "against": [w.to_dict() for w in self.opposing],
            "explanation": self.sentence,
        }


@dataclass(frozen=True)
class Attribution:
    """The explanation of a differential: the case's findings, and per listed condition its attribution."""

    findings: tuple[Finding, ...]
    conditions: tuple[ConditionAttribution, ...]
    method: str = field(
        default="leave-one-finding-out; weight = log P(condition first | case) - same without the finding (nats)"
    )

    @property
    def summary(self) -> str:
        return "; ".join(c.sentence for c in self.conditions if c.sentence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "findings": [f.to_dict() for f in self.findings],
            "conditions": [c.to_dict() for c in self.conditions],
            "summary": self.summary,
        }


def explain(
    condition: str, supporting: Sequence[WeightedFinding], opposing: Sequence[WeightedFinding], max_terms: int = 2
) -> str:
    """One clause per direction: "fever and productive cough raise Pneumonia; absence of wheeze lowers Asthma"
    style, naming at most ``max_terms`` findings each way (the strongest). "absence of" only for a
    finding whose text states an absence."""
    clauses = []
    for items, one, many in ((supporting, "raises", "raise"), (opposing, "lowers", "lower")):
        names = [_spoken(w.finding) for w in items[:max_terms]]
        if names:
            clauses.append(f"{' and '.join(names)} {one if len(names) == 1 else many} {condition}")
    return "; ".join(clauses)


def _spoken(finding: Finding) -> str:
    if finding.negative:
        return "absence of " + _NEGATIVE.sub("", finding.text, count=1)
    return finding.label


def attribute(
    vignette: str, conditions: Sequence[str], scorer: Scorer, min_weight: float = 0.0, max_terms: int = 2
) -> Attribution:
    """Leave-one-finding-out attribution of every condition in ``conditions`` on ``vignette``.

    One ``scorer`` call scores every condition on the full case and on each one-finding-less
    case. A finding with ``|weight| <= min_weight`` is neither for nor against.
    """
    case = parse_vignette(vignette)
    findings = case.findings()
    if not conditions:
        raise MedassistError("attribution needs at least one condition")
    variants = [case.vignette()] + [case.without([i]).vignette() for i in range(len(findings))]
    pairs = [(v, c) for c in conditions for v in variants]
    scores = scorer([v for v, _ in pairs], [c for _, c in pairs])
    if len(scores) != len(pairs):
        raise MedassistError(f"the scorer returned {len(scores)} scores for {len(pairs)} (case, condition) pairs")
    out = []
    for n, condition in enumerate(conditions):
        row = scores[n * len(variants) : (n + 1) * len(variants)]
        full, weights = row[0], [row[0] - s for s in row[1:]]
        out.append(condition_attribution(condition, full, findings, weights, min_weight, max_terms))
    return Attribution(tuple(findings), tuple(out))


def condition_attribution(
    condition: str,
    score: float,
    findings: Sequence[Finding],
    weights: Sequence[float],
    min_weight: float = 0.0,
    max_terms: int = 2,
) -> ConditionAttribution:
    """Findings sorted into for (weight > min_weight) and against (weight < -min_weight), strongest first."""
    weighted = [WeightedFinding(f, float(w)) for f, w in zip(findings, weights, strict=True)]
    supporting = tuple(sorted((w for w in weighted if w.weight > min_weight), key=lambda w: -w.weight))
    opposing = tuple(sorted((w for w in weighted if w.weight < -min_weight), key=lambda w: w.weight))
    return ConditionAttribution(
        condition,
        float(score),
        supporting,
        opposing,
        explain(condition, supporting, opposing, max_terms),
        tuple(float(w) for w in weights),
    )
