"""Retrieval benchmark: PubMedQA recall by mode, and FAISS index kinds at scale.

1. PubMedQA (``../shared/data/pubmedqa/ori_pqal.json`` when present): index the 1,000 abstracts
   (contexts + conclusion; *not* the question, which ``iter_pubmed`` uses as a title for this file),
   query with each question, and report recall@1, recall@10 and MRR of the source abstract for
   dense, BM25 and hybrid. Anchor: MedRAG retrieves the gold abstract at rank 1 for 79.6% of
   PubMedQA* questions (over all of PubMed, so not directly comparable to this 1,000-abstract pool).
2. Scale: synthetic unit vectors (d=384) at 1k/100k[/1M]; for flat, HNSW and IVF-PQ: build time,
   index size, p50/p95 single-query latency and recall@10 against exact search. Vectors lie near a
   32-dimensional clustered manifold (like real sentence embeddings), since isotropic noise in 384-d
   makes nearest neighbours meaningless ties.

``python bench/bench_rag.py --out FILE.json [--quick]``; ``--quick`` uses 200 PubMedQA abstracts
and the 1k/100k sizes only.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from harness import bench_parser, write_results

SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MEDRAG_PUBMEDQA_RECALL_AT_1 = 0.796
DIM = 384
QUERIES = 200


def pubmedqa_recall(limit: int | None) -> dict[str, Any]:
    from medassist.data import load_pubmedqa
    from medassist.rag import store
    from medassist.rag.config import RagConfig
    from medassist.rag.evaluate import pubmedqa_abstracts, recall_metrics
    from medassist.rag.retriever import Retriever

    path = SHARED / "pubmedqa" / "ori_pqal.json"
    if not path.is_file():
        return {"skipped": f"{path} not present"}
    items = load_pubmedqa(path)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        info = store.build(pubmedqa_abstracts(items), Path(tmp) / "idx", RagConfig(embedding_cache=""))
        results: dict[str, Any] = {
            "documents": info["documents"], "chunks": info["count"], "questions": len(items),
            "build_s": round(time.perf_counter() - started, 1),
            "medrag_recall_at_1_anchor": MEDRAG_PUBMEDQA_RECALL_AT_1,
        }
        retriever = Retriever.load(Path(tmp) / "idx")
        for mode in ("dense", "bm25", "hybrid"):
            results[mode] = recall_metrics(retriever, items, mode)
            print(f"pubmedqa {mode}: {results[mode]}", file=sys.stderr, flush=True)
        retriever.close()
    dense_r1 = max(results["dense"]["recall_at_1"], 1e-9)
    results["hybrid_vs_dense_recall_at_1"] = round(results["hybrid"]["recall_at_1"] / dense_r1, 3)
    return results


def synthetic(n: int, rng: np.random.Generator, centers: np.ndarray, projection: np.ndarray) -> np.ndarray:
    latent = centers[rng.integers(0, len(centers), n)] + 0.35 * rng.standard_normal((n, projection.shape[0]))
    x = latent @ projection + 0.05 * rng.standard_normal((n, projection.shape[1]))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(index: Any, queries: np.ndarray, exact: np.ndarray | None) -> tuple[dict[str, Any], np.ndarray]:
    latencies = []
    found = []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q[None, :], 10)
        latencies.append(time.perf_counter() - t)
        found.append(ids[0])
    out = {"p50_ms": round(1000 * float(np.percentile(latencies, 50)), 3),
           "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 3)}
    if exact is not None:
        overlap = [len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]
        out["recall_at_10_vs_exact"] = round(float(np.mean(overlap)), 4)
    return out, np.stack(found)


def scale(sizes: list[int]) -> dict[str, Any]:
    import faiss

    from medassist.rag.config import RagConfig
    from medassist.rag.index import bytes_per_vector, configure_search, new_index

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((2000, 32))
    projection = rng.standard_normal((32, DIM))
    config = RagConfig()
    build_threads = os.cpu_count() or 1  # a Retriever loaded earlier sets FAISS to search_threads
    faiss.omp_set_num_threads(build_threads)
    results: dict[str, Any] = {"dim": DIM, "queries": QUERIES, "build_threads": build_threads,
                               "search_threads": config.search_threads}
    for n in sizes:
        data = synthetic(n, rng, centers, projection)
        queries = synthetic(QUERIES, rng, centers, projection)
        row: dict[str, Any] = {}
        exact = None
        for kind in ("flat", "hnsw", "ivfpq"):
            if kind == "ivfpq" and n < 10_000:
                row[kind] = {"skipped": "IVF-PQ needs >= 10k vectors to train well"}
                continue
            started = time.perf_counter()
            index = new_index(kind, DIM, n, config)
            if not index.is_trained:
                index.train(data[rng.choice(n, min(n, 100_000), replace=False)])
            index.add(data)
            configure_search(index, config)
            build_s = time.perf_counter() - started
            faiss.omp_set_num_threads(config.search_threads)  # as the Retriever searches
            with tempfile.NamedTemporaryFile() as f:
                faiss.write_index(index, f.name)
                size = os.path.getsize(f.name)
            stats, found = measure(index, queries, exact)
            faiss.omp_set_num_threads(build_threads)
            if kind == "flat":
                exact = found
            row[kind] = {"build_s": round(build_s, 2), "index_bytes": size, "bytes_per_vector": round(size / n, 1),
                         "bytes_per_vector_formula": bytes_per_vector(kind, DIM, config), **stats}
            print(f"n={n} {kind}: {row[kind]}", file=sys.stderr, flush=True)
            del index
        row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        for kind in ("hnsw", "ivfpq"):
            if "p95_ms" in row.get(kind, {}):
                row[f"{kind}_vs_flat_p95_latency"] = round(row[kind]["p95_ms"] / row["flat"]["p95_ms"], 3)
        results[str(n)] = row
    return results


def main() -> None:
    parser = bench_parser(__doc__, "a short run (about a minute)")
    args = parser.parse_args()
    # Latencies on a shared 2-core machine depend on what else runs: record the load around the run.
    results: dict[str, Any] = {"load_avg_1min_start": os.getloadavg()[0]}
    results |= {
        "pubmedqa": pubmedqa_recall(200 if args.quick else None),
        "scale": scale([1_000, 100_000] if args.quick else [1_000, 100_000, 1_000_000]),
        "quick": args.quick,
        "load_avg_1min_end": os.getloadavg()[0],
    }
    write_results(args.out, "rag", results, args.quick)


if __name__ == "__main__":
    main()
