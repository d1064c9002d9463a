"""``medassist rag``: build an index from PubMed files, add documents to it, query it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import typer

from medassist.clitools import OVERRIDES, leading_values, sub_app

app = sub_app("Retrieval over PubMed abstracts: build a FAISS + BM25 index, add documents, query it.")
log = logging.getLogger(__name__)

CORPUS_HELP = ("PubMed JSONL, MEDLINE XML (baseline .xml.gz) or PubMedQA ori_pqal.json; several files: "
               "--corpus A B C or --corpus A --corpus B.")
BAD_LINE_HELP = "skip: report each bad record (file, line, field) and go on; error: stop at the first one."


def _config_and_corpus(ctx: typer.Context, config: Path | None, corpus: list[Path]) -> tuple[Any, list[Path]]:
    """The config with its overrides, and every corpus file (``--corpus A B`` leaves B in ctx.args)."""
    from medassist.config import parse_config
    from medassist.rag.config import RagConfig

    more, overrides = leading_values(ctx.args)
    return parse_config(RagConfig, config, overrides), [*corpus, *map(Path, more)]


def _read(corpus: list[Path], on_bad_line: str) -> tuple[list[Any], Any]:
    """Abstracts of every corpus file; bad records raise (``error``) or are collected (``skip``)."""
    from medassist.data import Problems, iter_pubmed
    from medassist.errors import MedassistError

    if on_bad_line not in ("skip", "error"):
        raise MedassistError(f"--on-bad-line {on_bad_line!r}: expected skip or error")
    problems = Problems(strict=on_bad_line == "error")
    abstracts = [doc for path in corpus for doc in iter_pubmed(path, problems=problems)]
    for problem in problems.items[:20]:
        typer.echo(f"skipped: {problem}", err=True)
    if len(problems.items) > 20:
        typer.echo(f"... and {len(problems.items) - 20} more skipped records", err=True)
    return abstracts, problems


def _summary(verb: str, info: dict[str, Any], skipped: int, where: Path) -> str:
    return (f"{verb} {where}: {info['documents']} documents, {info['count']} chunks ({info['index_kind']}, "
            f"d={info['dimension']}, {info['embedding_model']}); embedded {info['texts_embedded']} new chunks; "
            f"skipped {skipped} bad records; {info['build_seconds']} s")


@app.command("build", context_settings=OVERRIDES)
def build(
    ctx: typer.Context,
    corpus: list[Path] = typer.Option(..., help=CORPUS_HELP),
    out: Path = typer.Option(..., help="Index folder (replaced atomically: an interrupted build keeps the old one)."),
    config: Path = typer.Option(None, help="configs/rag-*.yaml; any key can be overridden, e.g. --index hnsw."),
    on_bad_line: str = typer.Option("skip", help=BAD_LINE_HELP),
    force: bool = typer.Option(False, help="Replace --out even if it is not a folder medassist wrote."),
) -> None:
    """Chunk, embed (cached by content hash) and index the corpus: FAISS + SQLite metadata + BM25."""
    from medassist.rag import store

    cfg, corpus = _config_and_corpus(ctx, config, corpus)
    abstracts, problems = _read(corpus, on_bad_line)
    info = store.build(abstracts, out, cfg, corpus=corpus, force=force)
    typer.echo(_summary("built", info, len(problems.items), out))


@app.command("add", context_settings=OVERRIDES)
def add(
    ctx: typer.Context,
    index: Path = typer.Option(..., help="Index folder written by `medassist rag build`."),
    corpus: list[Path] = typer.Option(..., help=CORPUS_HELP),
    config: Path = typer.Option(None, help="Config YAML; its embedding model must be the index's."),
    on_bad_line: str = typer.Option("skip", help=BAD_LINE_HELP),
) -> None:
    """Append documents whose PMID is not in the index yet (old chunks are not re-embedded)."""
    from medassist.rag import store

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
    from medassist.rag.retriever import Retriever

    retriever = Retriever.load(index, embedding_model=embedding_model)
    passages = retriever.search(text, k=k, mode=mode)
    if as_json:
        results = [{"pmid": p.pmid, "title": p.title, "score": p.score, "year": p.year, "chunk": p.chunk}
                   for p in passages]
        typer.echo(json.dumps({"mode": mode, "k": k, "results": results}, ensure_ascii=False))
        return
    for rank, p in enumerate(passages, start=1):
        typer.echo(f"{rank:2d}. {p.pmid:>9}  {p.score:.4f}  {p.title or p.text[:80]}")
