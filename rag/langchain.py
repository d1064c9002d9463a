"""``MedassistRetriever``: the retriever as a LangChain ``BaseRetriever`` (``.invoke(query)`` -> Documents)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from medassist.rag.config import Mode
from medassist.rag.retriever import Retriever


class MedassistRetriever(BaseRetriever):
    """Each Document's ``page_content`` is the passage text; PMID, title, year, journal, score in metadata."""

    retriever: Any  # a medassist.rag.Retriever (pydantic cannot validate its FAISS/SQLite handles)
    k: int = 5
    mode: Mode = "hybrid"

    @classmethod
    def from_index(cls, index_dir: str, **kwargs: Any) -> MedassistRetriever:
        return cls(retriever=Retriever.load(index_dir), **kwargs)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(
                page_content=p.text,
                metadata={"pmid": p.pmid, "title": p.title, "year": p.year, "journal": p.journal,
                          "score": p.score, "chunk": p.chunk},
            )
            for p in self.retriever.search(query, k=self.k, mode=self.mode)
        ]
