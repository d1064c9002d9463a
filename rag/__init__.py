"""medassist.rag: PubMed retrieval (FAISS + BM25 hybrid) and the grounded prompt.

Public API: ``Retriever.load(index_dir).search(query, k=5, mode="hybrid") -> list[Passage]``,
``build_grounded_messages``, ``extract_citations``, ``strip_unknown_citations``, and
``store.build`` / ``store.add`` for indexing. Names resolve lazily so ``medassist rag --help`` and
the grounding helpers do not import torch or FAISS.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Passage": "medassist.rag.retriever",
    "Retriever": "medassist.rag.retriever",
    "RagConfig": "medassist.rag.config",
    "build_grounded_messages": "medassist.data.answers.citations",
    "extract_citations": "medassist.data.answers.citations",
    "strip_unknown_citations": "medassist.data.answers.citations",
    "MedassistRetriever": "medassist.rag.langchain",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'medassist.rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
