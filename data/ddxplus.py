"""DDXPlus (English release): knowledge base, patient loader, evidence decoding and vignettes.

A patient row holds evidence tokens: ``E_91`` (binary, present), ``E_56_@_5`` (numeric scale),
``E_204_@_V_10`` (categorical value code) and repeated ``E_55_@_V_x`` for multi-choice answers.
``DDXPlusKB`` decodes them with ``release_evidences.json`` and renders a short English vignette
(the model's input), and it knows each condition's severity, ICD-10 code and names, so evaluation
can map free-text diagnoses back to KB conditions.
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medassist.data.clean import comparison_key
from medassist.data.prompts import case_vignette
from medassist.data.records import DDXPatient
from medassist.data.validation import Checker, Problems, iter_dict_records, open_text

COLUMNS = ("AGE", "DIFFERENTIAL_DIAGNOSIS", "SEX", "PATHOLOGY", "EVIDENCES", "INITIAL_EVIDENCE")
# Values that mean "nothing to report" (defaults such as "nowhere", "NA", travel "N").
_EMPTY_VALUES = {"nowhere", "na", "n", "none"}
# Common clinical names for DDXPlus conditions (applied only to conditions present in the KB).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "Possible NSTEMI / STEMI": ("myocardial infarction", "acute myocardial infarction", "heart attack", "stemi",
                                "nstemi", "acute coronary syndrome", "mi", "ami", "acs"),
    "Bronchospasm / acute asthma exacerbation": ("asthma", "asthma exacerbation", "acute asthma", "bronchospasm",
                                                 "asthma attack", "status asthmaticus"),
    "Acute COPD exacerbation / infection": ("copd exacerbation", "copd", "aecopd", "exacerbation of copd"),
    "GERD": ("gastroesophageal reflux disease", "gastro oesophageal reflux disease", "gastroesophageal reflux",
             "acid reflux", "gord", "reflux disease"),
    "URTI": ("upper respiratory tract infection", "upper respiratory infection", "uri", "common cold"),
    "Influenza": ("flu", "seasonal influenza", "influenza a", "influenza b"),
    "Pulmonary embolism": ("pe", "pulmonary embolus", "pulmonary thromboembolism"),
    "Acute otitis media": ("otitis media", "aom", "middle ear infection"),
    "Anaphylaxis": ("anaphylactic shock", "anaphylactic reaction"),
    "Spontaneous pneumothorax": ("pneumothorax", "collapsed lung"),
    "Viral pharyngitis": ("pharyngitis",),
    "Acute laryngitis": ("laryngitis",),
    "Larygospasm": ("laryngospasm",),
    "PSVT": ("paroxysmal supraventricular tachycardia", "supraventricular tachycardia", "svt"),
    "Atrial fibrillation": ("af", "afib", "a fib"),
    "SLE": ("systemic lupus erythematosus", "lupus"),
    "Tuberculosis": ("tb", "pulmonary tuberculosis"),
    "Guillain-Barré syndrome": ("guillain barre", "gbs"),
    "HIV (initial infection)": ("hiv", "acute hiv infection", "primary hiv infection", "acute retroviral syndrome"),
    "Pulmonary neoplasm": ("lung cancer", "lung neoplasm", "lung carcinoma", "bronchogenic carcinoma"),
    "Pancreatic neoplasm": ("pancreatic cancer", "pancreatic carcinoma"),
    "Acute pulmonary edema": ("pulmonary edema", "pulmonary oedema", "acute pulmonary oedema"),
    "Whooping cough": ("pertussis",),
    "Boerhaave": ("boerhaave syndrome", "esophageal rupture", "oesophageal rupture"),
    "Croup": ("laryngotracheobronchitis",),
    "Chagas": ("chagas disease", "american trypanosomiasis"),
    "Ebola": ("ebola virus disease",),
    "Scombroid food poisoning": ("scombroid poisoning", "scombroid"),
    "Acute rhinosinusitis": ("acute sinusitis",),
    "Chronic rhinosinusitis": ("chronic sinusitis",),
    "Allergic sinusitis": ("allergic rhinitis", "hay fever"),
    "Stable angina": ("stable angina pectoris",),
    "Panic attack": ("panic disorder", "anxiety attack"),
    "Acute dystonic reactions": ("acute dystonia", "dystonic reaction"),
    "Spontaneous rib fracture": ("rib fracture",),
    "Anemia": ("anaemia",),
    "Bronchitis": ("acute bronchitis",),
    "Pericarditis": ("acute pericarditis",),
    "Myocarditis": ("acute myocarditis",),
}
_MIN_CONTAINED_ALIAS = 6  # shorter aliases ("pe", "flu", "mi") must match the whole answer
_ICD = re.compile(r"\b([A-Z]\d{2}(?:\.\d{1,3})?)\b")


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ies"
    return verb + "s"


def finding_phrase(question: str) -> str:
    """Turn a yes/no question into a finding: "Do you have a cough?" -> "a cough",
    "Do you smoke cigarettes?" -> "smokes cigarettes"; otherwise "<question>? yes"."""
    q = question.strip().rstrip("?:").strip()
    phrase = None
    if m := re.match(r"(?i)^do you have (.+)$", q):
        phrase = m[1]
    elif m := re.match(r"(?i)^do you ((?:(?:\w+ly|ever|often|still|also) )*)([a-z]+) (.+)$", q):
        phrase = f"{m[1]}{_third_person(m[2].lower())} {m[3]}"
    elif m := re.match(r"(?i)^(?:have you|are you) (.+)$", q):
        phrase = ("has " if q.lower().startswith("have") else "is ") + m[1]
    if phrase is None:
        return f"{q}? yes"
    phrase = re.sub(r"\byourself\b", "themselves", phrase)
    phrase = re.sub(r"\b(wake|wakes|keeping|keep|make|makes|help|helps) you\b", r"\1 them", phrase)
    phrase = re.sub(r"\byour\b", "their", phrase)
    return re.sub(r"\byou\b", "they", phrase)


@dataclass
class Evidence:
    code: str
    question: str
    data_type: str  # B binary, C categorical/numeric, M multi-choice
    is_antecedent: bool
    default: Any
    values: dict[str, str]  # value code -> English meaning
    possible: list[Any]
    question_fr: str | None = None
    values_fr: dict[str, str] = field(default_factory=dict)  # value code -> French meaning (the original)
    # ``code_question``: the question this one follows up (E_55 "where is the pain" follows E_53
    # "do you have pain"); None for a question of its own
    parent: str | None = None

    @property
    def options(self) -> list[dict[str, Any]]:
        """The answers a form offers, ``[{"value", "label", "label_fr"}]`` in the knowledge base's order:
        a categorical or multi-choice question's value codes with their English and French meanings, a
        numeric scale's numbers (``label_fr`` None); none for a binary question (answered true/false)."""
        if self.data_type == "B":
            return []
        values = self.possible or list(self.values)
        return [{"value": v, "label": str(self.values.get(v, v) if isinstance(v, str) else v),
                 "label_fr": self.values_fr.get(v) if isinstance(v, str) else None} for v in values]

    def options_in(self, language: str) -> list[dict[str, Any]]:
        """``options`` labelled in ``language`` ("en" or "fr"; English where French is missing)."""
        if language != "fr":
            return self.options
        return [{**o, "label": o["label_fr"] or o["label"]} for o in self.options]


class DDXPlusKB:
    """Conditions and evidences of a DDXPlus release (the English files' schema)."""

    def __init__(self, conditions: dict[str, dict[str, Any]], evidences: dict[str, Evidence]):
        self.conditions = conditions
        self.evidences = evidences
        self._aliases: dict[str, str] = {}
        icd_counts: dict[str, set[str]] = {}
        for name, cond in conditions.items():
            names = {name, cond.get("condition_name", name), cond.get("cond-name-eng", name),
                     cond.get("cond-name-fr", name), *SYNONYMS.get(name, ())}
            names |= {part for n in list(names) for part in n.split("/") if len(part.split()) >= 2}
            for alias in names:
                self._aliases.setdefault(comparison_key(alias), name)
            # "J18", "j17, j18", "g44.009": also index the 3-character category ("G44")
            for icd in _ICD.findall(str(cond.get("icd10-id", "")).upper()):
                for code in {icd, icd.split(".")[0]}:
                    icd_counts.setdefault(code, set()).add(name)
        self._icd = {code: names.pop() for code, names in icd_counts.items() if len(names) == 1}
        self._contained = sorted((a for a in self._aliases if len(a) >= _MIN_CONTAINED_ALIAS), key=len, reverse=True)

    # ------------------------------------------------------------------ knowledge
    @property
    def condition_names(self) -> list[str]:
        return list(self.conditions)

    def severity(self, condition: str) -> int | None:
        """DDXPlus severity, 1 (most severe) to 5."""
        cond = self.conditions.get(condition)
        return cond.get("severity") if cond else None

    def icd10(self, condition: str) -> str | None:
        cond = self.conditions.get(condition)
        return cond.get("icd10-id") if cond else None

    def normalise_condition(self, text: str) -> str | None:
        """Map a free-text diagnosis (English/French name, ICD-10 code, common synonym) to a KB name."""
        norm = comparison_key(text)
        for prefix in ("possible ", "probable ", "suspected ", "likely ", "acute "):
            if norm in self._aliases:
                break
            if norm.startswith(prefix) and norm.removeprefix(prefix) in self._aliases:
                norm = norm.removeprefix(prefix)
        if norm in self._aliases:
            return self._aliases[norm]
        for code in _ICD.findall(text.upper()):
            for candidate in (code, code.split(".")[0]):
                if candidate in self._icd:
                    return self._icd[candidate]
        padded = f" {norm} "
        return next((self._aliases[a] for a in self._contained if f" {a} " in padded), None)

    # ------------------------------------------------------------------ decoding
    def decode(self, token: str) -> tuple[Evidence, Any]:
        """``E_55_@_V_89`` -> (evidence E_55, "V_89"); ``E_56_@_5`` -> (E_56, 5); ``E_91`` -> (E_91, True).

        Raises ``KeyError``/``ValueError`` with a readable reason for an unknown code or value.
        """
        code, sep, raw = token.partition("_@_")
        evidence = self.evidences.get(code)
        if evidence is None:
            raise KeyError(f"unknown evidence code {code!r}")
        if not sep:
            return evidence, True
        if evidence.values:
            if raw not in evidence.values:
                raise ValueError(f"unknown value {raw!r} for evidence {code}")
            return evidence, raw
        try:
            value: Any = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"value {raw!r} of evidence {code} is neither a value code nor a number") from None
        if evidence.possible and value not in evidence.possible:
            raise ValueError(f"value {value} of evidence {code} is outside {evidence.possible}")
        return evidence, value

    def _render(self, evidence: Evidence, values: list[Any]) -> str | None:
        if evidence.data_type == "B" and values == [True]:
            return finding_phrase(evidence.question)
        shown = []
        for value in values:
            if value == evidence.default:
                continue
            meaning = evidence.values.get(value, value) if isinstance(value, str) else value
            if isinstance(meaning, str):
                if meaning.lower() in _EMPTY_VALUES:
                    continue
                meaning = {"Y": "yes", "N": "no"}.get(meaning, meaning)
            elif isinstance(meaning, int | float) and evidence.possible and max(evidence.possible) == 10:
                meaning = f"{meaning}/10"
            shown.append(str(meaning))
        if not shown:
            return None
        question = evidence.question.strip()
        return f"{question} {', '.join(shown)}"

    def group(self, tokens: list[str]) -> dict[str, list[Any]]:
        """Evidence tokens -> {code: decoded values}: a multi-choice answer repeats its code."""
        grouped: dict[str, list[Any]] = {}
        for token in tokens:
            evidence, value = self.decode(token)
            grouped.setdefault(evidence.code, []).append(value)
        return grouped

    def findings(self, patient: DDXPatient) -> tuple[str | None, list[str], list[str]]:
        """(chief complaint, symptoms, history) as English phrases."""
        return self.findings_of(self.group(patient.evidences), patient.initial_evidence)

    def findings_of(self, grouped: dict[str, list[Any]], initial_evidence: str
                    ) -> tuple[str | None, list[str], list[str]]:
        """``findings`` for any set of answers, e.g. the part of a case uncovered so far; answers equal
        to the evidence's default (absent, "nowhere") render nothing, as in a full case."""
        grouped = dict(grouped)
        if initial_evidence not in grouped and initial_evidence in self.evidences:
            grouped[initial_evidence] = [True]
        chief = None
        symptoms: list[str] = []
        history: list[str] = []
        for code, values in grouped.items():
            evidence = self.evidences[code]
            text = self._render(evidence, values)
            if text is None:
                continue
            if code == initial_evidence:
                chief = text
            else:
                (history if evidence.is_antecedent else symptoms).append(text)
        return chief, symptoms, history

    def vignette(self, patient: DDXPatient) -> str:
        """A short, readable English case: who, chief complaint, symptoms, history."""
        return self.partial_vignette(patient.age, patient.sex, patient.initial_evidence,
                                     self.group(patient.evidences))

    def partial_vignette(self, age: int | None, sex: str | None, initial_evidence: str,
                         known: dict[str, list[Any]]) -> str:
        """The vignette of a case known only in part (``known``: {code: values}, as ``group`` gives):
        the same format as a full case, so the model reads a consultation in progress as it was trained."""
        chief, symptoms, history = self.findings_of(known, initial_evidence)
        return case_vignette(age, sex, chief or "", symptoms, history)


# ---------------------------------------------------------------------- loading
def _load_evidences(path: str | Path, check: Checker) -> dict[str, Evidence]:
    evidences = {}
    for where, obj in iter_dict_records(path, check):
        code = where.removeprefix("key ")
        question = check.get(obj, "question_en", where)
        dtype = check.get(obj, "data_type", where)
        meaning = check.get(obj, "value_meaning", where, dict, required=False) or {}
        if dtype is not None and dtype not in ("B", "C", "M"):
            check.fail(where, "data_type", f"expected B, C or M, got {dtype!r}", "bad value")
            continue
        if question is None or dtype is None:
            continue
        values, values_fr = {}, {}
        for v, m in meaning.items():
            if isinstance(m, dict) and isinstance(m.get("en"), str):
                values[v] = m["en"]
                if isinstance(m.get("fr"), str):
                    values_fr[v] = m["fr"]
            else:
                check.fail(where, f"value_meaning.{v}", "expected {'fr': ..., 'en': ...}", "wrong type")
        parent = obj.get("code_question")
        evidences[code] = Evidence(code=code, question=question, data_type=dtype,
                                   is_antecedent=bool(obj.get("is_antecedent", False)),
                                   default=obj.get("default_value"), values=values,
                                   possible=list(obj.get("possible-values") or []),
                                   question_fr=obj.get("question_fr"), values_fr=values_fr,
                                   parent=parent if isinstance(parent, str) and parent != code else None)
    return evidences


def _load_conditions(path: str | Path, check: Checker, evidences: dict[str, Evidence]) -> dict[str, dict]:
    conditions = {}
    for where, obj in iter_dict_records(path, check):
        ok = all(
            check.get(obj, name, where, types) is not None
            for name, types in (("icd10-id", str), ("severity", int), ("symptoms", dict))
        )
        antecedents = check.get(obj, "antecedents", where, dict, required=False) or {}
        if not ok:
            continue
        unknown = [e for e in (*obj["symptoms"], *antecedents) if e not in evidences]
        if unknown and evidences:
            check.fail(where, "symptoms", f"unknown evidence codes {unknown[:5]}", "unknown evidence code")
            continue
        conditions[where.removeprefix("key ")] = obj
    return conditions


def load_kb(conditions_json: str | Path, evidences_json: str | Path, *,
            problems: Problems | None = None) -> DDXPlusKB:
    evidences = _load_evidences(evidences_json, Checker(evidences_json, problems))
    conditions = _load_conditions(conditions_json, Checker(conditions_json, problems), evidences)
    return DDXPlusKB(conditions, evidences)


def _literal(raw: str, field_name: str, where: str, check: Checker) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        check.fail(where, field_name, f"expected a Python-literal list, got {raw[:60]!r}", "unparseable list")
        return None


def parse_patient(row: dict[str, str], where: str, check: Checker, kb: DDXPlusKB, patient_id: str) -> DDXPatient | None:
    try:
        age = int(row["AGE"])
        if not 0 <= age <= 120:
            raise ValueError
    except (TypeError, ValueError):
        check.fail(where, "AGE", f"expected an age 0-120, got {row['AGE']!r}", "bad value")
        return None
    sex = row["SEX"]
    if sex not in ("M", "F"):
        check.fail(where, "SEX", f"expected M or F, got {sex!r}", "bad value")
        return None
    pathology = row["PATHOLOGY"]
    if pathology not in kb.conditions:
        check.fail(where, "PATHOLOGY", f"unknown condition {pathology!r} (not in release_conditions.json)",
                   "unknown condition")
        return None
    differential = _literal(row["DIFFERENTIAL_DIAGNOSIS"], "DIFFERENTIAL_DIAGNOSIS", where, check)
    evidences = _literal(row["EVIDENCES"], "EVIDENCES", where, check)
    if differential is None or evidences is None:
        return None
    try:
        pairs = [(str(name), float(p)) for name, p in differential]
    except (TypeError, ValueError):
        check.fail(where, "DIFFERENTIAL_DIAGNOSIS", "expected [[condition, probability], ...]", "wrong type")
        return None
    unknown = [name for name, _ in pairs if name not in kb.conditions]
    if unknown:
        check.fail(where, "DIFFERENTIAL_DIAGNOSIS", f"unknown conditions {unknown[:3]}", "unknown condition")
        return None
    if not isinstance(evidences, list) or not all(isinstance(t, str) for t in evidences):
        check.fail(where, "EVIDENCES", "expected a list of evidence tokens", "wrong type")
        return None
    for token in [*evidences, row["INITIAL_EVIDENCE"]]:
        try:
            kb.decode(token)
        except (KeyError, ValueError) as exc:
            field_name = "INITIAL_EVIDENCE" if token == row["INITIAL_EVIDENCE"] else "EVIDENCES"
            check.fail(where, field_name, exc.args[0], "unknown evidence code")
            return None
    return DDXPatient(id=patient_id, age=age, sex=sex, pathology=pathology, differential=pairs,
                      evidences=evidences, initial_evidence=row["INITIAL_EVIDENCE"])


def iter_patients(patients_csv: str | Path, kb: DDXPlusKB, *, problems: Problems | None = None,
                  ) -> Iterator[DDXPatient]:
    """Stream patients from a DDXPlus CSV (plain or gzip): the full release has 1.3M rows."""
    check = Checker(patients_csv, problems)
    stem = Path(patients_csv).name.split(".")[0]
    with open_text(patients_csv) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            check.fail("line 1", ",".join(missing), f"missing columns; expected header {','.join(COLUMNS)}",
                       "missing field")
            return
        for index, row in enumerate(reader):
            where = f"line {reader.line_num}"
            if None in row or any(row[c] is None for c in COLUMNS):
                check.fail(where, "(row)", f"expected {len(COLUMNS)} columns", "bad row")
                continue
            patient = parse_patient(row, where, check, kb, f"{stem}-{index}")
            if patient is not None:
                yield patient


def load_ddxplus(patients_csv: str | Path, conditions_json: str | Path, evidences_json: str | Path, *,
                 problems: Problems | None = None) -> tuple[list[DDXPatient], DDXPlusKB]:
    kb = load_kb(conditions_json, evidences_json, problems=problems)
    return list(iter_patients(patients_csv, kb, problems=problems)), kb
