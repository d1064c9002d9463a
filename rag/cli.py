"""``medassist rag``: build an index from PubMed files, add documents to it, query it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer

from medassist.clitools import OVERRIDES, leading_values, sub_app
from medassist.config import parse_config
from medassist.data import Problems, iter_pubmed
from medassist.errors import MedassistError
from medassist.rag import store
from medassist.rag import stream as streamed
from medassist.rag.config import RagConfig
from medassist.rag.retriever import Retriever
from medassist.rag.stream import RayOptions

app = sub_app("Retrieval over PubMed abstracts: build a FAISS + BM25 index, add documents, query it.")
log = logging.getLogger(__name__)

CORPUS_HELP = ("PubMed JSONL, MEDLINE XML (baseline .xml.gz) or PubMedQA ori_pqal.json; several files: "
               "--corpus A B C or --corpus A --corpus B.")
BAD_LINE_HELP = "skip: report each bad record (file, line, field) and go on; error: stop at the first one."


def _config_and_corpus(ctx: typer.Context, config: Path | None, corpus: list[Path]) -> tuple[Any, list[Path]]:
    """The config with its overrides, and every corpus file (``--corpus A B`` leaves B in ctx.args)."""
    more, overrides = leading_values(ctx.args)
    return parse_config(RagConfig, config, overrides), [*corpus, *map(Path, more)]


def _read(corpus: list[Path], on_bad_line: str) -> tuple[list[Any], Any]:
    """Abstracts of every corpus file; bad records raise (``error``) or are collected (``skip``)."""
    problems = _problems(on_bad_line)
    abstracts = [doc for path in corpus for doc in iter_pubmed(path, problems=problems)]
    _report(problems)
    return abstracts, problems


def _summary(verb: str, info: dict[str, Any], skipped: int, where: Path) -> str:
    return (f"{verb} {where}: {info['documents']} documents, {info['count']} chunks ({info['index_kind']}, "
            f"d={info['dimension']}, {info['embedding_model']}); embedded {info['texts_embedded']} new chunks; "
            f"skipped {skipped} bad records; {info['build_seconds']} s")


def _problems(on_bad_line: str) -> Any:
    if on_bad_line not in ("skip", "error"):
        raise MedassistError(f"--on-bad-line {on_bad_line!r}: expected skip or error")
    return Problems(strict=on_bad_line == "error")


def _report(problems: Any) -> None:
    for problem in problems.items[:20]:
        typer.echo(f"skipped: {problem}", err=True)
    if len(problems.items) > 20:
        typer.echo(f"... and {len(problems.items) - 20} more skipped records", err=True)


def _ray_options(ray: bool, address: str, workers: int, gpus: float) -> Any:
    return RayOptions(address=address, workers=workers, gpus_per_worker=gpus) if ray or address else None


STREAM_HELP = ("PubMed scale: embed file by file into resumable shards (OUT/shards), BM25 in SQLite FTS5, stable "
               "PMID ids that `rag update` can replace; a later copy of a PMID wins.")
RAY_HELP = "Embed on Ray Data (pip install 'medassist[ray]'): an actor pool of --ray-workers encoders."
RAY_ADDRESS_HELP = "A Ray cluster to join ('auto', 'ray://head:10001'); empty starts Ray on this machine."


@app.command("build", context_settings=OVERRIDES)
def build(
    ctx: typer.Context,
    corpus: list[Path] = typer.Option(..., help=CORPUS_HELP),
    out: Path = typer.Option(..., help="Index folder (replaced atomically: an interrupted build keeps the old one)."),
    config: Path = typer.Option(None, help="configs/rag-*.yaml; any key can be overridden, e.g. --index hnsw."),
    on_bad_line: str = typer.Option("skip", help=BAD_LINE_HELP),
    force: bool = typer.Option(False, help="Replace --out even if it is not a folder medassist wrote."),
    stream: bool = typer.Option(False, help=STREAM_HELP),
    ray: bool = typer.Option(False, help=RAY_HELP + " Implies --stream."),
    ray_address: str = typer.Option("", help=RAY_ADDRESS_HELP + " Implies --ray."),
    ray_workers: int = typer.Option(2, help="Embedding actors (each loads the model once)."),
    ray_gpus_per_worker: float = typer.Option(0.0, help="GPUs per embedding actor on a cluster with GPUs, e.g. 1."),
) -> None:
    """Chunk, embed (cached by content hash) and index the corpus: FAISS + SQLite metadata + BM25."""
    cfg, corpus = _config_and_corpus(ctx, config, corpus)
    ray_options = _ray_options(ray, ray_address, ray_workers, ray_gpus_per_worker)
    if stream or ray_options:
        problems = _problems(on_bad_line)
        info = streamed.build(corpus, out, cfg, force=force, ray=ray_options, problems=problems)
        _report(problems)
        typer.echo(_summary("built", info, len(problems.items), out))
        return
    abstracts, problems = _read(corpus, on_bad_line)
    info = store.build(abstracts, out, cfg, corpus=corpus, force=force)
    typer.echo(_summary("built", info, len(problems.items), out))


@app.command("update", context_settings=OVERRIDES)
def update(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="PubMed update files (pubmed25nNNNN.xml.gz), applied in order."),
    index: Path = typer.Option(..., help="Index folder written by `medassist rag build --stream`."),
    config: Path = typer.Option(None, help="Config YAML; its embedding model must be the index's."),
    on_bad_line: str = typer.Option("skip", help=BAD_LINE_HELP),
    checkpoint: bool = typer.Option(False, help="Rewrite the FAISS checkpoint now (else each checkpoint_every files)."),
    ray: bool = typer.Option(False, help=RAY_HELP),
    ray_address: str = typer.Option("", help=RAY_ADDRESS_HELP + " Implies --ray."),
    ray_workers: int = typer.Option(2, help="Embedding actors."),
    ray_gpus_per_worker: float = typer.Option(0.0, help="GPUs per embedding actor."),
) -> None:
    """Apply update files in place: revised PMIDs are replaced, DeleteCitation PMIDs removed (crash-safe journal)."""
    cfg = parse_config(RagConfig, config, leading_values(ctx.args)[1])
    problems = _problems(on_bad_line)
    stats = streamed.update(index, files, cfg, ray=_ray_options(ray, ray_address, ray_workers, ray_gpus_per_worker),
                            problems=problems, checkpoint=checkpoint)
    _report(problems)
    typer.echo(f"updated {index}: {stats['files']} files applied ({stats['skipped_already_applied']} already were), "
               f"{stats['removed']} chunk ids removed, {stats['added']} added, embedded {stats['texts_embedded']}; "
               f"{stats['documents']} documents, {stats['count']} chunks; {stats['seconds']} s")


@app.command("add", context_settings=OVERRIDES)
def add(
    ctx: typer.Context,
    index: Path = typer.Option(..., help="Index folder written by `medassist rag build`."),
    corpus: list[Path] = typer.Option(..., help=CORPUS_HELP),
    config: Path = typer.Option(None, help="Config YAML; its embedding model must be the index's."),
    on_bad_line: str = typer.Option("skip", help=BAD_LINE_HELP),
) -> None:
    """Append documents whose PMID is not in the index yet (old chunks are not re-embedded)."""
    cfg, corpus = _config_and_corpus(ctx, config, corpus)
    explicit = config is not None or any(a.startswith("--embedding") for a in ctx.args)
    abstracts, problems = _read(corpus, on_bad_line)
    info = store.add(index, abstracts, cfg, corpus=corpus, embedding_model=cfg.embedding_model if explicit else None)
    typer.echo(_summary("updated", info, len(problems.items), index))


@app.command("query")
def query(
    text: str = typer.Argument(..., help="The question or keywords."),
    index: Path = typer.Option(..., help="Index folder."),
    k: int = typer.Option(5, help="How many articles to return."),
    mode: str = typer.Option("hybrid", help="dense | bm25 | hybrid (reciprocal-rank fusion)."),
    embedding_model: str = typer.Option(None, help="Refuse to run unless the index was built with this model."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object {query, mode, results: [...]}."),
) -> None:
    """Print the top-k articles: PMID, score, title."""
    retriever = Retriever.load(index, embedding_model=embedding_model)
    passages = retriever.search(text, k=k, mode=mode)
    if as_json:
        results = [{"pmid": p.pmid, "title": p.title, "score": p.score, "year": p.year, "chunk": p.chunk}
                   for p in passages]
        typer.echo(json.dumps({"mode": mode, "k": k, "results": results}, ensure_ascii=False))
        return
    for rank, p in enumerate(passages, start=1):
        typer.echo(f"{rank:2d}. {p.pmid:>9}  {p.score:.4f}  {p.title or p.text[:80]}")
