"""Embedding on Ray Data: the same files in, the same shards out, the encoders in an actor pool.

    files --from_items--> ChunkFile (one actor: parse + chunk into blocks, ``rag/shards.py``)
          --map_batches--> EmbedBlock (``workers`` actors, each loads the encoder once; GPUs if asked)
          --iter_rows (order preserved)--> ShardWriter on the driver, one shard per file

Each actor encodes exactly the blocks the single-process path encodes, with the same ``encode``
call, so the vectors are the same (up to float summation order across thread counts: the test
compares them). The driver writes the shards, so resuming, the shard format and crash safety are
shared with the single-process path. Without an address Ray starts on this machine; with one
(``auto``, ``ray://head:10001``) the workers need medassist installed and the corpus files at the
same path (a shared file system).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from medassist.data import Problems
from medassist.errors import MedassistError
from medassist.rag.chunking import Chunk, make_splitter
from medassist.rag.config import RagConfig
from medassist.rag.embed import load_encoder
from medassist.rag.shards import Block, ShardWriter, SourceFile, encode, file_blocks, pending_files

if TYPE_CHECKING:
    from pathlib import Path

    from medassist.rag.stream import RayOptions

log = logging.getLogger(__name__)


class ChunkFile:
    """Ray actor: one corpus file -> rows of blocks (chunks as JSON; problems travel to the driver)."""

    def __init__(self, config: RagConfig) -> None:
        self.config = config
        encoder = load_encoder(config.embedding_model, "cpu", config.pooling)  # only its tokenizer is used
        self.splitter = make_splitter(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap_tokens)

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        problems = Problems(strict=False)
        rows = []
        for block in file_blocks(row["file"], self.splitter, self.config.encode_block, problems):
            rows.append({"file_index": row["file_index"], "block": block.index, "last": block.last,
                         "chunks": json.dumps([asdict(c) for c in block.chunks]), "deletes": json.dumps(block.deletes),
                         "problems": json.dumps([asdict(p) for p in problems.items] if block.last else [])})
        return rows


class EmbedBlock:
    """Ray actor: the sentence-transformers encoder, loaded once, encoding one block per call."""

    def __init__(self, config: RagConfig, device: str) -> None:
        self.config = config
        self.encoder = load_encoder(config.embedding_model, device, config.pooling)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        vectors = []
        for chunks in batch["chunks"]:
            texts = [Chunk(**c).indexed_text for c in json.loads(chunks)]
            vectors.append(encode(self.encoder, texts, self.config.batch_size).tobytes())
        dim = self.encoder.get_embedding_dimension()
        return {**batch, "vectors": np.array(vectors, dtype=object), "dim": np.full(len(vectors), dim)}


def _init(options: RayOptions) -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MedassistError("--ray needs Ray Data: pip install 'medassist[ray]' (ray[data] 2.60)") from exc
    if not ray.is_initialized():
        if options.address:
            ray.init(address=options.address, log_to_driver=False)
        else:  # this machine: room for the encoders plus the chunking actor and Ray Data's read task
            needed = options.workers * options.cpus_per_worker + 1
            ray.init(num_cpus=max(os.cpu_count() or 1, needed), include_dashboard=False, log_to_driver=False)
    return ray


def build_shards_ray(files: list[SourceFile], shards_dir: Path, config: RagConfig, options: RayOptions,
                     problems: Problems | None = None) -> int:
    """Embed every pending file through Ray Data and write its shard; returns the chunks embedded."""
    from tqdm.auto import tqdm

    todo = pending_files(files, shards_dir, config)
    log.info("shards on Ray: %d of %d files to embed", len(todo), len(files))
    if not todo:
        return 0
    ray = _init(options)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # blocks of a file arrive in order, file after file
    device = "cuda" if options.gpus_per_worker > 0 else config.device
    dataset = (
        ray.data.from_items([{"file": str(f.path), "file_index": i} for i, f in enumerate(todo)])
        .flat_map(ChunkFile, fn_constructor_args=(config,), concurrency=1, num_cpus=0.5)
        .map_batches(EmbedBlock, fn_constructor_args=(config, device), batch_size=1, batch_format="numpy",
                     concurrency=options.workers, num_cpus=options.cpus_per_worker,
                     num_gpus=options.gpus_per_worker or None)
    )
    embedded = 0
    writer: ShardWriter | None = None
    progress = tqdm(total=len(todo), desc="files (ray)", unit="file")
    for row in dataset.iter_rows():
        source = todo[int(row["file_index"])]
        if writer is None or writer.source is not source:
            writer = ShardWriter(shards_dir, source, config)
        chunks = [Chunk(**c) for c in json.loads(row["chunks"])]
        dim = int(row["dim"])
        vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(chunks), dim)
        writer.add(Block(int(row["block"]), chunks, json.loads(row["deletes"]), bool(row["last"])), vectors)
        embedded += len(chunks)
        if row["last"]:
            for p in json.loads(row["problems"]):
                (problems or Problems(strict=False)).add(p["file"], p["where"], p["field"], p["message"], p["kind"])
            writer.finish(dim)
            progress.update()
    progress.close()
    return embedded

