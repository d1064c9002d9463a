"""PubMed-scale indexing benchmark: streamed build memory, Ray, resume, updates, haystack recall.

Sizes are arguments, so the same script measures 5k abstracts here and 1M on a bigger machine:

    python bench/bench_pubmed.py --out FILE.json [--quick | --full] [--only rss ray resume update haystack]
        [--rss-sizes 1000 3000] [--ray-size 2000] [--update-base 3000] [--revisions 100] [--deletions 10]
        [--distractors 3000] [--per-file 1000] [--update-random-vectors --embed-rate R] [--encoder-max-tokens 8]

1. ``rss``: ``rag build --stream`` of N synthetic abstracts (files of ``--per-file``), each build in a
   fresh process: peak RSS, seconds, chunks/s, FAISS bytes. Target: flat within x1.5 across sizes,
   apart from the index bytes.
2. ``ray``: the same corpus embedded single-process and on local Ray with 1 and 2 workers; the shards
   are compared (max |difference| of the vectors).
3. ``resume``: a build killed (SIGKILL) at a random moment, then resumed: chunks of finished files
   embedded again (must be 0), the most work a kill can lose (one file's chunks) and both processes' peak
   RSS; with ``--embed-rate`` the kill moment comes from that rate instead of a reference build.
4. ``update``: one update file with R revisions and D deletions applied to an N-abstract index:
   seconds and bytes written (``/proc/self/io``), against re-assembling the index from its shards and
   against a full rebuild (embedding included, at the measured rate).
5. ``haystack``: PubMedQA's gold abstracts (``../shared/data/pubmedqa``) hidden among distractors,
   IVF-PQ forced: recall@1/@10 and p95 latency for dense, BM25 (FTS5) and hybrid. Half the distractors
   are templated abstracts, half recombine five real clinical sentences from MedQA/MedMCQA (when
   present) so that a question's vocabulary also occurs outside its gold abstract.

Synthetic abstracts are PubMed-shaped (title + labelled sections, ~90 words: one chunk each) and
written as gzipped PubMed XML, combining diseases, interventions, outcomes and designs at random.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from harness import results_document

from medassist.io import atomic_write_json

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the synthetic PubMed XML writer (tests/fixtures/pubmed_xml.py) is the tests' own
SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PUBMED_ABSTRACTS = 36_000_000

DISEASES = ("gout", "asthma", "sepsis", "migraine", "tuberculosis", "heart failure", "pneumonia", "type 2 diabetes",
            "ischaemic stroke", "malaria", "psoriasis", "iron deficiency anaemia", "atrial fibrillation", "COPD",
            "rheumatoid arthritis", "hypertension", "chronic kidney disease", "hepatitis C", "HIV infection",
            "major depression", "schizophrenia", "epilepsy", "Parkinson disease", "multiple sclerosis",
            "breast cancer", "colorectal cancer", "lung cancer", "prostate cancer", "osteoporosis", "obesity",
            "bronchiolitis", "otitis media", "preeclampsia", "gestational diabetes", "neonatal jaundice",
            "cystic fibrosis", "sickle cell disease", "coeliac disease", "Crohn disease", "ulcerative colitis")
INTERVENTIONS = ("metformin", "colchicine", "salbutamol", "early antibiotics", "alteplase", "amoxicillin",
                 "isoniazid", "artemether", "ustekinumab", "ferrous sulfate", "apixaban", "tiotropium",
                 "methotrexate", "amlodipine", "dapagliflozin", "sofosbuvir", "dolutegravir", "sertraline",
                 "clozapine", "levetiracetam", "levodopa", "ocrelizumab", "tamoxifen", "FOLFOX", "pembrolizumab",
                 "enzalutamide", "alendronate", "semaglutide", "nebulised saline", "aspirin", "phototherapy",
                 "ivacaftor", "hydroxyurea", "a gluten-free diet", "infliximab", "mesalazine", "exercise training",
                 "cognitive behavioural therapy", "vitamin D", "telemonitoring")
OUTCOMES = ("mortality", "hospital admission", "symptom scores", "quality of life", "relapse", "adverse events",
            "length of stay", "readmission at 30 days", "biomarker levels", "treatment adherence", "pain scores",
            "functional status", "progression-free survival", "remission", "exacerbation rate")
DESIGNS = ("randomised controlled trial", "prospective cohort", "retrospective cohort", "case-control study",
           "cross-sectional survey", "meta-analysis", "pragmatic trial", "registry analysis")
POPULATIONS = ("adults", "children", "older adults", "pregnant women", "outpatients", "inpatients",
               "primary care patients", "veterans")


def synthetic_abstract(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
    d, i, o, o2 = rng.choice(DISEASES), rng.choice(INTERVENTIONS), rng.choice(OUTCOMES), rng.choice(OUTCOMES)
    design, pop = rng.choice(DESIGNS), rng.choice(POPULATIONS)
    n, effect, p = rng.randint(40, 9000), rng.uniform(0.5, 1.6), rng.choice(("0.001", "0.01", "0.04", "0.2", "0.6"))
    title = f"{i.capitalize()} and {o} in {pop} with {d}: a {design}"
    return title, [
        ("BACKGROUND", f"Whether {i} changes {o} in {d} is uncertain, and {o2} has rarely been reported."),
        ("METHODS", f"We conducted a {design} of {n} {pop} with {d} comparing {i} with usual care."),
        ("RESULTS", f"{i.capitalize()} was associated with a relative risk of {effect:.2f} for {o} (p={p}); "
                    f"{o2} did not differ."),
        ("CONCLUSIONS", f"In {pop} with {d}, {i} {'may improve' if effect < 1 else 'did not improve'} {o}."),
    ]


def write_corpus(folder: Path, count: int, per_file: int, seed: int, first_pmid: int = 30_000_001,
                 make: Callable[[random.Random], tuple[str, list[tuple[str, str]]]] = synthetic_abstract) -> list[Path]:
    from tests.fixtures.pubmed_xml import Article, write_pubmed

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, count, per_file):
        articles = []
        for pmid in range(first_pmid + start, first_pmid + min(count, start + per_file)):
            title, sections = make(rng)
            articles.append(Article(pmid, title, sections, year=rng.randint(1990, 2025)))
        paths.append(write_pubmed(folder / f"pubmed25n{len(paths) + 1:04d}.xml.gz", articles))
    return paths


def clinical_sentences() -> list[str]:
    """Sentences of the MedQA and MedMCQA questions present in ``../shared/data`` (none when absent)."""
    from medassist.data import load_medmcqa, load_medqa

    texts: list[str] = []
    for path, load in ((SHARED / "medqa" / "us_5options_dev.jsonl", load_medqa),
                       (SHARED / "medqa" / "us_4options_train_subset_1030.json", load_medqa),
                       (SHARED / "medmcqa" / "medmcqa_dev_subset_2816.jsonl", load_medmcqa)):
        if path.is_file():
            texts += [item.question for item in load(path)]
    sentences = (s.strip() for text in texts for s in re.split(r"(?<=[.?!])\s+(?=[A-Z])", text))
    return sorted({s for s in sentences if 6 <= len(s.split()) <= 60})


def recombined_abstract(sentences: list[str]) -> Callable[[random.Random], tuple[str, list[tuple[str, str]]]]:
    """Hard distractors: five real clinical sentences each (MedQA/MedMCQA, never PubMedQA), drawn at random.

    Templated abstracts share a small vocabulary; these cover all of medicine in real clinical English, so a
    question's words also occur in its distractors, as they do in PubMed.
    """
    return lambda rng: ("", [("", " ".join(rng.sample(sentences, 5)))])


def _write_bytes() -> int:
    with open("/proc/self/io") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("write_bytes"))


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class TreeRSS(threading.Thread):
    """Peak of the summed RSS of this process and all its descendants (Ray's raylet and actors), every 2 s.

    Pages shared between processes (Ray's object store) count once per process, so this is an upper bound.
    """

    def __init__(self, pid: int | None = None) -> None:
        super().__init__(daemon=True)
        self.pid = pid  # None: this process
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil  # installed with peft/accelerate

        try:
            me = psutil.Process(self.pid)
        except psutil.Error:  # it ended before the first sample
            return
        while not self.stop.wait(2.0):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a process that ended between listing and reading
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)


def _truncate_encoder(stream: Any, max_tokens: int) -> None:
    """Make the single-process build's encoder read only ``max_tokens`` word pieces of each chunk.

    For memory runs only (``rss --encoder-max-tokens``): the vectors are not the index's real ones, but
    everything that grows with the corpus (chunks, shards, SQLite, the IVF sample and index) is the same,
    and embedding runs ~10x faster (MiniLM at 8 word pieces: 402 texts/s here, against 38 at 256), so a
    1M-abstract build took 69 minutes instead of about eight hours. The encoder's activations shrink too
    (the 10k build peaked at 792 MiB against 1,191 at full length), so compare sizes built with the same
    setting.
    """
    load = stream.load_encoder

    def truncated(*args: Any, **kwargs: Any) -> Any:
        encoder = load(*args, **kwargs)
        encoder.max_seq_length = max_tokens
        return encoder

    stream.load_encoder = truncated


def child(args: argparse.Namespace) -> None:
    """One build or update in a fresh process; prints its facts and its own peak RSS as JSON."""
    from medassist.rag import stream
    from medassist.rag.config import RagConfig

    config = RagConfig(index=args.index, embedding_cache="")
    if args.encoder_max_tokens:
        _truncate_encoder(stream, args.encoder_max_tokens)
    ray = stream.RayOptions(workers=args.ray_workers) if args.ray_workers else None
    written = _write_bytes()
    tree = TreeRSS()
    tree.start()
    started = time.perf_counter()
    if args.child == "build":
        info = stream.build(args.files, args.index_dir, config, ray=ray)
    else:
        info = stream.update(args.index_dir, args.files, config, ray=ray)
    info["seconds"] = round(time.perf_counter() - started, 2)
    info["bytes_written"] = _write_bytes() - written
    info["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    tree.stop.set()
    info["peak_rss_mib_all_processes"] = round(tree.peak / 2**20, 1)
    if args.ray_workers:
        import ray as ray_module

        ray_module.shutdown()
    print("RESULT " + json.dumps(info, default=str), flush=True)


def run_child(kind: str, files: list[Path], index_dir: Path, index: str = "auto", ray_workers: int = 0,
              encoder_max_tokens: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--index-dir", str(index_dir), "--index", index,
           "--ray-workers", str(ray_workers), "--encoder-max-tokens", str(encoder_max_tokens),
           "--files", *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{kind} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def bench_rss(tmp: Path, sizes: list[int], per_file: int, encoder_max_tokens: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for n in sizes:
        files = write_corpus(tmp / f"rss-{n}", n, per_file, seed=n)
        out = tmp / f"rss-{n}-idx"
        info = run_child("build", files, out, encoder_max_tokens=encoder_max_tokens)
        faiss_bytes = sum(p.stat().st_size for p in out.glob("faiss-*.index"))
        rows[str(n)] = {"abstracts": n, "chunks": info["count"], "seconds": info["seconds"],
                        "chunks_per_s": round(info["count"] / info["seconds"], 1),
                        "peak_rss_mib": info["peak_rss_mib"], "faiss_bytes": faiss_bytes,
                        "index_dir_bytes": _tree_bytes(out), "index_kind": info["index_kind"]}
        print(f"rss n={n}: {rows[str(n)]}", file=sys.stderr, flush=True)
        shutil.rmtree(out)
        shutil.rmtree(files[0].parent)
    peaks = [r["peak_rss_mib"] - r["faiss_bytes"] / 2**20 for r in rows.values()]
    return {"sizes": rows, "encoder_max_tokens": encoder_max_tokens or "the model's own",
            "rss_ratio_largest_over_smallest_minus_index": round(max(peaks) / min(peaks), 3)}


def bench_ray(tmp: Path, size: int, per_file: int, runs: list[int]) -> dict[str, Any]:
    """The same build in one process (0 in ``runs``) and on a local Ray with 1, 2... embedding workers."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return {"skipped": "ray is not installed (pip install 'medassist[ray]')"}
    files = write_corpus(tmp / "ray", size, per_file, seed=7)
    out: dict[str, Any] = {"abstracts": size}
    shards = {}
    for workers in runs:
        name = "single_process" if workers == 0 else f"ray_{workers}_worker{'s' if workers > 1 else ''}"
        index_dir = tmp / f"ray-{name}"
        info = run_child("build", files, index_dir, ray_workers=workers)
        out[name] = {"seconds": info["seconds"], "chunks": info["count"],
                     "chunks_per_s": round(info["count"] / info["seconds"], 1),
                     "peak_rss_mib_driver": info["peak_rss_mib"],
                     "peak_rss_mib_all_processes": info["peak_rss_mib_all_processes"]}
        shards[name] = index_dir / "shards"
        print(f"ray {name}: {out[name]}", file=sys.stderr, flush=True)
        if len(shards) > 2:
            shutil.rmtree(index_dir.parent / f"ray-{list(shards)[-2]}")  # keep the first, for the comparison
    names = list(shards)
    for a, b in itertools.pairwise(names):
        out[f"seconds_{b}_over_{a}"] = round(out[b]["seconds"] / out[a]["seconds"], 3)
    first, last = names[0], names[-1]
    diffs, same_chunks = [], True
    for shard in shards[first].iterdir():
        other = shards[last] / shard.name
        diffs.append(float(np.abs(np.load(shard / "vectors.npy") - np.load(other / "vectors.npy")).max()))
        same_chunks &= (shard / "chunks.jsonl").read_bytes() == (other / "chunks.jsonl").read_bytes()
    out["shards_compared"] = [first, last]
    out["shards_identical_chunks"] = same_chunks
    out["shards_max_abs_vector_difference"] = max(diffs)
    return out


def bench_resume(tmp: Path, size: int, per_file: int, embed_rate: float | None) -> dict[str, Any]:
    """A build killed at a random moment and resumed. The moment is drawn from an uninterrupted
    reference build's duration or, with ``embed_rate`` (chunks/s, as ``rss`` measured it), from the
    duration that rate predicts: at 100k abstracts that saves a whole build. The chunk total is the
    resumed build's own count, so no reference is needed to count what was embedded again."""
    from medassist.rag.shards import SHARDS_DIR

    files = write_corpus(tmp / "resume", size, per_file, seed=11)
    index_dir = tmp / "resume-idx"
    out: dict[str, Any] = {"abstracts": size, "files": len(files)}
    if embed_rate:
        expected = size / embed_rate + 30  # ~one chunk per synthetic abstract, plus start-up and assembly
        out["kill_moment_from"] = f"--embed-rate {embed_rate}: ~{expected:.0f} s expected"
    else:
        reference = run_child("build", files, tmp / "resume-ref")
        expected = reference["seconds"]
        out["kill_moment_from"] = f"a reference build of {expected:.0f} s"
    cmd = [sys.executable, __file__, "--child", "build", "--index-dir", str(index_dir), "--index", "auto",
           "--ray-workers", "0", "--files", *map(str, files)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    killed_rss = TreeRSS(proc.pid)
    killed_rss.start()
    kill_after = random.Random(5).uniform(0.3, 0.8) * expected  # a random moment of a build
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_rss.stop.set()
    finished = [json.loads(p.read_text())["chunks"] for p in (index_dir / SHARDS_DIR).glob("*/shard.json")]
    info = run_child("build", files, index_dir)
    total = info["count"]
    return {**out, "chunks": total, "killed_after_s": round(kill_after, 1),
            "files_finished_before_kill": len(finished), "resume_texts_embedded": info["texts_embedded"],
            "finished_chunks_embedded_again": info["texts_embedded"] - (total - sum(finished)),
            "most_work_a_kill_can_lose_chunks": max(json.loads(p.read_text())["chunks"]
                                                    for p in (index_dir / SHARDS_DIR).glob("*/shard.json")),
            "peak_rss_mib_killed_build": round(killed_rss.peak / 2**20, 1),
            "peak_rss_mib_resumed_build": info["peak_rss_mib"], "resumed_build_seconds": info["seconds"],
            "resumed_chunks_per_s": round(info["texts_embedded"] / info["seconds"], 1),
            "index_kind": info["index_kind"]}


def random_vector_shards(files: list[Path], index_dir: Path) -> dict[str, Any]:
    """Shards for ``files`` with their real chunks (the real tokenizer and splitter) but seeded random
    unit vectors in place of embeddings: what an update costs on a large index does not depend on
    the vectors' values, and this writes a 1M-vector index in minutes instead of 9 hours of
    embedding. The build that follows finds every shard done and only assembles."""
    from tqdm.auto import tqdm

    from medassist.rag.chunking import make_splitter
    from medassist.rag.config import RagConfig
    from medassist.rag.embed import load_encoder
    from medassist.rag.shards import SHARDS_DIR, ShardWriter, file_blocks, source_files
    from medassist.rag.stream import BUILD_STATE

    config = RagConfig(index="auto", embedding_cache="")  # the settings the build child checks shards against
    index_dir.mkdir(parents=True)
    (index_dir / BUILD_STATE).write_text("{}")  # an unfinished build of ours: the build child resumes it
    encoder = load_encoder(config.embedding_model, config.device, config.pooling)
    splitter = make_splitter(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap_tokens)
    dim = int(encoder.get_embedding_dimension())
    rng = np.random.default_rng(23)
    started, chunks = time.perf_counter(), 0
    for source in tqdm(source_files(files), desc="random-vector shards", unit="file"):
        writer = ShardWriter(index_dir / SHARDS_DIR, source, config)
        for block in file_blocks(source.path, splitter, config.encode_block):
            vectors = rng.standard_normal((len(block.chunks), dim), dtype=np.float32)
            writer.add(block, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
            chunks += len(block.chunks)
        writer.finish(dim)
    return {"chunks": chunks, "seconds": round(time.perf_counter() - started, 1)}


def bench_update(tmp: Path, base: int, revisions: int, deletions: int, per_file: int,
                 random_vectors: bool = False, embed_rate: float | None = None) -> dict[str, Any]:
    """With ``random_vectors`` the base index's shards hold random vectors (``random_vector_shards``)
    and the full rebuild is not run: its seconds are the embedding at ``embed_rate`` (chunks/s
    measured by ``rss``) plus the re-assembly, which is measured. The update file is always embedded."""
    from tests.fixtures.pubmed_xml import Article, write_pubmed

    files = write_corpus(tmp / "update", base, per_file, seed=13)
    index_dir = tmp / "update-idx"
    out: dict[str, Any] = {"base_abstracts": base, "revisions": revisions, "deletions": deletions,
                           "base_vectors": "random (not embedded)" if random_vectors else "embedded"}
    if random_vectors:
        out["random_vector_shards"] = random_vector_shards(files, index_dir)
    built = run_child("build", files, index_dir)
    rng = random.Random(17)
    pmids = rng.sample(range(30_000_001, 30_000_001 + base), revisions + deletions)
    articles = [Article(p, *synthetic_abstract(rng)) for p in pmids[:revisions]]
    update_file = write_pubmed(tmp / "pubmed25n1500.xml.gz", articles, deletes=tuple(pmids[revisions:]))
    before = _tree_bytes(index_dir)
    update = run_child("update", [update_file], index_dir)
    out |= {"index_chunks": built["count"], "index_kind": built["index_kind"], "assemble_seconds": built["seconds"],
            "assemble_peak_rss_mib": built["peak_rss_mib"], "update_seconds": update["seconds"],
            "update_texts_embedded": update["texts_embedded"], "update_bytes_written": update["bytes_written"],
            "update_peak_rss_mib": update["peak_rss_mib"], "index_dir_bytes_before": before,
            "index_dir_growth_bytes": _tree_bytes(index_dir) - before}
    from medassist.rag import sharded
    from medassist.rag.config import RagConfig
    from medassist.rag.shards import source_files

    rebuild_dir = index_dir if random_vectors else tmp / "update-rebuild"
    if not random_vectors:
        rebuild = run_child("build", [*files, update_file], rebuild_dir)  # embeds everything again
        out |= {"full_rebuild_seconds": rebuild["seconds"], "full_rebuild_bytes_written": rebuild["bytes_written"]}
    written, started = _write_bytes(), time.perf_counter()  # re-assembling from the shards: the cheapest rebuild
    sharded.assemble(rebuild_dir, [s.name for s in source_files([*files, update_file])], RagConfig(), 384)
    out |= {"reassemble_from_shards_seconds": round(time.perf_counter() - started, 2),
            "reassemble_from_shards_bytes_written": _write_bytes() - written}
    if random_vectors and embed_rate:
        out |= {"full_rebuild_seconds_projected": round(built["count"] / embed_rate + out["reassemble_from_shards_"
                                                                                          "seconds"], 1),
                "projected_at_chunks_per_s": embed_rate}
    rebuild_seconds = out.get("full_rebuild_seconds") or out.get("full_rebuild_seconds_projected")
    if rebuild_seconds:
        out["update_over_rebuild_seconds"] = round(update["seconds"] / rebuild_seconds, 5)
    return out


def bench_haystack(tmp: Path, distractors: int, per_file: int, gold_limit: int | None) -> dict[str, Any]:
    from medassist.data import load_pubmedqa
    from medassist.rag.evaluate import pubmedqa_abstracts
    from medassist.rag.retriever import Retriever
    from tests.fixtures.pubmed_xml import Article, write_pubmed

    path = SHARED / "pubmedqa" / "ori_pqal.json"
    if not path.is_file():
        return {"skipped": f"{path} not present"}
    items = load_pubmedqa(path)[:gold_limit]
    gold = [Article(int(a.pmid), a.title, [("", a.abstract)]) for a in pubmedqa_abstracts(items)]
    sentences = clinical_sentences()
    recombined = distractors // 2 if sentences else 0
    files = [write_pubmed(tmp / "haystack-gold.xml.gz", gold),
             *write_corpus(tmp / "haystack", distractors - recombined, per_file, seed=19, first_pmid=40_000_001),
             *write_corpus(tmp / "haystack-clinical", recombined, per_file, seed=23, first_pmid=50_000_001,
                           make=recombined_abstract(sentences))]
    index_dir = tmp / "haystack-idx"
    info = run_child("build", files, index_dir, index="ivfpq")
    r = Retriever.load(index_dir)
    out: dict[str, Any] = {"gold": len(gold), "distractors": distractors,
                           "distractor_kinds": {"templated": distractors - recombined,
                                                "recombined_clinical_sentences": recombined,
                                                "sentence_pool": len(sentences)},
                           "chunks": info["count"], "index_kind": info["index_kind"],
                           "build_seconds": info["seconds"], "build_peak_rss_mib": info["peak_rss_mib"]}
    for mode in ("dense", "bm25", "hybrid"):
        ranks, latencies = [], []
        for item in items:
            r.embed_query.cache_clear()
            started = time.perf_counter()
            found = [p.pmid for p in r.search(item.question, k=10, mode=mode)]
            latencies.append(time.perf_counter() - started)
            ranks.append(found.index(item.pmid) + 1 if item.pmid in found else None)
        out[mode] = {"recall_at_1": round(float(np.mean([x == 1 for x in ranks])), 4),
                     "recall_at_10": round(float(np.mean([x is not None for x in ranks])), 4),
                     "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1),
                     "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 1)}
        print(f"haystack {mode}: {out[mode]}", file=sys.stderr, flush=True)
    r.close()
    return out


def projection(results: dict[str, Any], chunks_per_abstract: float = 1.5) -> dict[str, Any]:
    """Full PubMed from the measured chunk rate (synthetic ~90-word abstracts are shorter than real ones)."""
    rss = results.get("rss", {}).get("sizes", {})
    if not rss or results["rss"]["encoder_max_tokens"] != "the model's own":
        return {}  # no rate, or a truncated encoder's (not a real one)
    rate = max(r["chunks_per_s"] for r in rss.values())
    chunks = PUBMED_ABSTRACTS * chunks_per_abstract
    return {"assumed_chunks_per_abstract": chunks_per_abstract, "chunks": chunks, "measured_chunks_per_s": rate,
            "embedding_days_this_machine": round(chunks / rate / 86400, 1),
            "ivfpq_bytes_per_vector": 56, "faiss_gib": round(chunks * 56 / 2**30, 1),
            "shard_vectors_gib": round(chunks * 384 * 4 / 2**30, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="Tiny sizes: a smoke run of every step.")
    parser.add_argument("--full", action="store_true", help="The issue's sizes (10k/100k/1M, 200k distractors): "
                        "days of embedding on 2 cores; see docs/RETRIEVAL.md for projections.")
    parser.add_argument("--only", nargs="*", default=["rss", "ray", "resume", "update", "haystack"])
    parser.add_argument("--rss-sizes", type=int, nargs="*")
    parser.add_argument("--ray-size", type=int)
    parser.add_argument("--ray-runs", type=int, nargs="*", default=[0, 1, 2],
                        help="ray: embedding workers per build, 0 = the single-process path")
    parser.add_argument("--resume-size", type=int)
    parser.add_argument("--update-base", type=int)
    parser.add_argument("--revisions", type=int)
    parser.add_argument("--deletions", type=int)
    parser.add_argument("--distractors", type=int)
    parser.add_argument("--gold", type=int, help="PubMedQA questions (default all 1,000)")
    parser.add_argument("--per-file", type=int)
    # internal: one measured build/update in a fresh process
    parser.add_argument("--update-random-vectors", action="store_true",
                        help="update: the base index's shards get random vectors, not embeddings (the update's cost "
                        "does not depend on them; a 1M-vector base in minutes, not 9 hours); the full rebuild is then "
                        "projected at --embed-rate plus the measured re-assembly")
    parser.add_argument("--embed-rate", type=float, help="chunks/s (as measured by rss): update's projected "
                        "rebuild; resume's kill moment without a reference build")
    parser.add_argument("--encoder-max-tokens", type=int, default=0,
                        help="rss: the encoder reads this many word pieces of each chunk (0: all). Memory runs "
                        "only: the vectors are not the real ones, and chunks/s is not the real rate")
    parser.add_argument("--child", choices=["build", "update"])
    parser.add_argument("--files", type=Path, nargs="*")
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--index", default="auto")
    parser.add_argument("--ray-workers", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        return child(args)
    full = {"rss_sizes": [10_000, 100_000, 1_000_000], "ray_size": 100_000, "resume_size": 100_000,
            "update_base": 1_000_000, "revisions": 1000, "deletions": 100, "distractors": 200_000,
            "per_file": 30_000}
    default = {"rss_sizes": [1000, 5000], "ray_size": 2000, "resume_size": 5000, "update_base": 5000,
               "revisions": 100, "deletions": 10, "distractors": 5000, "per_file": 1000}
    quick = {"rss_sizes": [300, 1000], "ray_size": 200, "resume_size": 400, "update_base": 400, "revisions": 40,
             "deletions": 4, "distractors": 1000, "per_file": 100}
    sizes = full if args.full else quick if args.quick else default
    sizes |= {k: v for k, v in vars(args).items() if k in sizes and v is not None}
    results: dict[str, Any] = {"sizes": sizes, "load_avg_1min_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        steps = {
            "rss": lambda: bench_rss(tmp, sizes["rss_sizes"], sizes["per_file"], args.encoder_max_tokens),
            "ray": lambda: bench_ray(tmp, sizes["ray_size"], sizes["per_file"], args.ray_runs),
            "resume": lambda: bench_resume(tmp, sizes["resume_size"], sizes["per_file"], args.embed_rate),
            "update": lambda: bench_update(tmp, sizes["update_base"], sizes["revisions"], sizes["deletions"],
                                           sizes["per_file"], args.update_random_vectors, args.embed_rate),
            "haystack": lambda: bench_haystack(tmp, sizes["distractors"], sizes["per_file"], args.gold),
        }
        for name in args.only:
            started = time.perf_counter()
            results[name] = steps[name]()
            results[name]["bench_seconds"] = round(time.perf_counter() - started, 1)
            if args.out:  # after every step, so an interrupted run keeps what it measured
                atomic_write_json(args.out, results_document("pubmed", results, args.quick))
    results["full_pubmed_projection"] = projection(results)
    results["load_avg_1min_end"] = os.getloadavg()[0]
    if args.out:
        atomic_write_json(args.out, results_document("pubmed", results, args.quick))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
