"""``medassist data build``: one source -> cleaned, decontaminated, split chat JSONL + manifest."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medassist.data.builders import BUILD_SOURCES, build_examples
from medassist.data.clean import decontaminate, deduplicate, normalise_whitespace
from medassist.data.custom import scrub_custom
from medassist.data.formats import label_of, load
from medassist.data.records import MCQItem, PubMedQAItem
from medassist.data.split import stratified_split
from medassist.errors import MedassistError
from medassist.io import atomic_directory
from medassist.manifest import write_manifest

log = logging.getLogger(__name__)


@dataclass
class BuildConfig:
    source: str
    path: str
    out: str
    conditions: str | None = None  # DDXPlus KB files (default: next to the CSV)
    evidences: str | None = None
    eval_paths: list[str] = field(default_factory=list)  # decontaminate against these
    eval_format: str | None = None  # default: same as source
    dedup: bool = True
    validation_fraction: float = 0.0
    seed: int = 42
    top_k: int = 5  # DDXPlus differential length
    max_context_words: int | None = 200  # PubMedQA abstract clip (small context models)
    scrub_phi: bool = True  # a user's own files (source "custom"): identifiers out before training sees them


def _normalise(record: Any) -> Any:
    if isinstance(record, MCQItem):
        record.question = normalise_whitespace(record.question)
        record.options = {k: normalise_whitespace(v) for k, v in record.options.items()}
        record.answer = record.options[record.answer_idx]
    elif isinstance(record, PubMedQAItem):
        record.question = normalise_whitespace(record.question)
        record.contexts = [normalise_whitespace(c) for c in record.contexts]
    return record


def _write_jsonl(path: Path, examples: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example, ensure_ascii=False) + "\n")


def build(cfg: BuildConfig, force: bool = False) -> dict[str, Any]:
    """Write ``train.jsonl`` (and ``validation.jsonl``), ``stats.json`` and ``manifest.json`` to ``cfg.out``."""
    from tqdm import tqdm

    if cfg.source not in BUILD_SOURCES:
        raise MedassistError(f"--source {cfg.source!r} cannot be built into chat examples; "
                             f"expected one of {', '.join(BUILD_SOURCES)}")
    loaded = load(cfg.source, cfg.path, conditions=cfg.conditions, evidences=cfg.evidences)
    records = [_normalise(r) for r in loaded.records]
    stats: dict[str, Any] = {"source": cfg.source, "loaded": len(records)}
    log.info("%s: %d %s records loaded", cfg.path, len(records), cfg.source)
    if cfg.source == "custom" and cfg.scrub_phi:
        found = scrub_custom(records)
        stats["phi_scrubbed"] = dict(sorted(found.items()))
        log.info("PHI replaced in the training texts: %s", ", ".join(f"{k}={v}" for k, v in sorted(found.items()))
                 or "none found")
    if cfg.dedup and cfg.source != "ddxplus":  # synthetic patients legitimately repeat
        records, dedup = deduplicate(records)
        stats["deduplication"] = asdict(dedup)
    eval_files: list[Path] = []
    if cfg.eval_paths:
        evaluation = []
        for path in cfg.eval_paths:
            other = load(cfg.eval_format or cfg.source, path, conditions=cfg.conditions, evidences=cfg.evidences)
            evaluation += other.records
            eval_files += other.files
        records, report = decontaminate(records, evaluation)
        stats["decontamination"] = asdict(report)
    splits = {"train": records}
    if cfg.validation_fraction > 0:
        splits["train"], splits["validation"] = stratified_split(
            records, lambda r: label_of(cfg.source, r), cfg.validation_fraction, cfg.seed)
    out = Path(cfg.out)
    with atomic_directory(out, force) as tmp:
        for name, items in splits.items():
            options: dict[str, Any] = {}
            if cfg.source == "ddxplus":
                options["top_k"] = cfg.top_k
            elif cfg.source == "pubmedqa":
                options["max_context_words"] = cfg.max_context_words
            progress = tqdm(items, desc=f"building {name}", unit="ex", disable=len(items) < 2000)
            examples = build_examples(cfg.source, progress, loaded.kb, **options)
            _write_jsonl(tmp / f"{name}.jsonl", examples)
            stats[f"{name}_examples"] = len(examples)
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
        write_manifest(tmp, "data-build", asdict(cfg), seed=cfg.seed,
                       data_files=[*loaded.files, *eval_files], stats=stats)
    return stats
