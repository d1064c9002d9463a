"""``medassist sft``: parse → build data → build model → train → save, like TRL's ``sft.py``.

TRL's ``SFTTrainer`` does the work (chat template, assistant-only loss, packing, checkpoints);
this script chooses the model (QLoRA: 4-bit NF4 base + LoRA, or plain LoRA), feeds it the data
mixture as prompt/completion pairs (loss on the answers only, with the model's own chat template:
``sft/template.py``), adds the generation metric and report callbacks and writes the run's
outputs: adapter + tokenizer + that chat template, ``training_report.json``, ``manifest.json``,
model card.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medassist.config import to_dict
from medassist.errors import MedassistError
from medassist.io import atomic_write_json, atomic_write_text
from medassist.manifest import write_manifest
from medassist.models.hub import has_cuda, load_model, load_tokenizer
from medassist.sft.callbacks import EvaluateAfterFinalSave, GenerationEvalCallback, TrainingReportCallback, eval_curve
from medassist.sft.card import model_card
from medassist.sft.config import SFTRunConfig, resolve_bf16, trl_options, validate
from medassist.sft.dataset import Mixture, build_mixture
from medassist.sft.lm_head import score_labelled_positions_only
from medassist.sft.template import check_chat_template, load_chat_template

log = logging.getLogger(__name__)


def sharded_training() -> bool:
    """Whether ``accelerate launch`` runs this under FSDP or DeepSpeed ZeRO-3 (it sets these)."""
    return (os.environ.get("ACCELERATE_USE_FSDP", "").lower() in ("1", "true")
            or os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE") == "3")


def build_model(cfg: SFTRunConfig) -> tuple[Any, Any]:
    """The base model ready for k-bit training, and the LoRA config TRL wraps it with (None: full
    fine-tuning, every weight trains)."""
    import torch
    from peft import LoraConfig, prepare_model_for_kbit_training

    device_map: Any = "cpu"
    if sharded_training():
        device_map = None  # FSDP / ZeRO-3 place (and shard) the weights themselves
    elif has_cuda():
        from accelerate import PartialState

        device_map = {"": PartialState().local_process_index}
    model = load_model(
        cfg.model_name_or_path,
        quantization="4bit" if cfg.load_in_4bit else "none",
        # on a CPU the weights stay fp32 and bf16 runs under autocast (faster there than bf16 weights)
        dtype=torch.bfloat16 if cfg.bf16 and has_cuda() else torch.float32,
        compute_dtype=torch.bfloat16 if cfg.bf16 else torch.float32,
        device_map=device_map,
        attn_implementation=cfg.attn_implementation,
    )
    if cfg.load_in_4bit and not sharded_training():
        # It upcasts the non-quantised weights to fp32; FSDP needs one dtype throughout (the 4-bit
        # storage dtype), so sharded runs skip it and checkpoint through the trainer's setting.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    if cfg.method == "full":
        return model, None
    peft_config = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        # PEFT's own shorthand for every linear layer but the output head
        target_modules="all-linear" if cfg.lora_target_modules == ["all-linear"] else cfg.lora_target_modules,
        task_type="CAUSAL_LM",
    )
    return model, peft_config


def training_args(cfg: SFTRunConfig, evaluate: bool = True) -> Any:
    from trl import SFTConfig

    early_stopping = evaluate and cfg.early_stopping_patience is not None
    args: dict[str, Any] = dict(
        output_dir=cfg.output_dir,
        max_length=cfg.max_length,
        packing=cfg.packing,
        padding_free=cfg.padding_free,
        completion_only_loss=True,  # the mixture is prompt/completion pairs: loss on the answers only
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        weight_decay=cfg.weight_decay,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=early_stopping,
        metric_for_best_model="eval_loss" if early_stopping else None,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        report_to=cfg.report_to or "none",
        seed=cfg.seed,
        bf16=cfg.bf16,
        gradient_checkpointing=cfg.gradient_checkpointing,
        use_cpu=not has_cuda(),
        include_num_input_tokens_seen="non_padding",
    )
    # the recipe's other TRL options (sft/config.py) last: e.g. per_device_eval_batch_size replaces the default here
    return SFTConfig(**(args | trl_options(cfg)))


def last_complete_checkpoint(output_dir: Path, max_steps: int = -1) -> Path | None:
    """The newest ``checkpoint-N`` whose save finished, short of ``max_steps``.

    The Trainer writes ``trainer_state.json`` after the weights and optimizer, so a run killed
    mid-save resumes from the one before. A checkpoint at ``max_steps`` is skipped: resuming from
    it makes the Trainer (transformers 5.23) run one step past the end, and redoing the last step
    rebuilds the final outputs exactly as an uninterrupted run does.
    """
    if not output_dir.is_dir():
        return None
    steps = sorted((int(p.name.split("-")[1]), p) for p in output_dir.glob("checkpoint-*")
                   if p.name.split("-")[1].isdigit() and (p / "trainer_state.json").is_file())
    steps = [(n, p) for n, p in steps if max_steps <= 0 or n < max_steps]
    return steps[-1][1] if steps else None


def resume_checkpoint(cfg: SFTRunConfig) -> str | None:
    """``resume_from_checkpoint``: a checkpoint folder, or ``last`` for the newest in ``output_dir``."""
    if cfg.resume_from_checkpoint in (None, "", "false"):
        return None
    if cfg.resume_from_checkpoint in ("last", "true"):
        last = last_complete_checkpoint(Path(cfg.output_dir), cfg.max_steps)
        if last is None:
            raise MedassistError(f"resume_from_checkpoint: no complete checkpoint-* folder before the last step in "
                                 f"{cfg.output_dir}; start the run again without --resume-from-checkpoint")
        return str(last)
    if not Path(cfg.resume_from_checkpoint).is_dir():
        raise MedassistError(f"resume_from_checkpoint: {cfg.resume_from_checkpoint!r} is not a checkpoint folder")
    return cfg.resume_from_checkpoint


def make_trainer(cfg: SFTRunConfig, mixture: Mixture, tokenizer: Any, extra_callbacks: Sequence[Any] = ()
                 ) -> tuple[Any, Any]:
    from transformers import EarlyStoppingCallback
    from trl import SFTTrainer

    score_labelled_positions_only()  # on a CPU the prompt positions were 28% of a step for no loss
    model, peft_config = build_model(cfg)
    report = TrainingReportCallback()
    callbacks = [GenerationEvalCallback(mixture.probes, tokenizer, cfg.generation_max_new_tokens), report]
    if cfg.early_stopping_patience is not None and mixture.validation is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    else:
        callbacks.append(EvaluateAfterFinalSave())
    callbacks += extra_callbacks  # last: they see the metrics the generation probes add (sft/search.py)
    trainer = SFTTrainer(
        model=model,
        args=training_args(cfg, evaluate=mixture.validation is not None),
        train_dataset=mixture.train,
        eval_dataset=mixture.validation,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    if cfg.load_in_4bit and not (cfg.bf16 and has_cuda()):
        # TRL casts QLoRA adapters to bf16 (the paper's GPU recipe); with fp32 compute, or bf16
        # autocast on a CPU, that only costs precision, so keep the trainable weights in fp32.
        import torch

        for param in trainer.model.parameters():
            if param.requires_grad:
                param.data = param.data.to(torch.float32)
    return trainer, report


def _save_model(trainer: Any, out_dir: Path) -> None:
    """Adapter (or full weights) + tokenizer + chat template, swapped in file by file so a crash
    leaves the old ones."""
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=".adapter-"))
    try:
        trainer.save_model(str(tmp))
        for file in tmp.iterdir():
            if file.is_file() and file.name != "training_args.bin":
                os.replace(file, out_dir / file.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def train(cfg: SFTRunConfig, callbacks: Sequence[Any] = ()) -> Path:
    """Run one training job; returns the output folder (the adapter, or with ``method: full`` the
    whole model, with everything beside it). ``callbacks``: more ``TrainerCallback``s (a search
    trial's pruning callback); one that stops training early still gets the outputs written."""
    from transformers import set_seed

    validate(cfg, has_cuda())
    cfg.bf16 = resolve_bf16(cfg, has_cuda())  # the manifest records what ran, not "auto"
    if Path(cfg.model_name_or_path).expanduser().is_dir():  # the adapter records its base: valid from anywhere
        cfg.model_name_or_path = str(Path(cfg.model_name_or_path).expanduser().resolve())
    resume = resume_checkpoint(cfg)
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model_name_or_path)
    if cfg.chat_template_path:
        load_chat_template(tokenizer, cfg.chat_template_path)
    mixture = build_mixture(cfg, tokenizer)
    check_chat_template(tokenizer, mixture.train, cfg.model_name_or_path)  # before any weights load
    trainer, report = make_trainer(cfg, mixture, tokenizer, callbacks)
    trainer.train(resume_from_checkpoint=resume)
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _save_model(trainer, out_dir)  # before the closing evaluation, which a kill must not cost the training
    curve = report.report["eval_curve"]
    if curve and curve[-1]["step"] == trainer.state.global_step:
        final_eval = curve[-1]
    elif mixture.validation is not None:
        final_eval = trainer.evaluate()
        report.report["eval_curve"] = eval_curve(trainer.state.log_history)
    else:
        final_eval = {}
    final_eval = {k: round(v, 4) for k, v in final_eval.items() if k.startswith("eval_") and isinstance(v, float)}

    training_report = {**report.report, "final_eval": final_eval, "mixture": mixture.stats}
    atomic_write_json(out_dir / "training_report.json", training_report)
    atomic_write_text(out_dir / "README.md", model_card(cfg, mixture.stats, training_report))
    write_manifest(
        out_dir,
        "sft",
        to_dict(cfg),
        seed=cfg.seed,
        data_files=mixture.files,
        mixture=mixture.stats,
        final_eval=final_eval,
        global_steps=report.report.get("global_steps"),
    )
    log.info("%s, tokenizer, report, card and manifest written to %s",
             "model" if cfg.method == "full" else "adapter", out_dir)
    return out_dir
