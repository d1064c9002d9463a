"""``medassist rag build --stream`` and ``medassist rag update``: corpus files -> shards -> index.

A streamed build embeds file by file into ``INDEX_DIR/shards/`` (``rag/shards.py``; on Ray with
``rag/ray_embed.py``), then assembles SQLite + FTS5 + FAISS from the shards (``rag/sharded.py``).
Run it again after a kill and it resumes at the first file without a shard. ``update`` embeds
update files into shards the same way and applies them through the journal. Memory: one file's
chunks and vectors, the IVF training sample, and the FAISS index itself.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from medassist.config import to_dict
from medassist.data import Problems
from medassist.errors import MedassistError
from medassist.io import atomic_write_json, check_replaceable
from medassist.manifest import write_manifest
from medassist.rag import sharded
from medassist.rag.chunking import make_splitter
from medassist.rag.config import RagConfig
from medassist.rag.embed import load_encoder
from medassist.rag.shards import SHARDS_DIR, Shard, SourceFile, build_shards, pending_files, source_files

log = logging.getLogger(__name__)

BUILD_STATE = "build.json"


@dataclass
class RayOptions:
    """Embed on Ray Data instead of in this process (``rag/ray_embed.py``)."""

    address: str = ""  # "" starts a local Ray; "auto" or "ray://host:10001" joins a cluster
    workers: int = 2  # embedding actors
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0


def _embed(files: list[SourceFile], shards_dir: Path, config: RagConfig, problems: Problems | None,
           ray: RayOptions | None) -> int:
    """Embed the pending files into shards; returns the chunks embedded.

    The encoder lives only inside this call (on Ray, only in the actors), so assembly, which holds
    the IVF training sample and the index, does not also hold the model.
    """
    if not pending_files(files, shards_dir, config):
        return 0  # every shard is done (a build killed during assembly): no model to load
    if ray is None:
        encoder = load_encoder(config.embedding_model, config.device, config.pooling)
        splitter = make_splitter(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap_tokens)
        return build_shards(files, shards_dir, config, encoder, splitter, problems)
    from medassist.rag.ray_embed import build_shards_ray

    return build_shards_ray(files, shards_dir, config, ray, problems)


def _replaceable(out: Path, force: bool) -> None:
    if (out / BUILD_STATE).is_file():
        return  # our own unfinished build: resume it
    check_replaceable(out, force)


def build(files: Sequence[str | Path], out_dir: str | Path, config: RagConfig, force: bool = False,
          ray: RayOptions | None = None, problems: Problems | None = None) -> dict[str, Any]:
    """Build (or resume building) a sharded index of ``files``, applied in order (later copies win)."""
    out = Path(out_dir)
    _replaceable(out, force)
    started = time.perf_counter()
    config = replace(config, embedding_cache="")  # the shards are the cache
    sources = source_files(files)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / BUILD_STATE, {"kind": "rag-build", "files": [s.name for s in sources],
                                          "config": to_dict(config)})
    embedded = _embed(sources, out / SHARDS_DIR, config, problems, ray)
    gc.collect()  # the encoder's last references (torch modules keep cycles)
    dim = int(Shard(out / SHARDS_DIR / sources[0].name).info()["dimension"])
    info = sharded.assemble(out, [s.name for s in sources], config, dim)
    info |= {"embedding_model": config.embedding_model, "query_model": config.query_model or config.embedding_model,
             "pooling": config.pooling, "dimension": dim, "texts_embedded": embedded,
             "build_seconds": round(time.perf_counter() - started, 2)}
    _write_manifest(out, config, sources, info)
    (out / BUILD_STATE).unlink()
    log.info("index %s: %d chunks of %d documents (%s)", out, info["count"], info["documents"], info["index_kind"])
    return info


def _write_manifest(out: Path, config: RagConfig, sources: list[SourceFile], info: dict[str, Any],
                    updates: list[str] | None = None) -> None:
    write_manifest(out, "rag-index", to_dict(config), layout="sharded", bm25="fts5", ids="int(pmid) * 1024 + chunk",
                   data_sha256={str(s.path): s.sha256 for s in sources}, updates=updates or [], **info)


def update(index_dir: str | Path, files: Sequence[str | Path], config: RagConfig, ray: RayOptions | None = None,
           problems: Problems | None = None, checkpoint: bool = False) -> dict[str, Any]:
    """Apply PubMed update files (revisions replace, ``DeleteCitation`` removes) in place, in order."""
    from medassist.rag.store import model_config, read_manifest

    index_dir = Path(index_dir)
    started = time.perf_counter()
    manifest = read_manifest(index_dir)
    if manifest.get("layout") != "sharded":
        raise MedassistError(f"{index_dir}: built without --stream; `rag update` needs a sharded index "
                             "(rebuild with `medassist rag build --stream`), or use `rag add` to append documents")
    built = manifest["config"]
    config = model_config(manifest, config)
    config = replace(config, embedding_cache="", chunk_tokens=built["chunk_tokens"],
                     chunk_overlap_tokens=built["chunk_overlap_tokens"], index=manifest["index_kind"],
                     checkpoint_every=1 if checkpoint else config.checkpoint_every)
    sources = source_files(files)
    embedded = _embed(sources, index_dir / SHARDS_DIR, config, problems, ray)
    gc.collect()
    stats = sharded.apply_updates(index_dir, [s.name for s in sources], config)
    stats["texts_embedded"] = embedded
    info = {key: manifest[key] for key in ("embedding_model", "query_model", "pooling", "dimension", "index_kind",
                                           "bytes_per_vector", "build_seconds")}
    info |= {"count": stats["count"], "documents": stats["documents"], "texts_embedded": embedded}
    old_sources = [SourceFile(Path(p), h) for p, h in manifest["data_sha256"].items()]
    updates = manifest.get("updates", [])
    _write_manifest(index_dir, replace(config, index=built["index"]), old_sources, info,
                    updates=updates + [s.name for s in sources if s.name not in updates])
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats
