"""The grounded prompt: numbered sources labelled ``[PMID]``, and the rules for citing them.

The best passages go first and last: models use the middle of a long context worst ("lost in the
middle", Liu et al. 2023). Passages are cut to ``max_chars`` because the embedded tiny model has
only ~512-1024 tokens of context. The serve part checks the answer's citations with
``extract_citations`` / ``strip_unknown_citations`` so a cited PMID is always a retrieved one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

GROUNDING_RULES = (
    "Answer using only the numbered sources below. Cite each claim with the source's PMID in square "
    "brackets, e.g. [12345678]. If the sources do not answer the question, say so plainly instead of guessing."
)

# "[12345678]", "[PMID: 12345678]", "[PMID 1, 2]", "[1; 2]": every bracket that holds only PMIDs.
_BRACKET = re.compile(r"\[\s*(?:PMID[:\s]*)?(\d{1,9}(?:\s*[,;]\s*(?:PMID[:\s]*)?\d{1,9})*)\s*\]", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,9}")


def default_system_prompt() -> str:
    from medassist.data.prompts import SYSTEM_PROMPT

    return SYSTEM_PROMPT


def edges_first(items: Sequence[Any]) -> list[Any]:
    """Best-first items reordered so ranks 1, 3, 5... lead and ..., 4, 2 trail: the best sit at both ends."""
    return list(items[0::2]) + list(items[1::2])[::-1]


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + " …"


def format_source(number: int, passage: Any, max_chars: int) -> str:
    about = ", ".join(str(x) for x in (passage.journal, passage.year) if x)
    head = f"{number}. [{passage.pmid}]" + (f" {passage.title}" if passage.title else "")
    head += f" ({about})" if about else ""
    return f"{head}\n{_cut(passage.text, max_chars)}"


def build_grounded_messages(question: str, passages: Sequence[Any], history: Sequence[dict[str, str]] | None = None,
                            system_prompt: str | None = None, max_chars: int = 600) -> list[dict[str, str]]:
    """Chat messages: system (persona + citation rules), prior turns, then sources and the question.

    ``passages`` come best first (as ``Retriever.search`` returns them). With no passages the
    model is told there are none, so it says it cannot cite rather than inventing PMIDs.
    """
    system = system_prompt if system_prompt is not None else default_system_prompt()
    ordered = edges_first(list(passages))
    if ordered:
        sources = "\n\n".join(format_source(i, p, max_chars) for i, p in enumerate(ordered, start=1))
    else:
        sources = "(no sources were found for this question)"
    user = f"Sources:\n{sources}\n\nQuestion: {question}"
    return [
        {"role": "system", "content": f"{system}\n\n{GROUNDING_RULES}".strip()},
        *[{"role": m["role"], "content": m["content"]} for m in history or ()],
        {"role": "user", "content": user},
    ]


def extract_citations(answer: str) -> list[str]:
    """PMIDs cited in brackets, in order of first citation, without repeats."""
    seen: dict[str, None] = {}
    for match in _BRACKET.finditer(answer):
        seen.update(dict.fromkeys(_NUMBER.findall(match.group(1))))
    return list(seen)


def strip_unknown_citations(answer: str, allowed_pmids: Sequence[str]) -> tuple[str, int]:
    """Drop cited PMIDs that were not among the sources; returns the text and how many were dropped."""
    allowed = set(map(str, allowed_pmids))
    removed = 0

    def keep_known(match: re.Match[str]) -> str:
        nonlocal removed
        pmids = _NUMBER.findall(match.group(1))
        known = [p for p in pmids if p in allowed]
        removed += len(pmids) - len(known)
        return f"[{', '.join(known)}]" if known else ""

    text = _BRACKET.sub(keep_known, answer)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))
    return text, removed
