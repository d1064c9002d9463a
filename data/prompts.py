"""The prompts and answer formats shared by training, serving and evaluation.

One source of truth, so the model is asked at inference exactly as it was trained. They are
kept short on purpose: the embedded tiny model trains with ~512-token sequences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

SYSTEM_PROMPT = (
    "You are medassist, a decision-support assistant for clinicians. You are not a doctor and do not "
    "replace clinical judgement: state uncertainty, cite sources when given, and flag emergencies."
)

PUBMEDQA_DECISIONS = ("yes", "no", "maybe")


def mcq_user_prompt(question: str, options: Mapping[str, str]) -> str:
    lines = [question.strip(), *(f"{key}. {text}" for key, text in options.items())]
    return "\n".join(lines) + "\nAnswer with the letter and text of the best option."


def mcq_answer(letter: str, text: str) -> str:
    """The trained answer form, e.g. ``Answer: C. Right coronary artery``."""
    return f"Answer: {letter}. {text}"


def pubmedqa_user_prompt(question: str, context: str | None = None) -> str:
    head = f"Context: {context.strip()}\n" if context else ""
    return f"{head}Question: {question.strip()}\nAnswer yes, no or maybe, then explain briefly."


def pubmedqa_answer(decision: str, long_answer: str) -> str:
    return f"{decision}. {long_answer.strip()}".strip()


def parse_pubmedqa_decision(text: str) -> str | None:
    """The first yes/no/maybe word of an answer, or None."""
    match = re.search(r"\b(yes|no|maybe)\b", text.lower())
    return match.group(1) if match else None


def case_user_prompt(vignette: str) -> str:
    return (f"{vignette.strip()}\nGive the differential diagnosis as JSON "
            '{"differential": [{"condition": ..., "probability": ...}]}, most likely first.')


def format_differential(pairs: Iterable[tuple[str, float]], top_k: int = 5) -> str:
    """The assistant's answer to a case: the ``top_k`` most probable conditions as compact JSON."""
    ranked = sorted(pairs, key=lambda p: -p[1])[:top_k]
    return json.dumps({"differential": [{"condition": c, "probability": round(float(p), 2)} for c, p in ranked]},
                      ensure_ascii=False)


def parse_differential(text: str) -> list[tuple[str, float | None]] | None:
    """Read a differential from model output: the first JSON object holding ``differential``.

    Accepts surrounding prose or code fences and entries that are plain strings (probability
    None). Returns None when no such object parses, so callers can count unparseable answers.
    """
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("differential"), list):
            continue
        out: list[tuple[str, float | None]] = []
        for entry in obj["differential"]:
            if isinstance(entry, str):
                out.append((entry, None))
            elif isinstance(entry, dict) and isinstance(entry.get("condition"), str):
                prob = entry.get("probability")
                out.append((entry["condition"], float(prob) if isinstance(prob, int | float) else None))
        return out
    return None
