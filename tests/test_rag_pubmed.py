"""Streamed PubMed builds, resume after a kill, update files, Ray: real gzipped PubMed XML written here,
the real MiniLM, real FAISS and SQLite files, the real ``medassist`` CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from medassist.cli import main
from medassist.rag import stream
from medassist.rag.chunking import Chunk
from medassist.rag.config import RagConfig
from medassist.rag.retriever import Retriever
from medassist.rag.shards import SHARDS_DIR, ShardWriter
from tests.fixtures.pubmed_xml import article, baseline, write_pubmed

# Small chunks and blocks, so every article has several chunks and every file several encode blocks.
CONFIG = RagConfig(chunk_tokens=48, chunk_overlap_tokens=8, encode_block=5, embedding_cache="")
OVERRIDES = ["--chunk-tokens", "48", "--chunk-overlap-tokens", "8", "--encode-block", "5"]
QUERIES = ["colchicine for gout flares", "isoniazid latent tuberculosis", "alteplase thrombolysis stroke"]


def snapshot(index_dir: Path) -> tuple[dict[int, tuple], dict[int, np.ndarray], dict[str, list[list[str]]]]:
    """Rows by chunk id, FAISS vectors by id (as loaded: checkpoint + journal), top PMIDs of QUERIES by mode."""
    import faiss

    r = Retriever.load(index_dir)
    rows = {row[0]: row[1:] for row in r.db.execute("SELECT id, pmid, chunk, title, text, year, journal, mesh "
                                                    "FROM chunks")}
    ids = faiss.vector_to_array(r.index.id_map)
    vectors = dict(zip(ids.tolist(), r.index.index.reconstruct_n(0, r.index.ntotal), strict=True))
    results = {mode: [[p.pmid for p in r.search(q, k=5, mode=mode)] for q in QUERIES]
               for mode in ("dense", "bm25", "hybrid")}
    r.close()
    return rows, vectors, results


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return baseline(tmp_path_factory.mktemp("pubmed"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpus) -> Path:
    """An uninterrupted streamed build, through the CLI."""
    out = tmp_path_factory.mktemp("ref") / "idx"
    main(["rag", "build", "--stream", "--corpus", *map(str, corpus), "--out", str(out), *OVERRIDES])
    return out


def test_streamed_build_indexes_pubmed_xml(reference, corpus, capsys):
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["layout"] == "sharded" and manifest["bm25"] == "fts5" and manifest["documents"] == 12
    assert manifest["count"] > 12 * 2  # several chunks per article
    assert manifest["index_kind"] == "flat" and not (reference / "build.json").exists()
    assert sorted(p.name.split(".xml.gz")[0] for p in (reference / SHARDS_DIR).iterdir()) == [
        "pubmed25n0001", "pubmed25n0002", "pubmed25n0003"]
    r = Retriever.load(reference)
    top = r.search("colchicine for gout flares", k=3, mode="hybrid")[0]
    assert top.pmid == "1001" and top.title == "Gout and colchicine" and top.year == 2020 and top.mesh == ("Gout",)
    assert r.search("isoniazid", k=1, mode="bm25")[0].pmid == "1005"
    r.close()
    main(["rag", "query", "alteplase after stroke", "--index", str(reference), "--json"])
    assert json.loads(capsys.readouterr().out)["results"][0]["pmid"] == "1009"


def _count_encoded(monkeypatch) -> list[int]:
    from sentence_transformers import SentenceTransformer

    counts: list[int] = []
    original = SentenceTransformer.encode

    def counting(self, sentences, *args, **kwargs):
        counts.append(len(sentences))
        return original(self, sentences, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", counting)
    return counts


def test_killed_build_resumes_without_reembedding_and_equals_uninterrupted(tmp_path, corpus, reference, monkeypatch):
    out = tmp_path / "idx"
    finish = ShardWriter.finish
    finished: list[str] = []

    def die_after_first_file(self, dim):  # the process "dies" while writing the second file's shard
        if finished:
            raise KeyboardInterrupt
        finished.append(self.source.name)
        return finish(self, dim)

    monkeypatch.setattr(ShardWriter, "finish", die_after_first_file)
    with pytest.raises(KeyboardInterrupt):
        stream.build(corpus, out, CONFIG)
    monkeypatch.setattr(ShardWriter, "finish", finish)
    assert [p.name for p in (out / SHARDS_DIR).iterdir() if not p.name.startswith(".")] == finished
    assert (out / "build.json").exists() and not (out / "manifest.json").exists()

    first_shard = out / SHARDS_DIR / finished[0] / "vectors.npy"
    mtime = first_shard.stat().st_mtime_ns
    encoded = _count_encoded(monkeypatch)
    info = stream.build(corpus, out, CONFIG)  # resume
    reference_manifest = json.loads((reference / "manifest.json").read_text())
    first_chunks = json.loads((out / SHARDS_DIR / finished[0] / "shard.json").read_text())["chunks"]
    assert sum(encoded) == info["texts_embedded"] == reference_manifest["count"] - first_chunks
    assert first_shard.stat().st_mtime_ns == mtime

    rows, vectors, results = snapshot(out)
    ref_rows, ref_vectors, ref_results = snapshot(reference)
    assert rows == ref_rows and results == ref_results
    assert vectors.keys() == ref_vectors.keys()
    assert all(np.array_equal(vectors[i], ref_vectors[i]) for i in vectors)


def test_update_revises_and_deletes_exactly_those_pmids(tmp_path, reference, capsys):
    index = tmp_path / "idx"
    shutil.copytree(reference, index)
    before_rows, before_vectors, _ = snapshot(index)
    revised, deleted = 1002, 1007  # asthma/salbutamol is revised into a new topic; pneumonia/amoxicillin withdrawn
    update_file = write_pubmed(tmp_path / "pubmed25n1400.xml.gz",
                               [article(revised, 9, revision="revised with artemether")], deletes=(deleted,))
    main(["rag", "update", str(update_file), "--index", str(index)])
    assert "1 files applied" in capsys.readouterr().out

    after_rows, after_vectors, _ = snapshot(index)
    pmid_of = {i: row[0] for i, row in {**before_rows, **after_rows}.items()}
    changed_rows = {pmid_of[i] for i in before_rows.keys() ^ after_rows.keys()}
    changed_rows |= {pmid_of[i] for i in before_rows.keys() & after_rows.keys() if before_rows[i] != after_rows[i]}
    changed_vectors = {pmid_of[i] for i in before_vectors.keys() ^ after_vectors.keys()}
    changed_vectors |= {pmid_of[i] for i in before_vectors.keys() & after_vectors.keys()
                        if not np.array_equal(before_vectors[i], after_vectors[i])}
    assert changed_rows == changed_vectors == {str(revised), str(deleted)}
    assert after_vectors.keys() == after_rows.keys()
    assert not any(row[0] == str(deleted) for row in after_rows.values())

    r = Retriever.load(index)
    for mode in ("dense", "bm25", "hybrid"):
        assert str(deleted) not in [p.pmid for p in r.search("amoxicillin pneumonia", k=12, mode=mode)]
    assert r.search("revised artemether", k=1, mode="bm25")[0].title.startswith("Malaria and artemether: revised")
    assert r.search("salbutamol", k=12, mode="bm25") == []  # the old text is gone from BM25 too
    r.close()
    manifest = json.loads((index / "manifest.json").read_text())
    update_shard = next((index / SHARDS_DIR).glob("pubmed25n1400*")).name
    assert manifest["documents"] == 11 and manifest["updates"] == [update_shard]

    # Applying the same file again changes nothing; a checkpoint leaves the loaded state as it was.
    main(["rag", "update", str(update_file), "--index", str(index), "--checkpoint"])
    assert "0 files applied (1 already were)" in capsys.readouterr().out
    assert len(list(index.glob("faiss-*.index"))) == 1
    rows, vectors, _ = snapshot(index)
    assert rows == after_rows and vectors.keys() == after_vectors.keys()
    assert all(np.array_equal(vectors[i], after_vectors[i]) for i in vectors)


def test_update_killed_before_commit_leaves_previous_state(tmp_path, reference, monkeypatch):
    from medassist.rag import sharded

    index = tmp_path / "idx"
    shutil.copytree(reference, index)
    before = snapshot(index)
    update_file = write_pubmed(tmp_path / "pubmed25n1401.xml.gz", [article(1003, 10, revision="new")],
                               deletes=(1004,))
    apply = sharded.apply_shard

    def killed_mid_transaction(db, shard):
        apply(db, shard)  # rows are deleted and inserted, then the process dies before COMMIT
        raise KeyboardInterrupt

    monkeypatch.setattr(sharded, "apply_shard", killed_mid_transaction)
    with pytest.raises(KeyboardInterrupt):
        stream.update(index, [update_file], CONFIG)
    rows, vectors, results = snapshot(index)
    assert rows == before[0] and results == before[2] and vectors.keys() == before[1].keys()

    monkeypatch.setattr(sharded, "apply_shard", apply)
    encoded = _count_encoded(monkeypatch)
    stats = stream.update(index, [update_file], CONFIG)  # the shard was written: nothing is embedded again
    assert sum(encoded) == stats["texts_embedded"] == 0 and stats["files"] == 1
    assert {row[0] for row in snapshot(index)[0].values()} == {str(p) for p in range(1001, 1013)} - {"1004"}


def test_update_refuses_an_unsharded_index(sample_index_dir, tmp_path, capsys):
    update_file = write_pubmed(tmp_path / "u.xml.gz", [article(1, 0)])
    with pytest.raises(SystemExit) as exit_info:
        main(["rag", "update", str(update_file), "--index", str(sample_index_dir)])
    assert exit_info.value.code == 2 and "rag build --stream" in capsys.readouterr().err


def test_non_integer_pmids_are_refused_before_embedding(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"pmid": "abc-1", "title": "T", "abstract": "Some text."}) + "\n")
    with pytest.raises(Exception, match="PMID 'abc-1': a sharded"):
        stream.build([corpus], tmp_path / "idx", CONFIG)


def test_ray_path_writes_the_same_shards(tmp_path, corpus, reference):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra medassist[ray]; `make setup` installs it")
    out = tmp_path / "idx"
    try:
        main(["rag", "build", "--ray", "--ray-workers", "2", "--corpus", *map(str, corpus), "--out", str(out),
              *OVERRIDES])
    finally:
        ray.shutdown()
    for shard in sorted((reference / SHARDS_DIR).iterdir()):
        mine = out / SHARDS_DIR / shard.name
        for name in ("chunks.jsonl", "deletes.json"):
            assert (mine / name).read_bytes() == (shard / name).read_bytes()
        a, b = np.load(mine / "vectors.npy"), np.load(shard / "vectors.npy")
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-5
    assert snapshot(out)[2] == snapshot(reference)[2]
    db = sqlite3.connect(out / "chunks.sqlite")
    assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == json.loads(
        (reference / "manifest.json").read_text())["count"]


def test_ivfpq_assembly_trains_quantizer_and_codes_on_their_own_samples(tmp_path, caplog):
    """IVF-PQ from shards, as a PubMed-sized build assembles it, on 4,000 seeded unit vectors in four
    shards (no encoder: training does not depend on where the vectors came from). The coarse k-means
    takes ``train_sample`` vectors, the PQ codes FAISS's 65,536 or the corpus; every stored vector then
    finds its own id through the real FAISS index and SQLite file."""
    import faiss

    from medassist.rag.sharded import assemble, load_faiss
    from medassist.rag.shards import Block, SourceFile

    # FAISS trains each PQ sub-quantizer in ~1.6 s here whatever the data's size: 4 of them, not 16
    dim, config = 32, RagConfig(index="ivfpq", pq_m=4, ivf_nlist=32, ivf_nprobe=32, train_sample=2000)
    rng = np.random.default_rng(5)
    names = []
    for f in range(4):
        chunks = [Chunk(pmid=str(40_000_000 + f * 1000 + i), chunk=0, title="t", text=f"text {f} {i}")
                  for i in range(1000)]
        vectors = rng.standard_normal((1000, dim), dtype=np.float32)
        writer = ShardWriter(tmp_path / SHARDS_DIR, SourceFile(tmp_path / f"f{f}.xml.gz", f"{f:064d}"), config)
        writer.add(Block(index=0, chunks=chunks, last=True), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        writer.finish(dim)
        names.append(writer.final.name)
    with caplog.at_level("INFO", logger="medassist.rag.sharded"):
        info = assemble(tmp_path, names, config, dim)
    assert info["index_kind"] == "ivfpq" and info["count"] == 4000
    assert "training the IVF quantizer (32 lists) on " in caplog.text and "of 4000 vectors" in caplog.text
    assert "training the PQ codes on 4000 vectors" in caplog.text
    db = sqlite3.connect(tmp_path / "chunks.sqlite")
    index = load_faiss(tmp_path, db, config)
    ivf = faiss.extract_index_ivf(index)
    assert index.is_trained and ivf.quantizer.ntotal == 32 and index.ntotal == 4000
    shard = np.load(tmp_path / SHARDS_DIR / names[2] / "vectors.npy")
    ids, rows = np.array(db.execute("SELECT id, row FROM chunks WHERE shard = ? ORDER BY row LIMIT 200",
                                    (names[2],)).fetchall()).T
    _, found = index.search(shard[rows], 10)
    assert np.mean([i in hits for i, hits in zip(ids, found, strict=True)]) >= 0.9
    assert db.execute("SELECT pmid FROM chunks WHERE id = ?", (int(ids[0]),)).fetchone()[0] == "40002000"
    db.close()
