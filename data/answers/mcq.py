"""The multiple-choice format (MedQA, MedMCQA): the question with lettered options, the trained
answer ``Answer: C. <option text>``, and the reading of a free-text answer.

Models rarely answer with a bare letter: they write "Answer: C", "(C) Ceftriaxone", "the answer
is c." or just restate the option. Extraction tries the explicit patterns first, then a leading
letter, then a unique option-text match; anything else is ``None`` (counted wrong and reported
as unparseable, never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from medassist.data.clean import comparison_key

# "Answer: C", "the answer is (c).", "correct option is C", "Final answer - **B**"
_EXPLICIT = re.compile(
    r"(?:answer|option|choice)\s*(?:is|would be|:|-|=)?\s*(?:option\s+|choice\s+)?"
    r"[*\"'(\[]*\s*(?P<letter>[A-Za-z])\s*[*\"')\]]*(?=$|[\s.,:;)!])",
    re.IGNORECASE,
)
# "C", "C.", "(C)", "C) Ceftriaxone", "**C**: ..." at the very start
# (not "A 45-year-old man ...": a bare leading letter must be bracketed, punctuated or alone)
_LEADING = re.compile(
    r"^\s*\**\s*(?:[(\[]\s*(?P<bracketed>[A-Z])\s*[)\]]|(?P<bare>[A-Z])\**\s*(?:$|[.:)\-,]|\n))"
)
# a lone "(C)" anywhere
_PAREN = re.compile(r"\((?P<letter>[A-Z])\)")


def mcq_user_prompt(question: str, options: Mapping[str, str]) -> str:
    lines = [question.strip(), *(f"{key}. {text}" for key, text in options.items())]
    return "\n".join(lines) + "\nAnswer with the letter and text of the best option."


def mcq_answer(letter: str, text: str) -> str:
    """The trained answer form, e.g. ``Answer: C. Right coronary artery``."""
    return f"Answer: {letter}. {text}"


def _valid(match: re.Match, letters: set[str], text: str) -> str | None:
    """A letter counts if it is an option; a lower-case "a" only when not an English article."""
    letter = match.group("letter")
    if letter.upper() not in letters:
        return None
    if letter.islower():
        rest = text[match.end("letter"):].lstrip(" *\"')]")
        if letter == "a" and rest[:1].isalpha():  # "the answer is a bacterial infection"
            return None
    return letter.upper()


def extract_choice(text: str, options: dict[str, str]) -> str | None:
    """The option letter a free-text answer picks, or ``None`` when it cannot be told."""
    letters = {k.upper() for k in options}
    text = text.strip()
    if not text:
        return None
    for match in _EXPLICIT.finditer(text):
        if (letter := _valid(match, letters, text)) is not None:
            return letter
    leading = _LEADING.match(text)
    if leading and (letter := leading.group("bracketed") or leading.group("bare")) in letters:
        return letter
    parens = {m.group("letter") for m in _PAREN.finditer(text)} & letters
    if len(parens) == 1:
        return parens.pop()
    return _match_option_text(text, options)


def _match_option_text(text: str, options: dict[str, str]) -> str | None:
    """The option whose text appears in the answer; the longest wins when one contains another."""
    said = f" {comparison_key(text)} "
    keys = {k.upper(): comparison_key(v) for k, v in options.items()}
    hits = {k: v for k, v in keys.items() if v and f" {v} " in said}
    if not hits:
        return None
    longest = max(hits.values(), key=len)
    winners = [k for k, v in hits.items() if v == longest]
    if len(winners) != 1 or any(v not in longest for v in hits.values()):
        return None
    return winners[0]


def mcq_correct(text: str, options: dict[str, str], answer_idx: str) -> bool:
    """Whether an answer picks the right letter: the training probe's and the eval suite's one test."""
    return extract_choice(text, options) == answer_idx
