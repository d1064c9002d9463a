"""Dense, BM25 and hybrid (reciprocal-rank fusion) search over an index directory.

Each retriever proposes ``candidates`` chunks; chunks of one PMID collapse to the best-ranked one
(an article should appear once among the sources); hybrid scores an article by
``sum(1 / (rrf_k + rank))`` over both rankings, the fusion MedRAG found best for PubMed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from medassist.errors import MedassistError
from medassist.rag.bm25 import BM25Index, FTS5Index
from medassist.rag.config import Mode, RagConfig
from medassist.rag.embed import Embedder
from medassist.rag.index import configure_search
from medassist.rag.sharded import load_faiss
from medassist.rag.shards import pmid_of
from medassist.rag.store import BM25_DIR, CHUNKS_FILE, FAISS_FILE, model_config, read_manifest

MODES = ("dense", "bm25", "hybrid")


@dataclass
class Passage:
    pmid: str
    title: str
    text: str
    year: int | None
    journal: str | None
    score: float
    chunk: int
    mesh: tuple[str, ...] = ()


class PmidOfId(Mapping[int, str]):
    """Chunk id -> PMID by arithmetic (sharded indexes: id = int(pmid) * 1024 + chunk)."""

    def __getitem__(self, chunk_id: int) -> str:
        return pmid_of(chunk_id)

    def __iter__(self) -> Iterator[int]:
        raise TypeError("the ids of a sharded index are not enumerated in memory")

    def __len__(self) -> int:
        raise TypeError("the ids of a sharded index are not counted in memory")


def best_chunk_per_pmid(ids: np.ndarray, scores: np.ndarray, pmids: Mapping[int, str]) -> dict[str, tuple[int, float]]:
    """PMID -> (chunk id, score) of its best chunk, in ranking order."""
    ranked: dict[str, tuple[int, float]] = {}
    for chunk_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if chunk_id >= 0:
            ranked.setdefault(pmids[chunk_id], (chunk_id, float(score)))
    return ranked


def reciprocal_rank_fusion(rankings: list[dict[str, tuple[int, float]]], rrf_k: int) -> dict[str, tuple[int, float]]:
    """PMID -> (chunk of its best appearance, fused score), best first."""
    fused: dict[str, float] = {}
    best: dict[str, tuple[int, int]] = {}  # pmid -> (rank, chunk id)
    for ranking in rankings:
        for rank, (pmid, (chunk_id, _)) in enumerate(ranking.items(), start=1):
            fused[pmid] = fused.get(pmid, 0.0) + 1.0 / (rrf_k + rank)
            if pmid not in best or rank < best[pmid][0]:
                best[pmid] = (rank, chunk_id)
    order = sorted(fused, key=fused.__getitem__, reverse=True)
    return {pmid: (best[pmid][1], fused[pmid]) for pmid in order}


class Retriever:
    """``Retriever.load(index_dir).search("question", k=5, mode="hybrid") -> list[Passage]``."""

    def __init__(self, index_dir: Path, manifest: dict[str, Any], config: RagConfig, embedder: Embedder) -> None:
        import faiss

        self.index_dir = index_dir
        self.manifest = manifest
        self.config = config
        self.embedder = embedder
        faiss.omp_set_num_threads(config.search_threads)  # process-wide: FAISS has no per-index setting
        self.db = sqlite3.connect(index_dir / CHUNKS_FILE, check_same_thread=False)
        self.bm25: BM25Index | FTS5Index
        self.pmids: Mapping[int, str]
        if manifest.get("layout") == "sharded":  # PubMed scale: nothing per chunk is held in memory
            self.index = load_faiss(index_dir, self.db, config)
            self.bm25 = FTS5Index(self.db)
            self.pmids = PmidOfId()
        else:
            self.index = configure_search(faiss.read_index(str(index_dir / FAISS_FILE)), config)
            self.bm25 = BM25Index(index_dir / BM25_DIR)
            self.pmids = dict(self.db.execute("SELECT id, pmid FROM chunks"))
        # Hybrid search and follow-up turns embed the same text again; a query embedding costs ~25 ms.
        # (``embed_query.cache_clear()`` to time embedding, as the benchmark does.)
        self.embed_query = lru_cache(maxsize=256)(embedder.embed_query)

    @classmethod
    def load(cls, index_dir: str | Path, config: RagConfig | None = None, embedding_model: str | None = None,
             query_model: str | None = None) -> Retriever:
        """Open an index; naming an ``embedding_model``/``query_model`` other than the index's is an error."""
        index_dir = Path(index_dir)
        manifest = read_manifest(index_dir)
        config = model_config(manifest, config or RagConfig(), embedding_model, query_model)
        # Queries are never cached: only the document side of the embedder uses the cache.
        embedder = Embedder(replace(config, embedding_cache=""))
        return cls(index_dir, manifest, config, embedder)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _dense(self, query: str, n: int) -> dict[str, tuple[int, float]]:
        vector = self.embed_query(query)
        if vector.shape[0] != self.index.d:
            raise MedassistError(
                f"query model {self.embedder.query_model!r} gives {vector.shape[0]}-d vectors but the index holds "
                f"{self.index.d}-d vectors"
            )
        scores, ids = self.index.search(vector[None, :], min(n, len(self)))
        return best_chunk_per_pmid(ids[0], scores[0], self.pmids)

    def _bm25(self, query: str, n: int) -> dict[str, tuple[int, float]]:
        ids, scores = self.bm25.search(query, n)
        return best_chunk_per_pmid(ids, scores, self.pmids)

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[Passage]:
        if mode not in MODES:
            raise MedassistError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if not query.strip():
            raise MedassistError("empty query: expected a question or keywords")
        n = max(self.config.candidates, 4 * k)
        if mode == "dense":
            ranked = self._dense(query, n)
        elif mode == "bm25":
            ranked = self._bm25(query, n)
        else:
            ranked = reciprocal_rank_fusion([self._dense(query, n), self._bm25(query, n)], self.config.rrf_k)
        top = list(ranked.items())[:k]
        return [self._passage(chunk_id, score) for _, (chunk_id, score) in top]

    def _passage(self, chunk_id: int, score: float) -> Passage:
        pmid, chunk, title, text, year, journal, mesh = self.db.execute(
            "SELECT pmid, chunk, title, text, year, journal, mesh FROM chunks WHERE id = ?", (chunk_id,)
        ).fetchone()
        return Passage(pmid, title, text, year, journal, round(score, 6), chunk, tuple(json.loads(mesh)))

    def close(self) -> None:
        self.db.close()
