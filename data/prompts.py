"""The prompts and answer formats shared by training, serving and evaluation.

One source of truth, so the model is asked at inference exactly as it was trained. They are
kept short on purpose: the embedded models train with 512-768-token sequences on a CPU.

The grounded prompt (sources labelled ``[PMID]`` and the rules for citing them) is
here too: the serve and eval parts ask with it, and the data layer builds grounded training
examples with it. The best passages go first and last: models use the middle of a long context
worst ("lost in the middle", Liu et al. 2023). Passages are cut to ``max_chars`` to fit small
models' context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


def case_vignette(age: int | None, sex: str | None, chief_complaint: str, symptoms: Sequence[str] = (),
                  history: Sequence[str] = (), vitals: Sequence[str] = ()) -> str:
    """A patient case as the model reads it, in one format for everyone: DDXPlus patients become
    this text for training (``DDXKnowledge.vignette``), and the UI's case form and the demo write
    the same, so a case a clinician types looks like the cases the model learned from. ``sex``:
    DDXPlus's ``M``/``F`` or the form's ``male``/``female`` (anything else: "patient")."""
    code = {"m": "M", "male": "M", "f": "F", "female": "F"}.get((sex or "").strip().lower())
    adult = age is None or age >= 18
    noun = {"M": "man" if adult else "boy", "F": "woman" if adult else "girl"}.get(code or "", "patient")
    lines = [f"A {age}-year-old {noun}." if age is not None else f"A {noun}."]
    for label, items, joiner in (("Chief complaint", [chief_complaint], "; "), ("Symptoms", symptoms, "; "),
                                 ("History", history, "; "), ("Vitals", vitals, ", ")):
        kept = [item.strip().rstrip(".") for item in items if item and item.strip()]
        if kept:
            lines.append(f"{label}: {joiner.join(kept)}.")
    return "\n".join(lines)


def case_user_prompt(vignette: str) -> str:
    return (f"{vignette.strip()}\nGive the differential diagnosis as JSON "
            '{"differential":[{"condition":...,"probability":...}]}, most likely first.')


def format_differential(pairs: Iterable[tuple[str, float]], top_k: int = 5) -> str:
    """The assistant's answer to a case: the ``top_k`` most probable conditions as compact JSON."""
    ranked = sorted(pairs, key=lambda p: -p[1])[:top_k]
    # compact separators: the form both engines' grammar-constrained decoding emits (no free whitespace)
    return json.dumps({"differential": [{"condition": c, "probability": round(float(p), 2)} for c, p in ranked]},
                      separators=(",", ":"), ensure_ascii=False)


def differential_schema(max_conditions: int) -> dict[str, Any]:
    """The differential answer format (``format_differential``, + an optional rationale) as JSON Schema:
    what serving decodes ``/v1/diagnose`` under."""
    return {
        "type": "object",
        "properties": {"differential": {
            "type": "array", "minItems": 1, "maxItems": max_conditions,
            "items": {
                "type": "object",
                "properties": {
                    "condition": {"type": "string", "minLength": 1, "maxLength": 60},
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


# ---------------------------------------------------------------------------- grounded answers
@dataclass(frozen=True)
class Source:
    """A source of the grounded prompt; retrieval's ``Passage`` has the same fields."""

    pmid: str
    title: str
    text: str
    year: int | str | None = None
    journal: str | None = None


GROUNDING_RULES = (
    "Answer in your own words using only the sources below. Cite each claim with the source's PMID in square "
    "brackets, e.g. [12345678]. If the sources do not answer the question, say so plainly instead of guessing."
)
# Retrieved text is untrusted (anyone can publish an abstract). The prompt's own markers delimit it:
# "Sources:" opens the block, each source starts "Source [PMID]:" and "Question:" ends it. A title or
# abstract that writes one of them (a "Source [..]:" anywhere, the others at a line's start: a fake
# source, or posing as the question) loses its colon here, so only the prompt's markers are markers.
# (Tags around the block and a rule calling sources untrusted were tried: the demo's 30-step SmolLM2
# then stopped citing its sources, 2026-12-01.)
_MARKER = re.compile(r"(Source\s*\[[^\]]*\])\s*:|(?m:^(\s*(?:Sources|Question)))\s*:", re.IGNORECASE)
NOT_IN_SOURCES = "The sources provided do not answer this question."


def edges_first(items: Sequence[Any]) -> list[Any]:
    """Best-first items reordered so ranks 1, 3, 5... lead and ..., 4, 2 trail: the best sit at both ends."""
    return list(items[0::2]) + list(items[1::2])[::-1]


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + " …"


def format_source(passage: Source, max_chars: int) -> str:
    """One source as the model reads it: ``Source [PMID]: Title. Text``. Not a numbered list with
    journal and year: a small model (SmolLM2-135M, measured) continues such a list instead of answering."""
    title = _inert(passage.title).strip()
    if title and title[-1] not in ".?!":
        title += "."
    return f"Source [{passage.pmid}]: " + (f"{title} " if title else "") + _cut(_inert(passage.text), max_chars)


def _inert(text: str) -> str:
    """Retrieved text without the prompt's markers (see ``_MARKER``)."""
    return _MARKER.sub(lambda m: m.group(1) or m.group(2), text)


def build_grounded_messages(question: str, passages: Sequence[Source], history: Sequence[dict[str, str]] | None = None,
                            system_prompt: str | None = None, max_chars: int = 600) -> list[dict[str, str]]:
    """Chat messages: system (persona + citation rules), prior turns, then sources and the question.

    ``passages`` come best first (as ``Retriever.search`` returns them). With no passages the
    model is told there are none, so it says it cannot cite rather than inventing PMIDs.
    """
    system = system_prompt if system_prompt is not None else SYSTEM_PROMPT
    ordered = edges_first(list(passages))
    if ordered:
        sources = "\n\n".join(format_source(p, max_chars) for p in ordered)
    else:
        sources = "(no sources were found for this question)"
    user = f"Sources:\n{sources}\n\nQuestion: {question}"
    return [
        {"role": "system", "content": f"{system}\n\n{GROUNDING_RULES}".strip()},
        *[dict(m) for m in history or ()],  # as given: tool calls and tool results included
        {"role": "user", "content": user},
    ]


def grounded_answer(answer: str, pmid: str) -> str:
    """The trained form of an answer drawn from one source: its ``[PMID]`` before the final full stop."""
    text = answer.strip()
    return f"{text[:-1]} [{pmid}]." if text.endswith(".") else f"{text} [{pmid}]"
