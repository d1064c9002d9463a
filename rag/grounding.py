"""Citation checks on a grounded answer: which PMIDs it cites, and dropping the ones not retrieved.

The grounded prompt itself (sources labelled ``[PMID]``, the rules for citing them) is
``medassist.data.prompts.build_grounded_messages``: training builds grounded examples with it too.
The serve part checks each answer with ``extract_citations`` / ``strip_unknown_citations`` so a
cited PMID is always a retrieved one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# "[12345678]", "[PMID: 12345678]", "[PMID 1, 2]", "[1; 2]": every bracket that holds only PMIDs.
_BRACKET = re.compile(r"\[\s*(?:PMID[:\s]*)?(\d{1,9}(?:\s*[,;]\s*(?:PMID[:\s]*)?\d{1,9})*)\s*\]", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,9}")


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
