"""``medassist sft merge``: fold a LoRA adapter into its base model for vLLM or a hub upload.

The base is loaded unquantised (merging into 4-bit weights would lose precision); the merged
folder gets the adapter's tokenizer and chat template, its model card and a manifest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from medassist.errors import MedassistError
from medassist.io import atomic_directory, check_replaceable
from medassist.manifest import write_manifest
from medassist.models.hub import load_model, load_tokenizer


def merge(adapter: str | Path, out: str | Path, base: str | None = None, force: bool = False) -> Path:
    adapter = Path(adapter)
    config_file = adapter / "adapter_config.json"
    if not config_file.is_file():
        raise MedassistError(f"--adapter {adapter}: no adapter_config.json (expected the output of `medassist sft`)")
    check_replaceable(Path(out), force)  # before loading two models
    base = base or json.loads(config_file.read_text())["base_model_name_or_path"]
    model = load_model(base, adapter=adapter).merge_and_unload()
    tokenizer = load_tokenizer(adapter)
    out = Path(out)
    with atomic_directory(out, force) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if (adapter / "README.md").is_file():
            shutil.copy(adapter / "README.md", tmp / "README.md")
        write_manifest(tmp, "sft-merge", {"adapter": str(adapter.resolve()), "base": str(base)})
    return out
