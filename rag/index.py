"""The FAISS index, chosen by corpus size, and what each choice costs in memory.

All vectors are L2-normalised, so every index uses inner product (= cosine similarity).
Memory per vector, d = embedding dimension (384 for MiniLM, 768 for MedCPT), ids are positions:

* ``flat`` — ``IndexFlatIP``: ``4·d`` bytes (1,536 B at d=384). Exact; one query scans every
  vector (memory-bound: ~150 MB read per query at 100k vectors), so auto uses it up to 20k chunks.
* ``hnsw`` — ``IndexHNSWFlat(M)``: ``4·d + ~2·M·4·1.05`` bytes (about 1,810 B at d=384, M=32):
  the raw vectors plus the level-0 graph links. Sub-millisecond, recall@10 ≈ 0.99 at efSearch 128,
  but it keeps full vectors: 36M PubMed abstracts would need ~65 GB (d=384) / ~120 GB (d=768).
* ``ivfpq`` — ``IVF{nlist},PQ{m},Refine(SQ8)``: an ``m``-byte PQ code + 8-byte id per vector finds a
  shortlist of ``k·refine_k_factor``, re-ranked with 8-bit scalar codes (``d`` bytes), plus the
  coarse centroids (``nlist·d·4`` bytes, 50 MB at nlist=32k). At d=384, m=48: 440 B/vector, so 36M
  abstracts need ~16 GB; without the refine step (``pq_refine: ""``) 56 B/vector, ~2 GB, at a recall
  cost. The choice for full PubMed; recall vs exact is measured by ``bench/bench_rag.py``.

``auto`` picks flat up to ``flat_max`` vectors, HNSW up to ``hnsw_max``, IVF-PQ above.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Any

import numpy as np

from medassist.errors import MedassistError
from medassist.rag.config import RagConfig

log = logging.getLogger(__name__)

ID_BYTES = 8
REFINE_BYTES_PER_DIM = {"": 0, "SQ4": 0.5, "SQ8": 1, "SQfp16": 2, "Flat": 4}


def choose_kind(count: int, config: RagConfig) -> str:
    if config.index != "auto":
        return config.index
    if count <= config.flat_max:
        return "flat"
    return "hnsw" if count <= config.hnsw_max else "ivfpq"


def ivf_nlist(count: int, config: RagConfig) -> int:
    """About 4·sqrt(n) lists (a power of two), with at least 39 training points per list."""
    if config.ivf_nlist:
        return config.ivf_nlist
    target = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(count))))
    return max(1, min(target, count // 39))


def bytes_per_vector(kind: str, dim: int, config: RagConfig) -> float:
    """Steady-state memory of one vector in the index (the table in this module's docstring)."""
    if kind == "flat":
        return 4 * dim
    if kind == "hnsw":
        return 4 * dim + 2 * config.hnsw_m * 4 * 1.05
    if kind == "ivfpq":
        return config.pq_m + ID_BYTES + REFINE_BYTES_PER_DIM[config.pq_refine] * dim
    raise MedassistError(f"unknown index kind {kind!r}; expected flat, hnsw or ivfpq")


def new_index(kind: str, dim: int, count: int, config: RagConfig) -> Any:
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        return index
    if kind == "ivfpq":
        if dim % config.pq_m:
            raise MedassistError(f"config pq_m={config.pq_m} must divide the embedding dimension {dim}")
        if count < 1000:
            raise MedassistError(f"index ivfpq needs at least 1,000 vectors to train, got {count}; use flat")
        if config.pq_refine not in REFINE_BYTES_PER_DIM:
            raise MedassistError(f"config pq_refine={config.pq_refine!r}: expected one of {list(REFINE_BYTES_PER_DIM)}")
        spec = f"IVF{ivf_nlist(count, config)},PQ{config.pq_m}"
        spec += f",Refine({config.pq_refine})" if config.pq_refine else ""
        return faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    raise MedassistError(f"unknown index kind {kind!r}; expected auto, flat, hnsw or ivfpq")


def new_id_index(kind: str, dim: int, count: int, config: RagConfig) -> Any:
    """An index keyed by the caller's ids (``add_with_ids``), for the sharded PubMed layout.

    Flat and HNSW are wrapped in ``IndexIDMap2``; IVF-PQ stores ids itself and supports
    ``remove_ids``, so updates can replace vectors in place. Not possible with ``IndexRefine``
    (its re-ranking codes are addressed by position), hence IVF-PQ without the SQ8 re-rank here:
    m + 8 bytes per vector.
    """
    import faiss

    if kind == "ivfpq":
        if config.pq_refine:
            log.info("sharded ivfpq: pq_refine %r is not used (IndexRefine cannot remove or re-id vectors)",
                     config.pq_refine)
        return new_index(kind, dim, count, replace(config, pq_refine=""))
    return faiss.IndexIDMap2(new_index(kind, dim, count, config))


def configure_search(index: Any, config: RagConfig) -> Any:
    """Search-time knobs are not all persisted by ``write_index``; set them from the config on load."""
    import faiss

    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if hasattr(inner, "hnsw"):
        inner.hnsw.efSearch = config.hnsw_ef_search
    if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
        faiss.downcast_index(index).k_factor = config.refine_k_factor
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = min(config.ivf_nprobe, ivf.nlist)
    return index


def build_index(vectors: np.ndarray, config: RagConfig) -> Any:
    kind = choose_kind(len(vectors), config)
    index = new_index(kind, vectors.shape[1], len(vectors), config)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return configure_search(index, config)

