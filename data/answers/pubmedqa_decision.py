"""PubMedQA's decision format: a research question (with its abstract, or without for PubMedQA*),
answered ``yes|no|maybe. <long answer>``, and the decision read back out of free text."""

from __future__ import annotations

import re

PUBMEDQA_DECISIONS = ("yes", "no", "maybe")

_YES_NO_MAYBE = re.compile(r"\b(yes|no|maybe)\b", re.IGNORECASE)
_YNM_EXPLICIT = re.compile(r"(?:answer|decision|conclusion)\s*(?:is|:|-)?\s*[*\"']*(yes|no|maybe)\b", re.I)


def pubmedqa_user_prompt(question: str, context: str | None = None) -> str:
    head = f"Context: {context.strip()}\n" if context else ""
    return f"{head}Question: {question.strip()}\nAnswer yes, no or maybe, then explain briefly."


def pubmedqa_answer(decision: str, long_answer: str) -> str:
    """The trained answer form: the decision first, then the study's conclusion."""
    return f"{decision}. {long_answer.strip()}".strip()


def extract_yes_no_maybe(text: str) -> str | None:
    """PubMedQA's label from an answer: an explicit "Answer: no" first, else the first yes/no/maybe."""
    match = _YNM_EXPLICIT.search(text) or _YES_NO_MAYBE.search(text)
    return match.group(1).lower() if match else None
