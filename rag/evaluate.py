"""Retrieval quality on PubMedQA: does a question find the abstract it was written from?

PubMedQA questions are rephrased titles, and ``iter_pubmed`` uses the question as the title of an
``ori_pqal.json`` record; indexing that would let every question match itself. ``pubmedqa_abstracts``
therefore keeps only the abstract body (contexts + conclusion), as a title-less PubMed record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from medassist.data import Abstract, PubMedQAItem


def pubmedqa_abstracts(items: Sequence[PubMedQAItem]) -> list[Abstract]:
    return [
        Abstract(pmid=i.pmid, title="", abstract=" ".join([*i.contexts, i.long_answer]).strip(),
                 year=int(i.year) if i.year and i.year.isdigit() else None, journal=None, mesh=list(i.meshes))
        for i in items
    ]


def recall_metrics(retriever: Any, items: Sequence[PubMedQAItem], mode: str, k: int = 10) -> dict[str, float]:
    """recall@1, recall@k and MRR@k of each item's own PMID, plus the median query time."""
    retriever.embed_query.cache_clear()  # each mode pays for its own query embeddings
    ranks: list[int | None] = []
    seconds: list[float] = []
    for item in items:
        started = time.perf_counter()
        pmids = [p.pmid for p in retriever.search(item.question, k=k, mode=mode)]
        seconds.append(time.perf_counter() - started)
        ranks.append(pmids.index(item.pmid) + 1 if item.pmid in pmids else None)
    n = max(1, len(ranks))
    return {
        "recall_at_1": sum(r == 1 for r in ranks) / n,
        f"recall_at_{k}": sum(r is not None for r in ranks) / n,
        f"mrr_at_{k}": sum(1 / r for r in ranks if r) / n,
        "query_p50_ms": round(1000 * sorted(seconds)[len(seconds) // 2], 2) if seconds else 0.0,
    }
