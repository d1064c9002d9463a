"""The index directory: FAISS vectors, SQLite metadata, BM25, manifest — written atomically.

Layout of ``INDEX_DIR``::

    faiss.index     vectors; FAISS id i is row id i of chunks.sqlite
    chunks.sqlite   table chunks(id, pmid, chunk, title, text, year, journal, mesh JSON)
    bm25/           bm25s sparse index over the same chunks
    manifest.json   embedding models, dimension, counts, index kind, build time, config, versions

Every build and every ``add`` writes a complete new directory beside the old one and swaps it in
with one rename (``medassist.io.atomic_directory``), so a build killed halfway leaves the previous
index loadable. SQLite rather than pickle: readable by any tool and safe to open.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from medassist.config import to_dict
from medassist.errors import MedassistError
from medassist.io import atomic_directory, check_replaceable
from medassist.manifest import write_manifest
from medassist.rag.bm25 import build_bm25
from medassist.rag.chunking import Chunk, chunk_abstracts, make_splitter
from medassist.rag.config import RagConfig
from medassist.rag.embed import Embedder
from medassist.rag.index import build_index, bytes_per_vector, choose_kind, configure_search

log = logging.getLogger(__name__)

FAISS_FILE = "faiss.index"
CHUNKS_FILE = "chunks.sqlite"
BM25_DIR = "bm25"
MANIFEST = "manifest.json"

SCHEMA = (
    "CREATE TABLE chunks (id INTEGER PRIMARY KEY, pmid TEXT NOT NULL, chunk INTEGER NOT NULL, title TEXT NOT NULL,"
    " text TEXT NOT NULL, year INTEGER, journal TEXT, mesh TEXT NOT NULL)",
    "CREATE INDEX chunks_pmid ON chunks (pmid)",
)


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    path = Path(index_dir) / MANIFEST
    try:
        sharded = json.loads(path.read_text()).get("layout") == "sharded"
    except (OSError, ValueError):
        sharded = False
    required = (MANIFEST, CHUNKS_FILE, "shards") if sharded else (MANIFEST, FAISS_FILE, CHUNKS_FILE, BM25_DIR)
    missing = [name for name in required if not (Path(index_dir) / name).exists()]
    if missing:
        raise MedassistError(
            f"{index_dir}: not a medassist index (missing {', '.join(missing)}); build one with `medassist rag build`"
        )
    return json.loads(path.read_text())


def _insert(db: sqlite3.Connection, chunks: list[Chunk], first_id: int) -> None:
    with db:
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (first_id + i, c.pmid, c.chunk, c.title, c.text, c.year, c.journal, json.dumps(c.mesh))
                for i, c in enumerate(chunks)
            ],
        )


def _all_indexed_texts(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT title, text FROM chunks ORDER BY id")
    return [Chunk("", 0, title, text).indexed_text for title, text in rows]


def _write_rest(tmp: Path, db: sqlite3.Connection, index: Any, config: RagConfig, embedder: Embedder,
                kind: str, started: float, corpus: list[str]) -> dict[str, Any]:
    import faiss

    faiss.write_index(index, str(tmp / FAISS_FILE))
    build_bm25(_all_indexed_texts(db), tmp / BM25_DIR)
    count, documents = db.execute("SELECT COUNT(*), COUNT(DISTINCT pmid) FROM chunks").fetchone()
    db.close()
    info = {
        "embedding_model": embedder.document_model,
        "query_model": embedder.query_model,
        "pooling": config.pooling,
        "dimension": embedder.dimension,
        "count": count,
        "documents": documents,
        "index_kind": kind,
        "bytes_per_vector": bytes_per_vector(kind, embedder.dimension, config),
        "build_seconds": round(time.perf_counter() - started, 2),
        "texts_embedded": embedder.texts_encoded,
    }
    write_manifest(tmp, "rag-index", to_dict(config), data_files=corpus, **info)
    log.info("index: %d chunks of %d documents (%s, d=%d)", count, documents, kind, embedder.dimension)
    return info


def build(abstracts: Iterable[Any], out_dir: str | Path, config: RagConfig, corpus: Sequence[str | Path] = (),
          embedder: Embedder | None = None, force: bool = False) -> dict[str, Any]:
    """Chunk, embed (cached), index; returns the manifest's index facts. ``out_dir`` is replaced only
    if it is missing, empty or a medassist artefact, unless ``force``."""
    check_replaceable(Path(out_dir), force)  # before minutes of embedding
    started = time.perf_counter()
    embedder = embedder or Embedder(config)
    splitter = make_splitter(embedder.tokenizer, config.chunk_tokens, config.chunk_overlap_tokens)
    chunks = chunk_abstracts(_unique(abstracts, set()), splitter)
    if not chunks:
        raise MedassistError(f"no documents to index in {', '.join(map(str, corpus)) or 'the corpus'}")
    vectors = embedder.embed_documents([c.indexed_text for c in chunks])
    kind = choose_kind(len(vectors), config)
    index = build_index(vectors, config)
    with atomic_directory(out_dir, force) as tmp:
        db = sqlite3.connect(tmp / CHUNKS_FILE)
        for statement in SCHEMA:
            db.execute(statement)
        _insert(db, chunks, 0)
        return _write_rest(tmp, db, index, config, embedder, kind, started, list(map(str, corpus)))


def _unique(abstracts: Iterable[Any], seen: set[str]) -> Iterable[Any]:
    """Drop repeated PMIDs (baseline update files repeat articles); the first copy wins."""
    for doc in abstracts:
        if doc.pmid in seen:
            log.warning("PMID %s appears more than once; keeping the first copy", doc.pmid)
            continue
        seen.add(doc.pmid)
        yield doc


def model_config(manifest: dict[str, Any], config: RagConfig, embedding_model: str | None = None,
                 query_model: str | None = None) -> RagConfig:
    """``config`` with the index's own encoders; explicitly asking for different ones is refused.

    Vectors of two models live in unrelated spaces: a query embedded by the wrong model returns
    confident nonsense, so a mismatch is an error rather than a warning.
    """
    built = {"embedding_model": manifest["embedding_model"], "query_model": manifest["query_model"]}
    wanted = {"embedding_model": embedding_model, "query_model": query_model}
    for key, value in wanted.items():
        if value is not None and value != built[key]:
            raise MedassistError(
                f"the index was built with {key} {built[key]!r} but {value!r} was requested: vectors of different "
                f"models are not comparable; query with {key} {built[key]!r} or rebuild the index with the new model"
            )
    return replace(config, embedding_model=built["embedding_model"], query_model=built["query_model"],
                   pooling=manifest.get("pooling", ""))


def add(index_dir: str | Path, abstracts: Iterable[Any], config: RagConfig, corpus: Sequence[str | Path] = (),
        embedder: Embedder | None = None, embedding_model: str | None = None) -> dict[str, Any]:
    """Append documents whose PMID is not indexed yet; old chunks are neither re-read nor re-embedded."""
    import faiss

    started = time.perf_counter()
    manifest = read_manifest(index_dir)
    config = model_config(manifest, config, embedding_model)
    embedder = embedder or Embedder(config)
    index_dir = Path(index_dir)
    old = sqlite3.connect(index_dir / CHUNKS_FILE)
    seen = {pmid for (pmid,) in old.execute("SELECT DISTINCT pmid FROM chunks")}
    old.close()
    splitter = make_splitter(embedder.tokenizer, config.chunk_tokens, config.chunk_overlap_tokens)
    chunks = chunk_abstracts(_unique(abstracts, seen), splitter)
    vectors = embedder.embed_documents([c.indexed_text for c in chunks])
    index = configure_search(faiss.read_index(str(index_dir / FAISS_FILE)), config)
    first_id = index.ntotal
    index.add(vectors)
    with atomic_directory(index_dir) as tmp:
        shutil.copyfile(index_dir / CHUNKS_FILE, tmp / CHUNKS_FILE)
        db = sqlite3.connect(tmp / CHUNKS_FILE)
        _insert(db, chunks, first_id)
        return _write_rest(tmp, db, index, config, embedder, manifest["index_kind"], started,
                           list(map(str, corpus)))
