"""The embedded tiny model: real tokenizer training, real Llama, real save/load round trip."""

from __future__ import annotations

import json
import subprocess
import sys

from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

CHAT = [
    {"role": "system", "content": "You are a careful clinical assistant."},
    {"role": "user", "content": "A 30-year-old has fever and ear pain. Diagnosis?"},
    {"role": "assistant", "content": "Acute otitis media"},
]


def test_round_trip_and_chat_template(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert isinstance(model, LlamaForCausalLM)
    # bitsandbytes' CPU 4-bit kernels need every linear output size to be a multiple of 32.
    for name, module in model.named_modules():
        if module.__class__.__name__ == "Linear":
            assert module.out_features % 32 == 0, name
    out = tok.apply_chat_template(CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    mask = out["assistant_masks"]
    assistant_ids = [i for i, m in zip(out["input_ids"], mask, strict=True) if m]
    # Only the assistant answer (and its end token) is marked for the loss.
    assert tok.decode(assistant_ids) == "Acute otitis media<|end|>"
    prompt = tok.apply_chat_template(CHAT[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n")
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    gen = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert gen.shape[1] > ids["input_ids"].shape[1]
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|end|>")


def test_manifest_records_inputs(tiny_model_dir):
    manifest = json.loads((tiny_model_dir / "manifest.json").read_text())
    assert manifest["kind"] == "model-init"
    assert manifest["data_sha256"], "corpus files are hashed"
    assert manifest["versions"]["transformers"]
    assert 1e6 < manifest["parameters"] < 2e7


def test_cli_rejects_unknown_preset(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "medassist.cli", "model", "init", "--preset", "huge", "--out", str(tmp_path / "m")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "preset 'huge' is unknown" in proc.stderr
