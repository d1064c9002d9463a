"""Text normalisation, duplicate removal and decontamination.

Near-duplicates and contamination are found with word n-gram sets (shingles) of a normalised
form of the text (NFKC, lower case, accents and punctuation removed), without MinHash: an
inverted index from shingle to items proposes candidates, then exact set overlap decides.

- duplicates: Jaccard(shingles) >= ``threshold`` (default 0.8, 5-word shingles);
- contamination: a training item whose shingles overlap an evaluation item's by at least
  ``threshold`` of the smaller set (default 0.5, 8-word shingles) is dropped, so an eval question
  copied verbatim, lightly edited, or embedded in a longer training text is caught while shared
  boilerplate ("which of the following is the most likely diagnosis") is not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from medassist.data.records import Abstract, CustomItem, DDXPatient, MCQItem, PubMedQAItem

T = TypeVar("T")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u2060\ufeff\u00ad]")
_NON_WORD = re.compile(r"[\W_]+")  # underscores too: "acute_bronchitis" reads as two words
# A shingle shared by more items than this is boilerplate: it never proposes candidates.
_MAX_POSTING = 20


def normalise_whitespace(text: str) -> str:
    """NFKC (full-width forms, ligatures, non-breaking spaces), invisible characters removed,
    runs of whitespace collapsed. Keeps case and punctuation: this is what training sees."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.split())


def comparison_key(text: str) -> str:
    """Lower case, accents and punctuation removed: the one normal form texts are compared in (two
    texts with the same key are duplicates, a condition name matches the DDXPlus names, an answer
    restates an MCQ option)."""
    text = normalise_whitespace(text)
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = comparison_key(text).split()
    if len(words) <= n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def item_text(item: Any) -> str:
    """The text that identifies an item for dedup/decontamination: a question, a case, a user turn."""
    if isinstance(item, MCQItem | PubMedQAItem):
        return item.question
    if isinstance(item, Abstract):
        return f"{item.title} {item.abstract}"
    if isinstance(item, CustomItem):
        return item.text or " ".join(m["content"] for m in item.messages or [] if m["role"] == "user")
    if isinstance(item, DDXPatient):
        # one word per evidence ("E_55_@_V_1" -> "e55 v1"): comparison_key splits at underscores, and
        # split into "e 55 v 1" the codes' shingles are shared by unrelated patients (bench, 2026-12-06:
        # 32% of the shared subset's training patients were dropped as near duplicates of held-out ones)
        codes = " ".join(sorted(code.replace("_", "") for code in item.evidences))
        return f"{item.age} {item.sex} {item.pathology} {codes}"
    if isinstance(item, dict) and "messages" in item:
        return " ".join(m["content"] for m in item["messages"] if m["role"] == "user")
    if isinstance(item, str):
        return item
    raise TypeError(f"cannot take the text of {type(item).__name__}")


class _Index:
    """Inverted index shingle -> item numbers, for candidate lookup."""

    def __init__(self) -> None:
        self.postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self.sets: list[set[tuple[str, ...]]] = []

    def add(self, grams: set[tuple[str, ...]]) -> None:
        for gram in grams:
            self.postings[gram].append(len(self.sets))
        self.sets.append(grams)

    def candidates(self, grams: set[tuple[str, ...]]) -> Counter[int]:
        """Items sharing a non-boilerplate shingle, with how many such shingles they share."""
        found: Counter[int] = Counter()
        for gram in grams:
            posting = self.postings.get(gram)
            if posting and len(posting) <= _MAX_POSTING:
                found.update(posting)
        return found


@dataclass
class DedupReport:
    kept: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    examples: list[tuple[int, int]] = field(default_factory=list)  # (dropped index, kept index), first few


def deduplicate(items: Sequence[T], text: Callable[[T], str] = item_text, threshold: float = 0.8,
                n: int = 5) -> tuple[list[T], DedupReport]:
    """Keep the first of each group of exact (same comparison key) or near duplicates."""
    report = DedupReport()
    seen_keys: dict[str, int] = {}
    index = _Index()
    kept_positions: list[int] = []
    kept: list[T] = []
    for position, item in enumerate(items):
        raw = text(item)
        key = comparison_key(raw)
        if key in seen_keys:
            report.exact_duplicates += 1
            if len(report.examples) < 20:
                report.examples.append((position, seen_keys[key]))
            continue
        grams = shingles(raw, n)
        match = next((c for c, hits in index.candidates(grams).most_common()
                      if hits >= min(3, len(grams)) and _size_ratio(grams, index.sets[c]) >= threshold
                      and _jaccard(grams, index.sets[c]) >= threshold), None)
        if match is not None:
            report.near_duplicates += 1
            if len(report.examples) < 20:
                report.examples.append((position, kept_positions[match]))
            continue
        seen_keys[key] = position
        index.add(grams)
        kept_positions.append(position)
        kept.append(item)
    report.kept = len(kept)
    return kept, report


def _size_ratio(a: set, b: set) -> float:
    """An upper bound of the Jaccard index, cheap enough to filter candidates first."""
    return min(len(a), len(b)) / max(len(a), len(b), 1)


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class DecontaminationReport:
    checked: int = 0
    removed: int = 0
    eval_items: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)  # first few: train/eval position, overlap


def decontaminate(train: Sequence[T], evaluation: Sequence[Any], text: Callable[[Any], str] = item_text,
                  threshold: float = 0.5, n: int = 8, min_shared: int = 10,
                  ) -> tuple[list[T], DecontaminationReport]:
    """Drop training items that overlap any evaluation item (see the module docstring).

    ``min_shared`` shingles must be shared as well (10 8-grams = a 17-word passage), so a short
    generic sentence ("Which of the following is most likely ...") is not contamination.
    """
    index = _Index()
    for item in evaluation:
        index.add(shingles(text(item), n))
    report = DecontaminationReport(checked=len(train), eval_items=len(evaluation))
    kept: list[T] = []
    for position, item in enumerate(train):
        grams = shingles(text(item), n)
        best, best_score = None, 0.0
        for candidate in index.candidates(grams):
            other = index.sets[candidate]
            shared = len(grams & other)
            score = shared / max(1, min(len(grams), len(other)))
            if shared >= min(min_shared, len(other)) and score > best_score:
                best, best_score = candidate, score
        if best is not None and best_score >= threshold:
            report.removed += 1
            if len(report.matches) < 20:
                report.matches.append({"train": position, "eval": best, "overlap": round(best_score, 3)})
            continue
        kept.append(item)
    return kept, report
