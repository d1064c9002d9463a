"""The training mixture: every source through the data layer's builders, decontaminated
against the evaluation sets, held out per source, capped and weighted, with statistics.

The builders write chats (``messages``); the trainer gets them as conversational
prompt/completion pairs (``sft/template.py``), so only the assistant's tokens are in the loss
whatever the model's chat template.

Validation examples are split off each source before balancing and weighting, so a repeated
example never lands on both sides. A few held-out MedQA items and DDXPlus
cases become the generation probes scored during evaluation.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from medassist.data import (
    DDXPlusKB,
    build_examples,
    class_balanced,
    decontaminate,
    label_of,
    load,
    stratified_split,
)
from medassist.data.custom import scrub_custom
from medassist.errors import MedassistError
from medassist.sft.callbacks import Probe
from medassist.sft.config import SFTRunConfig, SourceConfig
from medassist.sft.template import to_prompt_completion

log = logging.getLogger(__name__)


@dataclass
class SourceExamples:
    """One source's chat examples (builder output: ``messages``, ``source``, ``id``, ``target``)."""

    name: str
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    probe_kind: str | None = None
    weight: float = 1.0
    cap: int | None = None
    files: list[str] = field(default_factory=list)
    removed_as_contaminated: int = 0
    # label counts before/after class balancing and the distinct records kept (``balance: true``)
    balance: dict[str, Any] | None = None
    kb: DDXPlusKB | None = None  # ddxplus: the probes read condition names with it, as eval does


@dataclass
class Mixture:
    train: Any  # datasets.Dataset with conversational "prompt" and "completion" columns
    validation: Any
    probes: list[Probe]
    stats: dict[str, Any]
    files: list[str]


def _weighted(examples: list[dict], weight: float, rng: random.Random) -> list[dict]:
    whole, fraction = int(weight), weight - int(weight)
    out = examples * whole
    out += rng.sample(examples, round(len(examples) * fraction))
    return out


def _token_stats(examples: list[dict], tokenizer: Any, max_length: int) -> tuple[int, int]:
    """(tokens after truncation, examples longer than max_length)."""
    lengths = [
        len(tokenizer.apply_chat_template(e["messages"], tokenize=True, return_dict=True)["input_ids"])
        for e in examples
    ]
    return sum(min(n, max_length) for n in lengths), sum(n > max_length for n in lengths)


def mix(sources: list[SourceExamples], cfg: SFTRunConfig, tokenizer: Any) -> Mixture:
    """Weight and shuffle the sources into train/validation datasets, probes and statistics."""
    from datasets import Dataset

    rng = random.Random(cfg.seed)
    train: list[dict] = []
    validation: list[dict] = []
    probes: list[Probe] = []
    stats: dict[str, Any] = {"sources": {}}
    for source in sources:
        chosen = _weighted(source.train, source.weight, rng)
        if source.probe_kind:
            probes += [
                Probe(source.probe_kind, [m for m in e["messages"] if m["role"] != "assistant"], str(e["target"]),
                      e.get("options"), source.kb.normalise_condition if source.kb else None)
                for e in source.validation[: cfg.generation_eval_items]
            ]
        tokens, truncated = _token_stats(chosen, tokenizer, cfg.max_length)
        stats["sources"][source.name] = {
            "examples": len(chosen),
            "unique_examples": source.balance["distinct_records"] if source.balance else len(source.train),
            "validation_examples": len(source.validation),
            "tokens": tokens,
            "truncated_to_max_length": truncated,
            "removed_as_contaminated": source.removed_as_contaminated,
            "weight": source.weight,
            "cap": source.cap,
            **({"balance": source.balance} if source.balance else {}),
        }
        log.info("source %s: %s", source.name, stats["sources"][source.name])
        train += [pair for e in chosen for pair in to_prompt_completion(e["messages"])]
        validation += [pair for e in source.validation for pair in to_prompt_completion(e["messages"])]
    if not train:
        raise MedassistError("data: no training examples left after the validation split and decontamination")
    rng.shuffle(train)
    stats["train_examples"] = len(train)
    stats["validation_examples"] = len(validation)
    stats["train_tokens"] = sum(s["tokens"] for s in stats["sources"].values())
    stats["probes"] = dict(Counter(p.kind for p in probes))
    return Mixture(
        train=Dataset.from_list(train),
        validation=Dataset.from_list(validation) if validation else None,
        probes=probes,
        stats=stats,
        files=sorted({f for s in sources for f in s.files}),
    )


PROBE_KINDS = {"medqa": "mcq", "medmcqa": "mcq", "ddxplus": "ddx"}


def _load(source: SourceConfig) -> Any:
    return load(source.kind, source.path, conditions=source.conditions, evidences=source.evidences)


def build_mixture(cfg: SFTRunConfig, tokenizer: Any) -> Mixture:
    """Load every source with the data layer, hold out validation, decontaminate, build, mix.

    Training records are decontaminated against the configured ``eval_sets`` and against every
    source's validation records, so the validation loss and probes are not inflated either.
    """
    from tqdm.auto import tqdm

    loaded = [_load(s) for s in tqdm(cfg.data, desc="loading sources", unit="source")]
    for source, ld in zip(cfg.data, loaded, strict=True):
        if source.kind == "custom":  # a user's own files: identifiers out before training sees them
            found = scrub_custom(ld.records)
            log.info("source %s: PHI replaced: %s", source.name, dict(sorted(found.items())) or "none found")
    evaluation = [r for s in cfg.eval_sets for r in _load(s).records]
    splits = [
        stratified_split(ld.records, lambda r, kind=s.kind: label_of(kind, r), cfg.validation_fraction, cfg.seed)
        for s, ld in zip(cfg.data, loaded, strict=True)
    ]
    evaluation += [r for _, held_out in splits for r in held_out]
    rng = random.Random(cfg.seed)
    sources: list[SourceExamples] = []
    names = Counter(s.name for s in cfg.data)
    for i, (source, ld, (train_records, val_records)) in enumerate(zip(cfg.data, loaded, splits, strict=True)):
        kept, report = decontaminate(train_records, evaluation) if evaluation else (train_records, None)
        balance = None
        if source.balance:
            label = partial(label_of, source.kind)
            before = Counter(map(label, kept))
            # the source keeps its size (its cap at most): balancing changes what it holds, not how much
            size = len(kept) if source.cap is None else min(source.cap, len(kept))
            kept = class_balanced(kept, label, size, rng)
            # logged with the source's statistics (mix) and kept in the manifest
            balance = {"labels_before": dict(before.most_common()), "labels_after": dict(Counter(map(label, kept))),
                       "distinct_records": len({id(r) for r in kept})}  # a repeat is the same object
        elif source.cap is not None and len(kept) > source.cap:
            kept = rng.sample(kept, source.cap)
        options = {"grounded": True, "seed": cfg.seed} if source.grounded else {}
        variants = {"partial": source.partial, "seed": cfg.seed} if source.partial else {}
        train_examples = build_examples(source.kind, kept, kb=ld.kb, **options, **variants)
        val_examples = build_examples(source.kind, val_records, kb=ld.kb, **options)
        sources.append(SourceExamples(
            name=source.name if names[source.name] == 1 else f"{source.name}[{i}]",
            train=train_examples,
            validation=val_examples,
            probe_kind=PROBE_KINDS.get(source.kind),
            files=[str(f) for f in ld.files],
            weight=source.weight,
            cap=source.cap,
            removed_as_contaminated=report.removed if report else 0,
            balance=balance,
            kb=ld.kb,
        ))
    return mix(sources, cfg, tokenizer)
