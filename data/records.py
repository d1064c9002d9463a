"""Plain records every loader returns, whatever the source layout.

Keeping one record type per task (multiple choice, PubMedQA, DDXPlus case, abstract, custom)
means builders, retrieval and evaluation never look at a dataset's original field names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class MCQItem:
    """A multiple-choice question (MedQA with 4 or 5 options, MedMCQA with 4)."""

    id: str
    question: str
    options: dict[str, str]
    answer_idx: str
    answer: str
    meta_info: str | None = None
    source: str = "medqa"


@dataclass
class PubMedQAItem:
    pmid: str
    question: str
    contexts: list[str]
    labels: list[str]
    meshes: list[str]
    year: str | None
    final_decision: str
    long_answer: str


@dataclass
class DDXPatient:
    """One DDXPlus patient; ``evidences`` keeps the raw tokens (``E_55_@_V_89``), the KB decodes them."""

    id: str
    age: int
    sex: str
    pathology: str
    differential: list[tuple[str, float]]
    evidences: list[str]
    initial_evidence: str


@dataclass
class Abstract:
    pmid: str
    title: str
    abstract: str
    year: int | None = None
    journal: str | None = None
    mesh: list[str] = field(default_factory=list)


@dataclass
class CustomItem:
    """A user's own example: either ``text`` + ``label`` (classification) or chat ``messages``."""

    id: str
    text: str | None = None
    label: str | None = None
    messages: list[dict[str, str]] | None = None


def to_dict(record: Any) -> dict[str, Any]:
    return asdict(record)


def to_dataset(records: list[Any]) -> Any:
    """Records as a ``datasets.Dataset`` (differential pairs become ``{"condition", "probability"}``)."""
    from datasets import Dataset

    rows = []
    for record in records:
        row = asdict(record)
        if isinstance(record, DDXPatient):
            row["differential"] = [{"condition": c, "probability": p} for c, p in record.differential]
        rows.append(row)
    return Dataset.from_list(rows)
