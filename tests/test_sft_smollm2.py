"""The default recipe on the default base model: QLoRA on SmolLM2-135M-Instruct, as
``medassist sft --config configs/sft-smollm2-cpu.yaml --max-steps 2`` runs it; the adapter
reloads, merges and generates English with the model's own (unchanged) ChatML template."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medassist.cli import main
from tests.fixtures.sft import merged_matches_adapter

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs" / "sft-smollm2-cpu.yaml"


@pytest.fixture(scope="module")
def smollm2_adapter(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sft-smollm2") / "adapter"
    # the recipe as shipped, shortened: 2 steps of 2 short examples, one evaluation with one probe each
    main(["sft", "--config", str(RECIPE), "--model-name-or-path", str(smollm2_dir), "--output-dir", str(out),
          "--max-steps", "2",
          "--per-device-train-batch-size", "2", "--max-length", "320", "--eval-steps", "2", "--save-steps", "2",
          "--generation-eval-items", "1", "--generation-max-new-tokens", "24", "--report-to", "none"])
    return out


def test_recipe_trains_qlora_on_smollm2(smollm2_dir: Path, smollm2_adapter: Path) -> None:
    manifest = json.loads((smollm2_adapter / "manifest.json").read_text())
    assert manifest["config"]["load_in_4bit"] is True and manifest["config"]["method"] == "lora"
    assert isinstance(manifest["config"]["bf16"], bool)  # "auto" resolved to what this CPU computes natively
    adapter = json.loads((smollm2_adapter / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(smollm2_dir) and adapter["r"] == 16
    report = json.loads((smollm2_adapter / "training_report.json").read_text())
    assert report["global_steps"] == 2 and report["tokens_seen"] > 0
    assert "pubmedqa-grounded" in report["mixture"]["sources"]
    # The saved template is the model's own ChatML, untouched (no generation markers patched in).
    assert (smollm2_adapter / "chat_template.jinja").read_text() == (smollm2_dir / "chat_template.jinja").read_text()


def test_adapter_reloads_merges_and_generates(smollm2_dir: Path, smollm2_adapter: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medassist.models.hub import load_model

    peft_model = load_model(smollm2_dir, adapter=smollm2_adapter)
    assert isinstance(peft_model, PeftModel)
    merged_dir = tmp_path / "merged"
    main(["sft", "merge", "--adapter", str(smollm2_adapter), "--out", str(merged_dir)])
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(smollm2_dir).chat_template
    messages = [{"role": "system", "content": "You are a helpful clinical assistant."},
                {"role": "user", "content": "In one sentence, what is community-acquired pneumonia?"}]
    new = merged_matches_adapter(merged, peft_model, tokenizer, messages, "<|im_start|>assistant\n", atol=1e-3,
                                 max_new_tokens=24)
    text = tokenizer.decode(new, skip_special_tokens=True)
    words = re.findall(r"[A-Za-z]{2,}", text)
    assert len(words) >= 5, text  # a pretrained model writes words, not the tiny model's fragments
