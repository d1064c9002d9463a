"""BM25 over the same chunks as the dense index: bm25s (``<index>/bm25/``) or SQLite FTS5.

Lexical matching catches what small embedding models miss (drug names, gene symbols, rare
terms); MedRAG found BM25 fused with dense retrieval best for PubMed. bm25s stores a sparse
score matrix in memory: fast, but rebuilt from every chunk text whenever documents are added, and
tens of GB for all of PubMed. Sharded (PubMed) indexes use FTS5 inside ``chunks.sqlite`` instead:
on disk, changed in the same transaction as the metadata, its BM25 ranking computed by SQLite per
query (slower on terms that match millions of chunks; measured in bench/bench_pubmed.py).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np

STOPWORDS = "en"


def build_bm25(texts: list[str], out_dir: Path, progress: bool = True) -> None:
    import bm25s

    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords=STOPWORDS, show_progress=progress), show_progress=progress)
    model.save(out_dir, show_progress=False)


class BM25Index:
    def __init__(self, index_dir: Path) -> None:
        import bm25s

        self.model = bm25s.BM25.load(index_dir, show_progress=False)
        self.size = int(self.model.scores["num_docs"])

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and scores, best first; chunks sharing no term with the query are left out."""
        import bm25s

        tokens = bm25s.tokenize([query], stopwords=STOPWORDS, return_ids=False, show_progress=False)
        if not any(t in self.model.vocab_dict for t in tokens[0]):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids, scores = self.model.retrieve(tokens, k=min(k, self.size), show_progress=False)
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep]


class FTS5Index:
    """BM25 from the ``chunks_fts`` table of a sharded index (``rag/sharded.py``); same tokens as bm25s:
    lower-cased words, English stop words dropped, any of them may match."""

    def __init__(self, db: sqlite3.Connection) -> None:
        from bm25s.stopwords import STOPWORDS_EN

        self.db = db
        self.stopwords = set(STOPWORDS_EN)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        terms = sorted({t for t in re.findall(r"\w+", query.lower()) if t not in self.stopwords})
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = self.db.execute(
            "SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts)"
            " LIMIT ?", (" OR ".join(f'"{t}"' for t in terms), k)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.array([r[1] for r in rows], dtype=np.float32)
