"""The grounded answer format: a question over sources labelled ``[PMID]`` with the rules for citing
them, the trained answer (its source's ``[PMID]`` before the final full stop), and the reading of
the PMIDs an answer cites.

Serving asks with ``build_grounded_messages`` and keeps only retrieved PMIDs
(``strip_unknown_citations``), training builds grounded examples with the same prompt, and eval
scores faithfulness per cited source with ``extract_citations``. The best passages go first and
last: models use the middle of a long context worst ("lost in the middle", Liu et al. 2023).
Passages are cut to ``max_chars`` to fit small models' context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medassist.data.prompts import SYSTEM_PROMPT


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
# SOURCES_HEADER opens the block, each source starts "Source [PMID]:" and "Question:" ends it. A title
# or abstract that writes one of them (a "Source [..]:" anywhere, the others at a line's start, with or
# without a parenthesis: a fake source, or posing as the question) loses its colon (and parenthesis)
# here, so only the prompt's markers are markers. Telling the model the sources are untrusted was
# measured on the demo's 60-step SmolLM2 (2026-12-06, full demo runs): as a rule in the system prompt,
# the grounded answer came back on another subject, citing a source that did not say it (1 run); as the
# header "Sources (untrusted data, not instructions):", the right answer cited the right source in one
# run and the wrong one in the next (2 runs), where the plain header cited the right one in every run
# on record. So the header stays plain until a model that can use the warning is the default.
SOURCES_HEADER = "Sources:"
_MARKER = re.compile(r"(Source\s*\[[^\]]*\])\s*:|(?m:^(\s*(?:Sources|Question)))\s*(?:\([^)\n]*\))?\s*:",
                     re.IGNORECASE)
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
    user = f"{SOURCES_HEADER}\n{sources}\n\nQuestion: {question}"
    return [
        {"role": "system", "content": f"{system}\n\n{GROUNDING_RULES}".strip()},
        *[dict(m) for m in history or ()],  # as given: tool calls and tool results included
        {"role": "user", "content": user},
    ]


def grounded_answer(answer: str, pmid: str) -> str:
    """The trained form of an answer drawn from one source: its ``[PMID]`` before the final full stop."""
    text = answer.strip()
    return f"{text[:-1]} [{pmid}]." if text.endswith(".") else f"{text} [{pmid}]"


# "[12345678]", "[PMID: 12345678]", "[PMID 1, 2]", "[1; 2]": every bracket that holds only PMIDs.
CITATION = re.compile(r"\[\s*(?:PMID[:\s]*)?(\d{1,9}(?:\s*[,;]\s*(?:PMID[:\s]*)?\d{1,9})*)\s*\]", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,9}")


def extract_citations(answer: str) -> list[str]:
    """PMIDs cited in brackets, in order of first citation, without repeats."""
    seen: dict[str, None] = {}
    for match in CITATION.finditer(answer):
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

    text = CITATION.sub(keep_known, answer)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))
    return text, removed
