"""Reading answers out of free-text model output: the parsers of the answer formats that
``prompts.py`` asks for, in one place, so the training probes (``sft/callbacks.py``) and the eval
suites (``eval/scoring.py``) score the same text the same way.

Models rarely answer with a bare letter: they write "Answer: C", "(C) Ceftriaxone", "the answer
is c." or just restate the option. Extraction tries the explicit patterns first, then a leading
letter, then a unique option-text match; anything else is ``None`` (counted wrong and reported
as unparseable, never guessed).
"""

from __future__ import annotations

import re

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
_WORD = re.compile(r"[^a-z0-9]+")


def _norm(text: str) -> str:
    return " ".join(_WORD.split(text.lower())).strip()


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
    said = f" {_norm(text)} "
    hits = {k.upper(): _norm(v) for k, v in options.items() if _norm(v) and f" {_norm(v)} " in said}
    if not hits:
        return None
    longest = max(hits.values(), key=len)
    winners = [k for k, v in hits.items() if v == longest]
    if len(winners) != 1 or any(v not in longest for v in hits.values()):
        return None
    return winners[0]


_YES_NO_MAYBE = re.compile(r"\b(yes|no|maybe)\b", re.IGNORECASE)
_YNM_EXPLICIT = re.compile(r"(?:answer|decision|conclusion)\s*(?:is|:|-)?\s*[*\"']*(yes|no|maybe)\b", re.I)


def extract_yes_no_maybe(text: str) -> str | None:
    """PubMedQA's label from an answer: an explicit "Answer: no" first, else the first yes/no/maybe."""
    match = _YNM_EXPLICIT.search(text) or _YES_NO_MAYBE.search(text)
    return match.group(1).lower() if match else None
