"""``medassist model``: build the embedded tiny base model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from medassist.clitools import sub_app
from medassist.errors import MedassistError

app = sub_app("Build the embedded tiny base model (real models are loaded by hub id or path).")


@app.command("init")
def init(
    out: Path = typer.Option(Path("artifacts/base-tiny"), help="Folder to write (replaced atomically)."),
    preset: str = typer.Option("tiny", help="Size preset: tiny (default, ~1 min on 2 cores) or test."),
    corpus: list[Path] = typer.Option(
        [], help="Extra text files/folders (JSON, JSONL, CSV, XML, txt) for the tokenizer and warm-up."
    ),
    pretrain_steps: int = typer.Option(None, help="Override the preset's warm-up steps."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Train a byte-level BPE tokenizer and a small Llama locally; save with save_pretrained."""
    from medassist.tiny import PRESETS, build_tiny, default_corpus

    if preset not in PRESETS:
        raise MedassistError(f"--preset {preset!r} is unknown; choose one of {', '.join(PRESETS)}")
    changes: dict = {"seed": seed, "corpus": [str(p) for p in [*default_corpus(), *corpus]]}
    if pretrain_steps is not None:
        changes["pretrain_steps"] = pretrain_steps
    path = build_tiny(out, dataclasses.replace(PRESETS[preset], **changes))
    typer.echo(f"tiny model written to {path}")
