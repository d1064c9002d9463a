"""FAISS index kinds on synthetic vectors: the size-based choice, persistence, recall against exact search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medassist.errors import MedassistError
from medassist.rag.config import RagConfig
from medassist.rag.index import build_index, bytes_per_vector, choose_kind, configure_search

DIM = 64


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    """Clustered unit vectors near an 8-d manifold, like sentence embeddings (not isotropic noise)."""
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((50, 8))[rng.integers(0, 50, 2100)] + 0.3 * rng.standard_normal((2100, 8))
    x = (latent @ rng.standard_normal((8, DIM)) + 0.05 * rng.standard_normal((2100, DIM))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_choice_by_size():
    config = RagConfig(flat_max=10, hnsw_max=100)
    assert [choose_kind(n, config) for n in (10, 11, 100, 101)] == ["flat", "hnsw", "hnsw", "ivfpq"]
    assert choose_kind(5, dataclasses.replace(config, index="hnsw")) == "hnsw"


@pytest.mark.parametrize(("kind", "min_recall"), [("hnsw", 0.95), ("ivfpq", 0.9)])
def test_approximate_kinds_recall_and_round_trip(vectors, tmp_path, kind, min_recall):
    import faiss

    # Small enough that k-means (IVF lists, 4 PQ codebooks of 256: FAISS spends ~1.6 s on each here) trains in seconds.
    config = RagConfig(index=kind, pq_m=4, ivf_nlist=16, ivf_nprobe=8)
    base, queries = vectors[:2000], vectors[2000:2100]
    _, exact = build_index(base, dataclasses.replace(config, index="flat")).search(queries, 10)
    faiss.write_index(build_index(base, config), str(tmp_path / "x.index"))
    index = configure_search(faiss.read_index(str(tmp_path / "x.index")), config)
    assert index.ntotal == 2000
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= min_recall, recall
    # File size = n x the documented bytes per vector + fixed parts (IVF centroids, PQ codebooks, SQ ranges).
    fixed = (config.ivf_nlist * DIM + 256 * DIM + 2 * DIM) * 4 if kind == "ivfpq" else 0
    per_vector = ((tmp_path / "x.index").stat().st_size - fixed) / 2000
    assert per_vector == pytest.approx(bytes_per_vector(kind, DIM, config), rel=0.1)


def test_ivfpq_needs_enough_vectors_and_valid_m(vectors):
    with pytest.raises(MedassistError, match="at least 1,000 vectors"):
        build_index(vectors[:500], RagConfig(index="ivfpq", pq_m=16))
    with pytest.raises(MedassistError, match="pq_m=48 must divide the embedding dimension 64"):
        build_index(vectors, RagConfig(index="ivfpq", pq_m=48))
