"""``medassist sft`` (train, the default command) and ``medassist sft merge``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.markup import escape
from typer.core import TyperCommand

from medassist.clitools import OVERRIDES, DefaultCommandGroup, lazy_epilog, settings_epilog, sub_app
from medassist.config import parse_config
from medassist.models.hub import has_cuda
from medassist.resources import CONFIGS
from medassist.sft.config import SFTRunConfig, SourceConfig, trl_option_fields, validate, validate_search
from medassist.sft.merge import merge as merge_adapter

DEFAULT_RECIPE = CONFIGS / "sft-smollm2-cpu.yaml"


def recipe_keys() -> str:
    """The recipe's own keys, then every TRL ``SFTConfig`` option with the first sentence of TRL's help."""
    entry = ", ".join(f"{f.name}: {f.default!r}" if f.default is not dataclasses.MISSING else f.name
                      for f in dataclasses.fields(SourceConfig))
    sources = escape(f"Each data / eval_sets entry: {{{entry}}}; balance: true resamples the source so every "
                     "label (the pathology, for DDXPlus) contributes equally; partial: N adds N partial-evidence "
                     "variants of each DDXPlus training patient (chief complaint + some of the other answers).")
    lines = []
    for name, f in sorted(trl_option_fields().items()):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        text = " ".join(str(f.metadata.get("help", "")).split()).split(". ")[0].rstrip(".")
        lines.append(escape(f"--{name.replace('_', '-')} ({default!r}): {text}"))
    return (settings_epilog(SFTRunConfig) + "\n\n" + sources + "\n\nTRL SFTConfig options (transformers' "
            "TrainingArguments included), by TRL's names, in the recipe or as --key value; TRL reads them:\n\n"
            + "\n\n".join(lines))


app = sub_app("QLoRA/LoRA instruction tuning with TRL (train is the default command), and merge. "
              "--search N: an Optuna hyper-parameter search of N training runs (medassist sft train --help).",
              cls=lazy_epilog(DefaultCommandGroup, recipe_keys))


@app.command("train", context_settings=OVERRIDES, cls=lazy_epilog(TyperCommand, recipe_keys))
def train(
    ctx: typer.Context,
    config: Path = typer.Option(DEFAULT_RECIPE, help="Recipe YAML (configs/sft-*.yaml)."),
    search: int = typer.Option(
        None, metavar="N", show_default=False,
        help="Hyper-parameter search instead of one run: N Optuna trials (TPE, median pruning) over "
             "learning_rate, lora_r, lora_alpha and max_steps, each a run in OUTPUT_DIR/trial-NNN; ranges and "
             "metric from the recipe's search section (--search.learning-rate 1e-4,3e-3 --search.lora-r 8,16 "
             "--search.max-steps 20,60 --search.metric eval_loss|eval_ddx_top1). Writes best-recipe.yaml, "
             "search-report.md, search.png; re-running resumes the study (OUTPUT_DIR/study.db)."),
) -> None:
    """Fine-tune on the recipe's data mixture; any key can be overridden, e.g. --max-steps 5 --lora-r 8."""
    cfg = parse_config(SFTRunConfig, config, ctx.args)
    validate(cfg, has_cuda())  # a bad recipe fails before the ~10 s of training imports
    # sft.search and sft.train import torch, transformers and TRL (~10 s): only the command that trains pays
    if search is not None:
        validate_search(cfg, search)
        from medassist.sft.search import search as run_search

        typer.echo(f"best recipe written to {run_search(cfg, search)}")
        return
    from medassist.sft.train import train as run

    out = run(cfg)
    typer.echo(f"adapter written to {out}")


@app.command("merge")
def merge(
    adapter: Path = typer.Option(..., help="Adapter folder written by `medassist sft`."),
    out: Path = typer.Option(..., help="Folder for the merged full model (replaced atomically)."),
    base: str = typer.Option(None, help="Base model path or hub id (default: the one the adapter records)."),
    force: bool = typer.Option(False, help="Replace --out even if it is not a folder medassist wrote."),
) -> None:
    """Merge the LoRA adapter into its base model and save a full model with the tokenizer."""
    typer.echo(f"merged model written to {merge_adapter(adapter, out, base, force)}")
