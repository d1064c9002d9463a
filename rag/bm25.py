"""BM25 over the same chunks as the dense index (``bm25s``, saved in ``<index>/bm25/``).

Lexical matching catches what small embedding models miss (drug names, gene symbols, rare
terms); MedRAG found BM25 fused with dense retrieval best for PubMed. bm25s stores a sparse
score matrix, so it is rebuilt from the chunk texts whenever documents are added.
"""

from __future__ import annotations

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
