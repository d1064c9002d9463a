"""The differential format: a patient case (``prompts.case_vignette``) answered with a ranked
differential as compact JSON, ``{"differential":[{"condition":...,"probability":...}]}``.

One module for its prompt, the trained answer, the JSON Schema serving decodes ``/v1/diagnose``
under, and the reading of free text: the training probe's DDX top-1 and eval's GTPA@1 read an
answer with ``top_condition``, so they are one measure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_OPENING = re.compile(r'\{\s*"differential"\s*:\s*\[')
_CUT_CONDITION = re.compile(r'\{\s*"condition"\s*:\s*"((?:[^"\\]|\\.)+)"')

Differential = list[tuple[str, float | None]]


def case_user_prompt(vignette: str) -> str:
    return (f"{vignette.strip()}\nGive the differential diagnosis as JSON "
            '{"differential":[{"condition":...,"probability":...}]}, most likely first.')


def format_differential(pairs: Iterable[tuple[str, float]], top_k: int = 5) -> str:
    """The assistant's answer to a case: the ``top_k`` most probable conditions as compact JSON."""
    ranked = sorted(pairs, key=lambda p: -p[1])[:top_k]
    # compact separators: the form both engines' grammar-constrained decoding emits (no free whitespace)
    return json.dumps({"differential": [{"condition": c, "probability": round(float(p), 2)} for c, p in ranked]},
                      separators=(",", ":"), ensure_ascii=False)


def differential_schema(max_conditions: int, conditions: Sequence[str] | None = None) -> dict[str, Any]:
    """The differential answer format (``format_differential``, + an optional rationale) as JSON Schema:
    what serving decodes ``/v1/diagnose`` under. ``conditions``: the names a condition must be one of
    (a consultation's knowledge base), else any name."""
    name: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 60}
    if conditions:
        name = {"type": "string", "enum": list(conditions)}
    return {
        "type": "object",
        "properties": {"differential": {
            "type": "array", "minItems": 1, "maxItems": max_conditions,
            "items": {
                "type": "object",
                "properties": {
                    "condition": name,
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                    "rationale": {"type": "string", "maxLength": 200},
                },
                "required": ["condition", "probability"],
                "additionalProperties": False,
            },
        }},
        "required": ["differential"],
        "additionalProperties": False,
    }


def _entries(entries: list[Any]) -> Differential:
    out: Differential = []
    for entry in entries:
        if isinstance(entry, str):
            out.append((entry, None))
        elif isinstance(entry, dict) and isinstance(entry.get("condition"), str):
            prob = entry.get("probability")
            out.append((entry["condition"], float(prob) if isinstance(prob, int | float) else None))
    return out


def _cut_short(text: str) -> Differential | None:
    """The entries of a differential the token budget cut off: the complete ones, and the last one
    when its condition is written (probability None). The ranking is decided by then."""
    opening = _OPENING.search(text)
    if opening is None:
        return None
    decoder, entries, pos = json.JSONDecoder(), [], opening.end()
    while True:
        pos = len(text) - len(text[pos:].lstrip(" \t\r\n,"))
        try:
            entry, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        entries.append(entry)
    out = _entries(entries)
    if (cut := _CUT_CONDITION.match(text, pos)) is not None:
        out.append((json.loads(f'"{cut.group(1)}"'), None))
    return out or None


def parse_differential(text: str) -> Differential | None:
    """Read a differential from model output: the first JSON object holding ``differential``.

    Accepts surrounding prose or code fences, entries that are plain strings (probability None)
    and an answer cut short by the token budget (``_cut_short``). Returns None when no
    differential can be read, so callers can count unparseable answers.
    """
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("differential"), list):
            return _entries(obj["differential"])
    return _cut_short(text)


def ranked(differential: Sequence[tuple[str, float | None]]) -> list[str]:
    """Conditions most probable first (stable for ties and for missing probabilities), no repeats."""
    order = sorted(range(len(differential)), key=lambda i: -(differential[i][1] or 0.0))
    seen: dict[str, None] = {}
    for i in order:
        seen.setdefault(differential[i][0], None)
    return list(seen)


def normalised(differential: Differential, normalise: Callable[[str], str | None]) -> Differential:
    """The differential with each name mapped by ``normalise`` (e.g. ``DDXPlusKB.normalise_condition``);
    a name it does not know stays as written (and then never matches a gold name)."""
    return [(normalise(name) or name, probability) for name, probability in differential]


def top_condition(text: str, normalise: Callable[[str], str | None] | None = None) -> str | None:
    """The most probable condition of an answer's differential, or None: what GTPA@1 compares with
    the true pathology, in the training probe and in eval."""
    differential = parse_differential(text)
    if not differential:
        return None
    return ranked(normalised(differential, normalise) if normalise else differential)[0]
