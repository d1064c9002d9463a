"""``medassist sft`` (train, the default command) and ``medassist sft merge``."""

from __future__ import annotations

from pathlib import Path

import typer

from medassist.clitools import OVERRIDES, sub_app
from medassist.resources import CONFIGS

DEFAULT_RECIPE = CONFIGS / "sft-smollm2-cpu.yaml"

app = sub_app("QLoRA/LoRA instruction tuning with TRL (train is the default command), and merge.",
              default_command=True)


@app.command("train", context_settings=OVERRIDES)
def train(
    ctx: typer.Context,
    config: Path = typer.Option(DEFAULT_RECIPE, help="Recipe YAML (configs/sft-*.yaml)."),
) -> None:
    """Fine-tune on the recipe's data mixture; any key can be overridden, e.g. --max-steps 5 --lora.r 8."""
    from medassist.config import parse_config
    from medassist.hub import has_cuda
    from medassist.sft.config import SFTRunConfig, validate

    cfg = parse_config(SFTRunConfig, config, ctx.args)
    validate(cfg, has_cuda())  # a bad recipe fails before the ~10 s of training imports
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
    from medassist.sft.merge import merge as run

    typer.echo(f"merged model written to {run(adapter, out, base, force)}")
