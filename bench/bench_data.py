"""Data-layer throughput and prompt sizes.

Measures loaders (real ../shared/data files when present, else the bundled samples), DDXPlus
vignette rendering, streaming MEDLINE XML parsing, PHI scrubbing, deduplication and
decontamination, and the token length of built chat examples under the tokenizer of the embedded
default, SmolLM2-135M-Instruct (read from its GGUF file), since its SFT recipe trains with
``max_length`` 768.

    .venv/bin/python bench/bench_data.py --out FILE.json [--quick]
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import bench_parser, write_results

from medassist.data import (
    SAMPLES,
    build_examples,
    decontaminate,
    deduplicate,
    iter_pubmed,
    load_ddxplus,
    load_medqa,
    load_pubmedqa,
    scrub,
)
from medassist.data.phi_eval import clinical_text_lost

SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def sources() -> dict[str, Path]:
    if (SHARED / "ddxplus").is_dir():
        d = SHARED / "ddxplus"
        return {"medqa": SHARED / "medqa" / "us_5options_dev.jsonl",
                "medqa_train": SHARED / "medqa" / "us_4options_train_subset_1030.json",
                "pubmedqa": SHARED / "pubmedqa" / "ori_pqal.json",
                "ddx_csv": d / "release_validate_patients_subset_en.csv",
                "ddx_cond": d / "release_conditions.json", "ddx_evid": d / "release_evidences.json"}
    d = SAMPLES / "ddxplus"
    return {"medqa": SAMPLES / "medqa_sample.jsonl", "medqa_train": SAMPLES / "medqa_sample.jsonl",
            "pubmedqa": SAMPLES / "pubmedqa_sample.json", "ddx_csv": d / "patients_sample.csv",
            "ddx_cond": d / "release_conditions.json", "ddx_evid": d / "release_evidences.json"}


def big_medline(path: Path, articles: int) -> None:
    """A MEDLINE file of ``articles`` articles made by repeating the sample's, with fresh PMIDs."""
    text = (SAMPLES / "pubmed_sample.xml").read_text()
    head, body = text.split("<PubmedArticleSet>")
    body = body.replace("</PubmedArticleSet>", "").strip().splitlines()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + "<PubmedArticleSet>\n")
        for i in range(articles):
            article = body[i % len(body)]
            pmid = article.split("<PMID Version=\"1\">")[1].split("<")[0]
            handle.write(article.replace(pmid, str(10_000_000 + i)) + "\n")
        handle.write("</PubmedArticleSet>\n")


def percentiles(values: list[int]) -> dict[str, float]:
    values = sorted(values)
    return {"mean": round(statistics.fmean(values), 1), "p95": values[int(0.95 * (len(values) - 1))],
            "max": values[-1], "over_768": sum(v > 768 for v in values)}


def main() -> None:
    parser = bench_parser(__doc__, "smaller inputs (about a minute)")
    args = parser.parse_args()
    n_xml = 2_000 if args.quick else 20_000
    n_rows = 1_000 if args.quick else None
    src = sources()
    results: dict[str, Any] = {"data": "shared" if src["ddx_csv"].parent.parent == SHARED else "samples"}

    medqa, t = timed(load_medqa, src["medqa"])
    results["load_medqa_items_per_s"] = round(len(medqa) / t)
    pubmedqa, t = timed(load_pubmedqa, src["pubmedqa"])
    results["load_pubmedqa_items_per_s"] = round(len(pubmedqa) / t)
    (patients, kb), t = timed(load_ddxplus, src["ddx_csv"], src["ddx_cond"], src["ddx_evid"])
    results["load_ddxplus_patients_per_s"] = round(len(patients) / t)
    patients = patients[:n_rows] if n_rows else patients
    vignettes, t = timed(lambda: [kb.vignette(p) for p in patients])
    results["vignettes_per_s"] = round(len(vignettes) / t)

    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "medline.xml"
        big_medline(xml, n_xml)
        parsed, t = timed(lambda: sum(1 for _ in iter_pubmed(xml)))
        results["medline_xml_articles_per_s"] = round(parsed / t)
        results["medline_xml_mb_per_s"] = round(xml.stat().st_size / 2**20 / t, 2)

    lines = [f"2026-03-{i % 28 + 1:02d} user jane{i}@example.org (MRN: {100000 + i}) asked Dr. Smith about "
             f"chest pain, call 555-01{i % 100:02d}-{i % 10000:04d}; BP 130/85, HR 96" for i in range(5_000)]
    _, t = timed(lambda: [scrub(line) for line in lines])
    results["phi_scrub_lines_per_s"] = round(len(lines) / t)
    results["phi_scrub_mb_per_s"] = round(sum(map(len, lines)) / 2**20 / t, 2)
    # precision on real clinical English: MedQA's vignettes hold no identifier but ages
    vignettes_text = [item.question for item in medqa[: 300 if args.quick else 1000]]
    results["phi_clinical_text_lost_medqa"] = {engine: clinical_text_lost(vignettes_text, engine)
                                               for engine in ("rules", "presidio")}

    train = load_medqa(src["medqa_train"])
    pool = (train + medqa)[: 600 if args.quick else None]
    _, t = timed(deduplicate, pool)
    results["dedup_items_per_s"] = round(len(pool) / t)
    (_, report), t = timed(decontaminate, train, medqa)
    results["decontaminate"] = {"train": len(train), "eval": len(medqa), "removed": report.removed,
                                "seconds": round(t, 2)}

    from transformers import AutoTokenizer

    from medassist.models.smollm2 import locate_gguf

    gguf = locate_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    examples = {
        "medqa": build_examples("medqa", medqa[:300]),
        "pubmedqa": build_examples("pubmedqa", pubmedqa[:300], max_context_words=200),
        "ddxplus": build_examples("ddxplus", patients[:300], kb),
    }
    results["smollm2_tokens_per_example"] = {
        name: percentiles([len(tokenizer.apply_chat_template(e["messages"], tokenize=True, return_dict=True)
                               ["input_ids"]) for e in exs])
        for name, exs in examples.items()
    }
    results["quick"] = args.quick
    write_results(args.out, "data", results, args.quick)


if __name__ == "__main__":
    main()
