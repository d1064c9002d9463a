"""The sharded (PubMed-scale) index: built from per-file shards, updated in place through a journal.

Layout of ``INDEX_DIR`` (``manifest.json`` has ``"layout": "sharded"``)::

    shards/               one folder per corpus or update file (``rag/shards.py``): the vectors
    chunks.sqlite         chunks(id = pmid*1024 + chunk, pmid, chunk, title, text, ..., shard, row)
                          + chunks_fts (FTS5, BM25 over title and text, kept in step by triggers)
                          + journal(seq, shard, removed, added, rows) + meta(key, value)
    faiss-NNNNNN.index    the FAISS checkpoint after journal entry NNNNNN (ids = chunk ids)
    manifest.json         models, dimension, index kind, counts, config, versions

**Crash safety: SQLite is the commit point.** An update first writes the update file's shard
(resumable like a build), then, in *one* SQLite transaction, replaces the chunks of every PMID the
file revises, deletes the PMIDs it withdraws and appends a journal entry naming the FAISS ids
removed and added. Nothing else is changed in place: the FAISS checkpoint named in ``meta`` stays
as it was, and loading replays the journal entries after it (``remove_ids`` + ``add_with_ids``
from the shards' vectors). Every ``checkpoint_every`` entries an update writes a new checkpoint
(temporary file, rename, then one transaction moves ``meta`` to it). A kill at any point leaves
either the previous or the new committed state, both loadable; bytes written per update are the
shard plus the changed SQLite pages, not a copy of the index.

**BM25** is SQLite FTS5 in the same file, so it changes in the same transaction as the metadata
and needs no memory beyond SQLite's page cache (bm25s keeps a corpus-wide in-memory matrix that
must be rebuilt on every change: tens of GB for all of PubMed).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from medassist.errors import MedassistError
from medassist.rag.chunking import Chunk
from medassist.rag.config import RagConfig
from medassist.rag.index import bytes_per_vector, choose_kind, configure_search, new_id_index
from medassist.rag.shards import SHARDS_DIR, Shard, chunk_id

log = logging.getLogger(__name__)

CHUNKS_FILE = "chunks.sqlite"

SCHEMA = (
    "CREATE TABLE chunks (id INTEGER PRIMARY KEY, pmid TEXT NOT NULL, chunk INTEGER NOT NULL, title TEXT NOT NULL,"
    " text TEXT NOT NULL, year INTEGER, journal TEXT, mesh TEXT NOT NULL, shard TEXT NOT NULL, row INTEGER NOT NULL)",
    "CREATE INDEX chunks_pmid ON chunks (pmid)",
    "CREATE INDEX chunks_shard ON chunks (shard, row)",
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, content='chunks', content_rowid='id')",
    "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN"
    " INSERT INTO chunks_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN"
    " INSERT INTO chunks_fts(chunks_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TABLE journal (seq INTEGER PRIMARY KEY, shard TEXT NOT NULL, removed BLOB NOT NULL, added BLOB NOT NULL,"
    " rows BLOB NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _ids(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.int64)


def _get(db: sqlite3.Connection, key: str) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _set(db: sqlite3.Connection, key: str, value: Any) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))


def _ids_of(db: sqlite3.Connection, pmids: Iterable[str]) -> list[int]:
    pmids = list(pmids)
    found: list[int] = []
    for start in range(0, len(pmids), 500):
        part = pmids[start : start + 500]
        found += [i for (i,) in db.execute(f"SELECT id FROM chunks WHERE pmid IN ({','.join('?' * len(part))})",
                                           part)]
    return found


def apply_shard(db: sqlite3.Connection, shard: Shard) -> tuple[list[int], list[int], list[int]]:
    """Upsert the shard's articles (a later copy of a PMID replaces the earlier one, also within the
    shard), then delete its withdrawn PMIDs. Returns (ids removed, ids added, their rows in the
    shard). The caller owns the transaction."""
    latest: dict[str, list[tuple[int, Chunk]]] = {}
    for row, chunk in enumerate(shard.chunks()):
        if chunk.chunk == 0:
            latest[chunk.pmid] = []
        latest.setdefault(chunk.pmid, []).append((row, chunk))
    deletes = set(shard.deletes())
    removed = _ids_of(db, set(latest) | deletes)
    db.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in removed])
    added, rows = [], []
    for pmid, pieces in latest.items():
        if pmid in deletes:
            continue
        for row, c in pieces:
            added.append(chunk_id(c.pmid, c.chunk))
            rows.append(row)
            db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (added[-1], c.pmid, c.chunk, c.title, c.text, c.year, c.journal, json.dumps(c.mesh),
                        shard.name, row))
    return removed, added, rows


def _train_sample(db: sqlite3.Connection, shards: list[Shard], size: int, seed: int) -> np.ndarray:
    """A uniform sample of the surviving vectors, read shard by shard (never the whole corpus).

    The rows are chosen first and copied into one preallocated array: gathering per-shard pieces and
    concatenating them held the sample twice, 600 MB at the peak of a 1M-abstract build.
    """
    total = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    rng = np.random.default_rng(seed)
    picks = []
    for shard in shards:
        rows = np.array([r for (r,) in db.execute("SELECT row FROM chunks WHERE shard = ?", (shard.name,))],
                        dtype=np.int64)
        picks.append(np.sort(rows[rng.random(len(rows)) < size / total] if total > size else rows))
    first = shards[0].vectors()
    sample = np.empty((sum(map(len, picks)), first.shape[1]), dtype=first.dtype)
    at = 0
    for shard, take in zip(shards, picks, strict=True):
        sample[at:at + len(take)] = shard.vectors()[take]
        at += len(take)
    return sample


def _train_ivf(index: Any, db: sqlite3.Connection, shards: list[Shard], count: int, config: RagConfig) -> None:
    """Train IVF-PQ in FAISS's two steps, each on its own sample, so that one sample is in memory at a time.

    The coarse k-means takes ``train_sample`` vectors (default max(100k, 50 per list): 300 MB at 1M
    abstracts); the PQ codebooks then take the 65,536 that ``IndexIVF.train`` would subsample for them,
    with the quantizer already trained (FAISS skips it). One ``train`` on the whole sample held it, the
    subsample and its residuals at once: 215 MB more at the peak of a 1M build.
    """
    import faiss

    ivf = faiss.extract_index_ivf(index)
    size = config.train_sample or min(count, max(100_000, 50 * ivf.nlist))
    sample = _train_sample(db, shards, size, seed=0)
    log.info("training the IVF quantizer (%d lists) on %d of %d vectors", ivf.nlist, len(sample), count)
    faiss.Clustering(ivf.d, ivf.nlist, ivf.cp).train(sample, ivf.quantizer)
    del sample
    sample = _train_sample(db, shards, min(count, ivf.train_encoder_num_vectors()), seed=1)
    log.info("training the PQ codes on %d vectors", len(sample))
    index.train(sample)


def _save(index_dir: Path, index: Any, seq: int) -> str:
    """Write a new checkpoint file beside the committed one (a fresh name: nothing referenced is overwritten)."""
    import faiss

    name = f"faiss-{seq:06d}-{os.urandom(3).hex()}.index"
    tmp = index_dir / f".{name}.tmp"
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / name)
    return name


def _remove_other_checkpoints(index_dir: Path, keep: str) -> None:
    for old in index_dir.glob("faiss-*.index"):
        if old.name != keep:
            old.unlink()


def _write_checkpoint(index_dir: Path, db: sqlite3.Connection, index: Any, seq: int) -> str:
    """A new checkpoint, then one transaction points ``meta`` at it; the old file goes after."""
    name = _save(index_dir, index, seq)
    with db:
        _set(db, "checkpoint", {"file": name, "seq": seq})
    _remove_other_checkpoints(index_dir, name)
    return name


def assemble(index_dir: Path, shard_names: list[str], config: RagConfig, dim: int) -> dict[str, Any]:
    """SQLite (metadata + FTS5) and the FAISS index from finished shards, applied in corpus order.

    A new ``chunks.sqlite`` is written beside the old one and renamed over it; its ``meta`` names
    the new FAISS checkpoint, so until that rename the previous index stays loadable.
    """
    from tqdm.auto import tqdm

    shards = [Shard(index_dir / SHARDS_DIR / name) for name in shard_names]
    tmp_db = index_dir / f".{CHUNKS_FILE}.building"
    tmp_db.unlink(missing_ok=True)
    db = sqlite3.connect(tmp_db)
    for statement in SCHEMA:
        db.execute(statement)
    for shard in tqdm(shards, desc="metadata + BM25", unit="shard"):
        with db:
            apply_shard(db, shard)
    count, documents = db.execute("SELECT COUNT(*), COUNT(DISTINCT pmid) FROM chunks").fetchone()
    if not count:
        raise MedassistError(f"no documents to index in {', '.join(s.info()['file'] for s in shards)}")
    kind = "flat" if config.index == "auto" and count <= config.flat_max else choose_kind(count, config)
    if config.index == "auto" and kind == "hnsw":
        kind = "ivfpq"  # auto stays updatable: HNSW cannot remove vectors (force it with --index hnsw)
    index = new_id_index(kind, dim, count, config)
    if not index.is_trained:
        _train_ivf(index, db, shards, count, config)
    for shard in tqdm(shards, desc="FAISS", unit="shard"):
        found = db.execute("SELECT id, row FROM chunks WHERE shard = ? ORDER BY row", (shard.name,)).fetchall()
        if found:
            ids, rows = np.array(found, dtype=np.int64).T
            index.add_with_ids(np.ascontiguousarray(shard.vectors()[rows]), ids)
    with db:
        _set(db, "kind", kind)
    name = _save(index_dir, index, seq=0)
    with db:
        _set(db, "checkpoint", {"file": name, "seq": 0})
    db.close()
    os.replace(tmp_db, index_dir / CHUNKS_FILE)  # the commit point of a build
    _remove_other_checkpoints(index_dir, name)
    return {"count": count, "documents": documents, "index_kind": kind,
            "bytes_per_vector": bytes_per_vector(kind, dim, replace(config, pq_refine=""))}


def load_faiss(index_dir: Path, db: sqlite3.Connection, config: RagConfig) -> Any:
    """The committed state: the checkpoint named in ``meta``, then the journal entries after it."""
    import faiss

    checkpoint = _get(db, "checkpoint")
    if not checkpoint:
        raise MedassistError(f"{index_dir}: the index has no FAISS checkpoint; rebuild it with `medassist rag build`")
    index = faiss.read_index(str(index_dir / checkpoint["file"]))
    replay = db.execute("SELECT shard, removed, added, rows FROM journal WHERE seq > ? ORDER BY seq",
                        (checkpoint["seq"],)).fetchall()
    for shard_name, removed, added, rows in replay:
        _replay(index, Shard(index_dir / SHARDS_DIR / shard_name), _ids(removed), _ids(added), _ids(rows))
    if replay:
        log.info("replayed %d journal entries after checkpoint %s", len(replay), checkpoint["file"])
    return configure_search(index, config)


def _replay(index: Any, shard: Shard, removed: np.ndarray, added: np.ndarray, rows: np.ndarray) -> None:
    import faiss

    gone = np.union1d(removed, added)
    if len(gone):
        index.remove_ids(faiss.IDSelectorBatch(gone))
    if len(added):
        index.add_with_ids(np.ascontiguousarray(shard.vectors()[rows]), added)


def apply_updates(index_dir: Path, shard_names: list[str], config: RagConfig) -> dict[str, Any]:
    """Apply finished update shards not yet in the journal, one transaction each; checkpoint if due."""
    started = time.perf_counter()
    db = sqlite3.connect(index_dir / CHUNKS_FILE)
    if _get(db, "kind") == "hnsw":
        raise MedassistError(f"{index_dir}: an HNSW index cannot remove vectors; rebuild it with --index flat or "
                             "ivfpq (auto) to apply updates, or rebuild with the update files appended")
    applied = {name for (name,) in db.execute("SELECT shard FROM journal")}
    index = load_faiss(index_dir, db, config)
    stats = {"removed": 0, "added": 0, "files": 0, "skipped_already_applied": 0}
    for name in shard_names:
        if name in applied:
            stats["skipped_already_applied"] += 1
            continue
        shard = Shard(index_dir / SHARDS_DIR / name)
        with db:  # the commit point of this update file
            removed, added, rows = apply_shard(db, shard)
            db.execute("INSERT INTO journal (shard, removed, added, rows) VALUES (?, ?, ?, ?)",
                       (name, np.array(removed, np.int64).tobytes(), np.array(added, np.int64).tobytes(),
                        np.array(rows, np.int64).tobytes()))
        _replay(index, shard, np.array(removed, np.int64), np.array(added, np.int64), np.array(rows, np.int64))
        stats["removed"] += len(removed)
        stats["added"] += len(added)
        stats["files"] += 1
    last_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]
    checkpoint = _get(db, "checkpoint")
    if last_seq - checkpoint["seq"] >= config.checkpoint_every:
        stats["checkpoint"] = _write_checkpoint(index_dir, db, index, last_seq)
    stats["journal_after_checkpoint"] = last_seq - _get(db, "checkpoint")["seq"]
    stats["count"], stats["documents"] = db.execute("SELECT COUNT(*), COUNT(DISTINCT pmid) FROM chunks").fetchone()
    stats["ntotal"] = int(index.ntotal)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    db.close()
    return stats
