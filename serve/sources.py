"""A request's sources: the PubMed passages retrieved for it (on the retriever's own thread), the
``citations`` it reports, and the filter that keeps only citations of them in the answer (also
while streaming). ``data.answers.citations`` owns the citation format (the grounded prompt, the
parser); this module applies it to one request."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from medassist.data.answers.citations import strip_unknown_citations
from medassist.rag.retriever import Retriever
from medassist.serve.protocol import Citation


class RetrievalService:
    """The rag ``Retriever`` on one dedicated thread (its SQLite store is single-thread)."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medassist-retrieval")
        self._retriever: Any = None

    async def start(self) -> None:
        def load() -> None:
            self._retriever = Retriever.load(self.index_dir)

        await asyncio.get_running_loop().run_in_executor(self._pool, load)

    async def search(self, query: str, k: int, mode: str) -> list[Any]:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: self._retriever.search(query, k=k, mode=mode))

    @property
    def embedding_model(self) -> str:
        """The document encoder's model id, as the index's manifest names it."""
        return self._retriever.embedder.document_model

    async def embed(self, texts: list[str], query: bool = False) -> tuple[np.ndarray, int]:
        """Unit vectors of ``texts`` from the index's own encoders (the vectors retrieval compares), and
        the number of word pieces read."""
        embedder = self._retriever.embedder

        def run() -> tuple[np.ndarray, int]:
            vectors = embedder.embed_queries(texts) if query else embedder.embed_documents(texts, progress=False)
            return vectors, embedder.count_tokens(texts, query)

        return await asyncio.get_running_loop().run_in_executor(self._pool, run)

    async def stop(self) -> None:
        if self._retriever is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._retriever.close)
        self._pool.shutdown(wait=False)


def to_citation(passage: Any, snippet_chars: int = 300) -> Citation:
    text = " ".join(passage.text.split())
    snippet = text if len(text) <= snippet_chars else text[:snippet_chars].rsplit(" ", 1)[0] + "…"
    return Citation(pmid=passage.pmid, title=passage.title, snippet=snippet, score=float(passage.score),
                    year=passage.year)


class CitationFilter:
    """Removes ``[PMID]`` citations of unretrieved sources from streamed text.

    Text after an unclosed ``[`` is held back (up to a short bound) until the bracket closes,
    so a citation split across chunks is still checked, and the result matches filtering the
    whole answer at once.
    """

    HOLD_LIMIT = 48

    def __init__(self, allowed_pmids: set[str]) -> None:
        self.allowed = allowed_pmids
        self.held = ""
        self.removed = 0

    def feed(self, text: str) -> str:
        self.held += text
        cut = self.held.rfind("[")
        if cut != -1 and "]" not in self.held[cut:] and len(self.held) - cut <= self.HOLD_LIMIT:
            ready, self.held = self.held[:cut], self.held[cut:]
        else:
            ready, self.held = self.held, ""
        # trailing blanks wait too: a removed citation may take the space before it along
        kept = ready.rstrip(" \t")
        self.held = ready[len(kept) :] + self.held
        return self._clean(kept)

    def flush(self) -> str:
        ready, self.held = self.held, ""
        return self._clean(ready)

    def _clean(self, text: str) -> str:
        if not text:
            return text
        cleaned, removed = strip_unknown_citations(text, self.allowed)
        self.removed += removed
        return cleaned
