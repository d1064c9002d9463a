"""The model card (``README.md`` beside the adapter): what it was trained on, how, how well,
and what it must not be used for."""

from __future__ import annotations

from typing import Any

from medassist.sft.config import SFTRunConfig

NOTICE = (
    "**Not a doctor.** This model is a research and decision-support component. It can be wrong, "
    "out of date or biased, and it has not been validated for clinical use. Every output must be "
    "checked by a qualified clinician; it must not be used to diagnose or treat patients on its own, "
    "or in emergencies (call local emergency services)."
)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def model_card(cfg: SFTRunConfig, mixture: dict[str, Any], report: dict[str, Any]) -> str:
    sources = mixture.get("sources", {})
    mixture_table = _table(
        ["source", "train examples", "unique", "validation", "tokens", "truncated", "decontaminated", "weight",
         "cap"],
        [[name, s["examples"], s["unique_examples"], s["validation_examples"], s["tokens"],
          s["truncated_to_max_length"], s["removed_as_contaminated"], s["weight"], s["cap"]]
         for name, s in sources.items()],
    )
    full = cfg.method == "full"
    lora = {} if full else {"lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha, "lora_dropout": cfg.lora_dropout,
                            "lora_target_modules": ", ".join(cfg.lora_target_modules)}
    hyper = {
        "method": cfg.method, "load_in_4bit": cfg.load_in_4bit, **lora,
        "max_length": cfg.max_length, "packing": cfg.packing, "learning_rate": cfg.learning_rate,
        "lr_scheduler": cfg.lr_scheduler_type, "warmup_ratio": cfg.warmup_ratio,
        "epochs": cfg.num_train_epochs, "max_steps": cfg.max_steps,
        "batch_size": cfg.per_device_train_batch_size,
        "gradient_accumulation": cfg.gradient_accumulation_steps, "seed": cfg.seed,
    }
    evals = report.get("final_eval", {})
    eval_table = _table(["metric", "value"], [[k, v] for k, v in evals.items()]) if evals else "No evaluation ran."
    base = cfg.model_name_or_path
    what = f"A fully fine-tuned `{base}`" if full else f"A LoRA adapter for `{base}`"
    header = ("library_name: transformers\ntags: [medassist, medical, trl, sft]" if full else
              "library_name: peft\ntags: [medassist, medical, qlora, lora, trl, sft]")
    use = ("""```python
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("<this folder>")
tokenizer = AutoTokenizer.from_pretrained("<this folder>")
```
It is a full model: serve it as is (`medassist serve --model <this folder>`).""" if full else """```python
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer
model = AutoPeftModelForCausalLM.from_pretrained("<this folder>")
tokenizer = AutoTokenizer.from_pretrained("<this folder>")
```
or `medassist sft merge --adapter <this folder> --out merged/` for a full model (vLLM, hub upload).""")
    return f"""---
base_model: {cfg.model_name_or_path}
{header}
pipeline_tag: text-generation
---

# medassist {"model" if full else "adapter"}

{what}, trained with TRL's `SFTTrainer` by `medassist sft` on medical question answering
(MedQA/MedMCQA, PubMedQA) and case-to-differential (DDXPlus-style) instructions. The tokenizer and
its chat template are saved beside the weights: prompt the model with that template and the prompts
of `medassist.data.answers` (one module per answer format), as in training.

## Intended use

{NOTICE}

Intended users are clinicians and researchers using the medassist assistant, with retrieval and
citations, as a second opinion to reason about; and developers evaluating medical LLMs.

## Data mixture

{mixture_table}

Training items overlapping the evaluation sets were removed (column "decontaminated").

## Training

{_table(["hyper-parameter", "value"], [[k, v] for k, v in hyper.items()])}

Steps: {report.get("global_steps")}, tokens seen: {report.get("tokens_seen")}, \
throughput: {report.get("tokens_per_s")} tokens/s, peak memory: {report.get("peak_memory")}.

## Evaluation (held-out validation split)

{eval_table}

`eval_mcq_letter_em`: exact match of the answer letter on a few held-out MedQA items;
`eval_ddx_top1`: the true pathology is first in the generated differential, on a few held-out
DDXPlus cases. These are cheap training-time signals; use `medassist eval` for benchmark numbers.

## Use

{use}
"""
