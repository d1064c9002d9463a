"""The one config object of a training run, read from a recipe in ``configs/sft-*.yaml``.

Shaped like TRL's ``ScriptArguments`` + ``ModelConfig`` + ``SFTConfig`` folded into one
dataclass, so a recipe is one YAML file and any key can be overridden on the command line
(``--max-steps 5``, ``--lora-r 16``). Every other option of TRL's ``SFTConfig`` (transformers'
``TrainingArguments`` included: ``optim``, ``neftune_noise_alpha``, ``max_grad_norm``...) is a key
too, by its TRL name, read with TRL's own parser (``HfArgumentParser``) and handed to the trainer.
``validate`` catches what would otherwise fail minutes into a run (missing paths, GPU-only options
on a CPU machine, a bad TRL value) before anything heavy loads.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from medassist.config import Renamed, Repeated, bounds, passthrough
from medassist.errors import MedassistError
from medassist.models.hub import native_bf16, require_model
from medassist.resources import bundled

SourceKind = Literal["medqa", "medmcqa", "pubmedqa", "ddxplus", "pubmed", "custom"]


@dataclass
class SourceConfig:
    """One dataset of the mixture.

    ``weight`` rescales the source after ``cap``: 2.0 repeats every example twice, 0.5 keeps a
    random half. ``conditions``/``evidences`` are the DDXPlus knowledge-base files (default:
    ``release_conditions.json`` / ``release_evidences.json`` beside the patients CSV).
    ``grounded`` (PubMedQA only) asks each question with sources, its own abstract among
    distractors, and trains the answer to cite its PMID: how the serve part asks
    (``data.builders.grounded_pubmedqa_examples``). ``pubmed`` sources (abstracts: JSONL or MEDLINE
    XML) are always grounded: what each abstract found, asked about its title's subject.
    ``partial`` (DDXPlus only): after each training patient's full case, that many variants of it
    seen part-way through a consultation (chief complaint + a random subset of the other evidences,
    seeded by the recipe's ``seed``; ``data/partial.py``), so the differential is also learned on
    incomplete cases. Built from the decontaminated training patients only; validation stays full cases.
    ``balance`` resamples the source's training records (after decontamination) so that every
    label contributes the same number (``data.split.class_balanced``): the pathology for DDXPlus,
    so rare diseases are not drowned out by the common ones; the answer for PubMedQA, the exam for
    MedQA/MedMCQA, the label for custom rows. The source keeps its size (``cap`` if set, else its
    record count): common labels are subsampled, rare ones repeated. The label counts before and
    after are logged and kept in the run's manifest (``mixture.sources.<name>.balance``).
    """

    kind: SourceKind
    path: str
    weight: float = 1.0
    cap: int | None = None
    conditions: str | None = None
    evidences: str | None = None
    grounded: bool = False
    partial: int = 0
    balance: bool = False

    @property
    def name(self) -> str:
        return f"{self.kind}-grounded" if self.grounded else self.kind


# what `search.metric` may optimise: the trainer's eval loss, or a generation probe's score (sft/callbacks.py)
SEARCH_METRICS = {"eval_loss": "minimize", "eval_ddx_top1": "maximize", "eval_mcq_letter_em": "maximize"}


@dataclass
class SearchSpace:
    """What ``medassist sft --search N`` samples and optimises (``sft/search.py``).

    ``learning_rate`` is ``[low, high]``, sampled log-uniform; ``lora_r`` and ``lora_alpha`` are the
    choices tried (with ``method: full`` they are not searched); ``max_steps`` is ``[low, high]``, or
    null to keep the recipe's. ``metric``: ``eval_loss`` (cheap: the validation split the trainer
    already evaluates), or ``eval_ddx_top1`` / ``eval_mcq_letter_em`` (the generation probes, on
    ``generation_eval_items`` held-out items: noisier, slower). TPE samples at random for the first
    ``startup_trials``; the median pruner stops a trial whose metric at an evaluation step is worse
    than the median of earlier trials at that step, once ``prune_after_trials`` trials are finished
    and past ``prune_warmup_steps``. ``seed`` (null: the recipe's) seeds the sampler.
    """

    metric: str = "eval_loss"
    learning_rate: list[float] = field(default_factory=lambda: [1e-4, 3e-3])
    lora_r: list[int] = field(default_factory=lambda: [8, 16, 32])
    lora_alpha: list[int] = field(default_factory=lambda: [16, 32, 64])
    max_steps: list[int] | None = None
    startup_trials: int = field(default=4, metadata=bounds(0))
    prune_after_trials: int = field(default=2, metadata=bounds(0))
    prune_warmup_steps: int = field(default=0, metadata=bounds(0))
    seed: int | None = None


def _quantization_to_4bit(value: Any) -> bool:
    """The old ``quantization: 4bit | none`` as TRL's ``load_in_4bit``."""
    if str(value).lower() not in ("4bit", "none"):
        raise MedassistError(f"quantization: {value!r} is not one of 4bit, none (now: load_in_4bit: true/false)")
    return str(value).lower() == "4bit"


@dataclass
class SFTRunConfig:
    """Keys follow TRL's ``ModelConfig``/``SFTConfig`` and PEFT's ``LoraConfig`` names."""

    RENAMED: ClassVar[Renamed] = {
        "model": "model_name_or_path", "quantization": ("load_in_4bit", _quantization_to_4bit),
        "lora.r": "lora_r", "lora.alpha": "lora_alpha", "lora.dropout": "lora_dropout",
        "lora.target_modules": "lora_target_modules"}

    # the embedded SmolLM2 (`medassist model init`), any save_pretrained folder or a hub id
    model_name_or_path: str = "artifacts/base-smollm2-135m"
    # lora: train LoRA adapters on the frozen (4-bit with load_in_4bit, i.e. QLoRA) base.
    # full: train every weight (load_in_4bit: false); for small models such as the tiny test model,
    # whose near-random base a low-rank update cannot reshape (measured in bench/bench_sft.py).
    method: Literal["lora", "full"] = "lora"
    # the frozen base in bitsandbytes 4-bit NF4 (QLoRA); false: fp32/bf16 weights
    load_in_4bit: bool = True
    attn_implementation: str | None = None
    # null / auto: bf16 where the hardware computes it natively (a CUDA GPU with bf16, a CPU with
    # AVX512-BF16 or AMX), else fp32; true on a CPU without them is refused (emulated bf16 is slower)
    bf16: bool | None = None
    # a Jinja chat template replacing the model's own for training and serving (saved with the
    # outputs), for models whose template cannot train on assistant tokens (sft/template.py)
    chat_template_path: str | None = None
    gradient_checkpointing: bool = True
    lora_r: int = field(default=16, metadata=bounds(1))
    lora_alpha: int = field(default=32, metadata=bounds(1))
    lora_dropout: float = field(default=0.05, metadata=bounds(0, 1))
    # PEFT's names of the projections to adapt, or [all-linear]: every linear layer but the output head
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    # data
    data: list[SourceConfig] = field(default_factory=list)
    eval_sets: list[SourceConfig] = field(default_factory=list)
    validation_fraction: float = 0.1
    max_length: int = field(default=512, metadata=bounds(16))
    packing: bool = False
    padding_free: bool = False
    # optimisation
    learning_rate: float = field(default=2e-4, metadata=bounds(0))
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = field(default=4, metadata=bounds(1))
    gradient_accumulation_steps: int = field(default=1, metadata=bounds(1))
    weight_decay: float = 0.0
    # evaluation, checkpoints, logging
    eval_steps: int = field(default=50, metadata=bounds(1))
    save_steps: int = field(default=50, metadata=bounds(1))
    save_total_limit: int | None = 2
    logging_steps: int = field(default=10, metadata=bounds(1))
    early_stopping_patience: int | None = None
    generation_eval_items: int = field(default=8, metadata=bounds(0))
    generation_max_new_tokens: int = 96
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    resume_from_checkpoint: str | None = None
    seed: int = 42
    output_dir: str = "artifacts/sft-smollm2"
    # the ranges `medassist sft --search N` samples (read only then): --search.lora-r 8,16
    search: SearchSpace = field(default_factory=SearchSpace)
    # any other option of TRL's SFTConfig, as a top-level key by its TRL name (`optim: adamw_torch`,
    # `--neftune-noise-alpha 5`); collected here, `medassist sft --help` lists them
    trl: dict[str, Any] = field(default_factory=dict, metadata=passthrough(
        lambda: trl_option_fields(), "any option of TRL's SFTConfig (medassist sft --help lists them)"))


def trl_option_fields() -> dict[str, dataclasses.Field[Any]]:
    """TRL ``SFTConfig``'s fields a recipe may set by their own names: all but those medassist owns
    (same name, e.g. ``learning_rate``) or sets itself (``completion_only_loss``, ``use_cpu``...)."""
    from trl import SFTConfig

    owned = {f.name for f in dataclasses.fields(SFTRunConfig)} | SET_BY_MEDASSIST
    return {f.name: f for f in dataclasses.fields(SFTConfig) if f.init and f.name not in owned}


# SFTConfig fields sft/train.py derives from the recipe: setting them directly would contradict it
SET_BY_MEDASSIST = {"completion_only_loss", "use_cpu", "eval_strategy", "save_strategy", "load_best_model_at_end",
                    "metric_for_best_model", "warmup_steps", "include_num_input_tokens_seen"}


def trl_options(cfg: SFTRunConfig) -> dict[str, Any]:
    """``cfg.trl`` read as TRL reads its own command line (``HfArgumentParser`` over ``SFTConfig``):
    the declared types, enum choices and ``true``/``false`` booleans, so ``optim: adamw_8bit_typo``
    fails here, naming the key and the choices, not minutes into a run."""
    if not cfg.trl:
        return {}
    from transformers import HfArgumentParser
    from trl import SFTConfig

    class Parser(HfArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]  # argparse would exit
            raise MedassistError(f"TRL option: {message}")

    argv: list[str] = []
    for key, value in cfg.trl.items():
        # a YAML list is a list option's values; a flag given twice on the command line, its last value
        values = [value[-1]] if isinstance(value, Repeated) else value if isinstance(value, list) else [value]
        argv += [f"--{key}", *(json.dumps(v) if isinstance(v, dict) else str(v) for v in values)]
    namespace, rest = Parser(SFTConfig).parse_known_args(argv)
    if rest:
        raise MedassistError(f"TRL option: unexpected value(s) {' '.join(rest)} (a single-valued option got a list)")
    return {key: getattr(namespace, key) for key in cfg.trl}


def validate(cfg: SFTRunConfig, has_cuda: bool) -> None:
    """Refuse a run that cannot work here, with one message saying what to change."""
    require_model(cfg.model_name_or_path, "model_name_or_path")
    trl_options(cfg)
    if not cfg.data:
        raise MedassistError("data: the mixture is empty; list at least one source (kind, path)")
    for section, sources in (("data", cfg.data), ("eval_sets", cfg.eval_sets)):
        for i, source in enumerate(sources):
            for key in ("path", "conditions", "evidences"):
                value = getattr(source, key)
                if value is not None and not Path(value).expanduser().exists():
                    raise MedassistError(f"{section}[{i}].{key}: {source.kind} file {value!r} does not exist")
            if source.weight <= 0:
                raise MedassistError(f"{section}[{i}].weight: expected a positive number, got {source.weight}")
            if source.partial and (source.kind != "ddxplus" or source.partial < 0):
                raise MedassistError(f"{section}[{i}].partial: a number of partial-evidence variants >= 0 per "
                                     f"patient, for ddxplus sources only (got {source.partial} on {source.kind})")
            if source.balance and (section == "eval_sets" or source.kind == "pubmed"):
                raise MedassistError(f"{section}[{i}].balance: only training sources with labels can be balanced "
                                     f"(not eval_sets, nor pubmed abstracts)")
            if source.grounded and source.kind != "pubmedqa":
                raise MedassistError(f"{section}[{i}].grounded: only pubmedqa sources can be grounded (their "
                                     f"abstracts are the sources), not {source.kind}")
    if not 0 < cfg.validation_fraction < 1:
        raise MedassistError(f"validation_fraction: expected a number in (0, 1), got {cfg.validation_fraction}")
    if cfg.method == "full" and cfg.load_in_4bit:
        raise MedassistError("method: full trains every weight, and 4-bit weights cannot be trained: "
                             "add --load-in-4bit false (or use --method lora for QLoRA)")
    if cfg.max_steps <= 0 and cfg.num_train_epochs <= 0:
        raise MedassistError("max_steps / num_train_epochs: set one of them to a positive value")
    if cfg.chat_template_path is not None and not bundled(cfg.chat_template_path).is_file():
        raise MedassistError(f"chat_template_path: {cfg.chat_template_path!r} is not a file")
    if not has_cuda and cfg.attn_implementation and cfg.attn_implementation.startswith("flash_attention"):
        raise MedassistError(f"attn_implementation: {cfg.attn_implementation} needs a CUDA GPU and this machine has "
                             "none (use --attn-implementation sdpa)")
    if cfg.bf16 and not native_bf16(has_cuda):
        where = ("this GPU does not compute in bf16" if has_cuda else
                 "this CPU has neither AVX512-BF16 nor AMX, so bf16 would be emulated and slower than fp32")
        raise MedassistError(f"bf16: true, but {where}; use --bf16 false (or auto)")


def validate_search(cfg: SFTRunConfig, n_trials: int) -> None:
    """Refuse a search whose budget or ranges are empty, before the first trial loads anything."""
    space = cfg.search
    if n_trials < 1:
        raise MedassistError(f"search: expected a number of trials >= 1, got {n_trials}")
    if space.metric not in SEARCH_METRICS:
        raise MedassistError(f"search.metric: {space.metric!r} is not one of {', '.join(SEARCH_METRICS)}")
    if space.metric == "eval_ddx_top1" and not any(s.kind == "ddxplus" for s in cfg.data):
        raise MedassistError("search.metric: eval_ddx_top1 scores DDXPlus probes and the mixture has no ddxplus source")
    if space.metric != "eval_loss" and cfg.generation_eval_items < 1:
        raise MedassistError(f"search.metric: {space.metric} needs generation probes; set generation_eval_items >= 1")
    ranges: list[tuple[str, list[Any] | None, float]] = [("learning_rate", space.learning_rate, 0.0)]
    if space.max_steps is not None:
        ranges.append(("max_steps", space.max_steps, 1))
    for key, values, least in ranges:
        if len(values) != 2 or not least <= values[0] <= values[1] or (least == 0 and values[0] == 0):
            relation = "0 < low <= high" if least == 0 else f"{least} <= low <= high"
            raise MedassistError(f"search.{key}: expected [low, high] with {relation}, got {values}")
    if cfg.method == "lora":
        for key in ("lora_r", "lora_alpha"):
            values = getattr(space, key)
            if not values or min(values) < 1:
                raise MedassistError(f"search.{key}: expected a non-empty list of positive integers, got {values}")
    if cfg.resume_from_checkpoint not in (None, "", "false"):
        raise MedassistError("resume_from_checkpoint: a search resumes from its study.db; run it again without "
                             "--resume-from-checkpoint")


def resolve_bf16(cfg: SFTRunConfig, has_cuda: bool) -> bool:
    """``bf16: auto`` (None) becomes what the hardware supports; an explicit value stays."""
    return native_bf16(has_cuda) if cfg.bf16 is None else cfg.bf16
