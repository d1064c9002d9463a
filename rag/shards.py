"""Per-file shards: the embedded chunks of one corpus file, written once and never re-embedded.

Layout of ``INDEX_DIR/shards/<file name>.<sha256[:12]>/``::

    vectors.npy    float32 (chunks, d), L2-normalised, row i = line i of chunks.jsonl
    chunks.jsonl   one chunk a line: pmid, chunk, title, text, year, journal, mesh
    deletes.json   PMIDs the file deletes (PubMed ``DeleteCitation``), applied after its articles
    shard.json     source file, its sha256, counts, and the settings the vectors depend on

A shard is written into a temporary folder and renamed into place, so it either exists whole or
not at all: a killed build resumes at the first file without a shard and never re-embeds a
finished one. Memory is bounded by one file (a baseline file: ~30k articles, ~45k chunks,
~70 MB of vectors), never by the corpus.

Chunks are embedded in blocks of ``encode_block`` consecutive chunks, one ``encode`` call each
(sentence-transformers sorts a call's texts by length before batching, so the block, not the
batch, fixes which texts are padded together). The Ray path (``rag/ray_embed.py``) encodes the
same blocks, which is why both paths write the same vectors.

Stable ids: FAISS id = ``int(pmid) * 1024 + chunk`` (PMIDs are integers; an abstract has far
fewer than 1,024 chunks), so a revised article keeps its ids and an update can ``remove_ids``
without a lookup table.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medassist.data import Problems
from medassist.errors import MedassistError
from medassist.io import atomic_write_json, sha256_file
from medassist.rag.changes import Deletion, iter_changes
from medassist.rag.chunking import Chunk, chunk_abstracts
from medassist.rag.config import RagConfig

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
CHUNK_BITS = 10  # 1,024 chunks per PMID


def chunk_id(pmid: str, chunk: int) -> int:
    if not pmid.isdigit():
        raise MedassistError(f"PMID {pmid!r}: a sharded (PubMed) index needs integer PMIDs for its stable ids")
    if chunk >= 1 << CHUNK_BITS:
        raise MedassistError(f"PMID {pmid}: more than {1 << CHUNK_BITS} chunks; raise chunk_tokens")
    return (int(pmid) << CHUNK_BITS) | chunk


def pmid_of(chunk_id: int) -> str:
    return str(chunk_id >> CHUNK_BITS)


@dataclass
class Block:
    """Consecutive chunks of one file, embedded by one ``encode`` call; deletions ride on the last block."""

    index: int
    chunks: list[Chunk]
    deletes: list[str] = field(default_factory=list)
    last: bool = False

    @property
    def texts(self) -> list[str]:
        return [c.indexed_text for c in self.chunks]


def file_blocks(path: Path, splitter: Any, block_size: int, problems: Problems | None = None) -> Iterator[Block]:
    """Parse and chunk one file lazily; every file yields at least one (possibly empty) last block."""
    pending: list[Chunk] = []
    deletes: list[str] = []
    count = 0
    for change in iter_changes(path, problems):
        if isinstance(change, Deletion):
            deletes.append(change.pmid)
            continue
        for chunk in chunk_abstracts([change], splitter):
            chunk_id(chunk.pmid, chunk.chunk)  # refuse non-integer PMIDs before any embedding
            pending.append(chunk)
        while len(pending) >= block_size:
            yield Block(count, pending[:block_size])
            pending = pending[block_size:]
            count += 1
    yield Block(count, pending, deletes, last=True)


def encode(encoder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    """The one encode call both paths make (single process and Ray actors)."""
    if not texts:
        return np.zeros((0, encoder.get_embedding_dimension()), dtype=np.float32)
    vectors = encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def settings(config: RagConfig) -> dict[str, Any]:
    """What a shard's vectors depend on: change any of it and the shard is re-embedded."""
    return {"embedding_model": config.embedding_model, "pooling": config.pooling, "chunk_tokens": config.chunk_tokens,
            "chunk_overlap_tokens": config.chunk_overlap_tokens, "encode_block": config.encode_block,
            "batch_size": config.batch_size}


@dataclass
class SourceFile:
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.path.name}.{self.sha256[:12]}"


def source_files(paths: Iterable[str | Path]) -> list[SourceFile]:
    return [SourceFile(Path(p), sha256_file(p)) for p in paths]


def is_done(shard: Path, config: RagConfig) -> bool:
    try:
        info = json.loads((shard / "shard.json").read_text())
    except (OSError, ValueError):
        return False
    if info.get("settings") != settings(config):
        log.warning("%s: built with other settings (%s); re-embedding", shard, info.get("settings"))
        return False
    return True


def pending_files(files: list[SourceFile], shards_dir: Path, config: RagConfig) -> list[SourceFile]:
    """Files without a finished shard; leftovers of killed writes are removed."""
    shards_dir.mkdir(parents=True, exist_ok=True)
    for leftover in shards_dir.glob(".*.partial-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return [f for f in files if not is_done(shards_dir / f.name, config)]


class ShardWriter:
    """Collect one file's blocks in order, then write the shard folder and rename it into place."""

    def __init__(self, shards_dir: Path, source: SourceFile, config: RagConfig) -> None:
        self.final = shards_dir / source.name
        self.source = source
        self.config = config
        self.started = time.perf_counter()
        self.chunks: list[Chunk] = []
        self.vectors: list[np.ndarray] = []
        self.deletes: list[str] = []

    def add(self, block: Block, vectors: np.ndarray) -> None:
        self.chunks += block.chunks
        self.vectors.append(vectors)
        self.deletes += block.deletes

    def finish(self, dim: int) -> dict[str, Any]:
        tmp = self.final.parent / f".{self.final.name}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        vectors = np.concatenate(self.vectors) if self.vectors else np.zeros((0, dim), dtype=np.float32)
        np.save(tmp / "vectors.npy", vectors)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in self.chunks)
        (tmp / "deletes.json").write_text(json.dumps(self.deletes))
        info = {"file": str(self.source.path), "sha256": self.source.sha256, "chunks": len(self.chunks),
                "documents": len({c.pmid for c in self.chunks}), "deletes": len(self.deletes),
                "dimension": int(vectors.shape[1]), "settings": settings(self.config),
                "seconds": round(time.perf_counter() - self.started, 2)}
        atomic_write_json(tmp / "shard.json", info)
        for name in ("vectors.npy", "chunks.jsonl"):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        shutil.rmtree(self.final, ignore_errors=True)  # a stale shard of other settings
        os.replace(tmp, self.final)
        return info


def build_shards(files: list[SourceFile], shards_dir: Path, config: RagConfig, encoder: Any, splitter: Any,
                 problems: Problems | None = None,
                 on_shard: Callable[[SourceFile, dict[str, Any]], None] | None = None) -> int:
    """Single-process path: embed every pending file into its shard; returns the chunks embedded."""
    from tqdm.auto import tqdm

    todo = pending_files(files, shards_dir, config)
    log.info("shards: %d of %d files to embed (%d done)", len(todo), len(files), len(files) - len(todo))
    embedded = 0
    dim = encoder.get_embedding_dimension()
    for source in tqdm(todo, desc="files", unit="file"):
        writer = ShardWriter(shards_dir, source, config)
        for block in file_blocks(source.path, splitter, config.encode_block, problems):
            writer.add(block, encode(encoder, block.texts, config.batch_size))
            embedded += len(block.chunks)
        info = writer.finish(dim)
        log.info("shard %s: %d chunks, %d deletions, %.1f s", source.name, info["chunks"], info["deletes"],
                 info["seconds"])
        if on_shard:
            on_shard(source, info)
    return embedded


@dataclass
class Shard:
    """A finished shard, read back for assembly and updates."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def info(self) -> dict[str, Any]:
        return json.loads((self.path / "shard.json").read_text())

    def vectors(self) -> np.ndarray:
        return np.load(self.path / "vectors.npy", mmap_mode="r")

    def chunks(self) -> Iterator[Chunk]:
        with open(self.path / "chunks.jsonl", encoding="utf-8") as handle:
            for line in handle:
                yield Chunk(**json.loads(line))

    def deletes(self) -> list[str]:
        return json.loads((self.path / "deletes.json").read_text())

