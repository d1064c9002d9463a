"""QLoRA training of the tiny model on the bundled mixture, end to end: train, save, reload with
PEFT, merge, generate with the saved chat template; and the assistant-only loss mask. (SmolLM2,
the default base, has the same path in tests/test_sft_smollm2.py; other templates in
tests/test_sft_template.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.fixtures.sft import merged_matches_adapter, quick_config


def test_outputs_report_and_card(tuned_adapter_dir: Path) -> None:
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "chat_template.jinja",
                 "training_report.json", "manifest.json", "README.md"):
        assert (tuned_adapter_dir / name).is_file(), name
    report = json.loads((tuned_adapter_dir / "training_report.json").read_text())
    assert report["global_steps"] == 3 and report["tokens_seen"] > 0 and report["tokens_per_s"] > 0
    assert report["peak_memory"]["process_rss_mib"] > 0
    assert {"eval_loss", "eval_mcq_letter_em", "eval_ddx_top1"} <= set(report["eval_curve"][-1])
    sources = report["mixture"]["sources"]
    assert {"medqa", "pubmedqa", "ddxplus"} <= set(sources)
    assert all(s["examples"] > 0 and s["tokens"] > 0 for s in sources.values())
    manifest = json.loads((tuned_adapter_dir / "manifest.json").read_text())
    assert manifest["kind"] == "sft" and manifest["config"]["load_in_4bit"] is True
    assert manifest["mixture"] == report["mixture"] and manifest["data_sha256"]
    card = (tuned_adapter_dir / "README.md").read_text()
    assert "Not a doctor" in card and "ddxplus" in card and "eval_loss" in card
    assert (tuned_adapter_dir / "runs").is_dir()  # TensorBoard logs by default


def test_reload_merge_generate(tuned_adapter_dir: Path, merged_model_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((tuned_adapter_dir / "adapter_config.json").read_text())
    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"], dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(base, str(tuned_adapter_dir)).eval()
    merged = AutoModelForCausalLM.from_pretrained(merged_model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_model_dir)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tuned_adapter_dir).chat_template
    assert "{% generation %}" in tokenizer.chat_template

    messages = [{"role": "user", "content": "A 60-year-old man has chest pain. Differential?"}]
    assert len(merged_matches_adapter(merged, peft_model, tokenizer, messages, "<|assistant|>\n", atol=1e-4,
                                      max_new_tokens=8)) > 0
    assert json.loads((merged_model_dir / "manifest.json").read_text())["kind"] == "sft-merge"


def test_loss_only_on_assistant_tokens(tiny_model_dir: Path, tmp_path: Path) -> None:
    from medassist.models.hub import load_tokenizer
    from medassist.sft.dataset import build_mixture
    from medassist.sft.train import make_trainer

    cfg = quick_config(tiny_model_dir, tmp_path / "out", "--max-length", "1024")
    tokenizer = load_tokenizer(cfg.model_name_or_path)
    mixture = build_mixture(cfg, tokenizer)
    trainer, _ = make_trainer(cfg, mixture, tokenizer)
    import bitsandbytes as bnb

    assert any(isinstance(m, bnb.nn.Linear4bit) for m in trainer.model.modules())  # real QLoRA on CPU
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["labels"].shape == batch["input_ids"].shape
    assistant_texts = {pair["completion"][0]["content"] for pair in mixture.train}
    for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        trained = tokenizer.decode(ids[labels != -100])
        ignored = tokenizer.decode(ids[(labels == -100) & (ids != tokenizer.pad_token_id)])
        # the completion is what the template adds after the prompt: the answer, <|end|> (EOS) and a newline
        assert trained.endswith("<|end|>\n") and trained.removesuffix("<|end|>\n") in assistant_texts
        assert "<|user|>" in ignored and "<|system|>" in ignored and "<|assistant|>" in ignored
        assert trained.removesuffix("<|end|>\n") not in ignored


def test_sharded_qlora_settings(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """FSDP / ZeRO-3 QLoRA cannot run here (no GPUs): check what medassist sets up for it. The GPU
    is faked only for the quantisation config; the model is really loaded on CPU as a sharded run
    would load it (no device map, no fp32 upcast by prepare_model_for_kbit_training)."""
    from medassist.models import hub
    from medassist.sft.train import build_model, sharded_training

    assert hub.quantization_config("4bit").bnb_4bit_quant_storage == torch.uint8  # the CPU layout
    monkeypatch.setattr(hub, "has_cuda", lambda: True)
    assert hub.quantization_config("4bit").bnb_4bit_quant_storage == torch.bfloat16
    monkeypatch.undo()

    for env, expected in (({}, False), ({"ACCELERATE_USE_FSDP": "true"}, True),
                          ({"ACCELERATE_DEEPSPEED_ZERO_STAGE": "3"}, True),
                          ({"ACCELERATE_DEEPSPEED_ZERO_STAGE": "2"}, False)):
        monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
        monkeypatch.delenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert sharded_training() is expected, env

    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    model, peft_config = build_model(quick_config(tiny_model_dir, tmp_path / "out"))
    assert model.is_loaded_in_4bit and getattr(model, "hf_device_map", None) is None and peft_config.r > 0
    # prepare_model_for_kbit_training would have frozen every base weight (the trainer's PEFT wrap does that)
    assert model.get_input_embeddings().weight.requires_grad


def test_full_finetuning_writes_a_whole_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    """``method: full`` (no adapter, every weight trains): the output is a model transformers loads
    directly, its weights moved away from the base, and the card says so."""
    from safetensors.torch import load_file

    from medassist.sft.train import train

    out = train(quick_config(tiny_model_dir, tmp_path / "full", "--method", "full", "--load-in-4bit", "false",
                             "--max-steps", "2", "--learning-rate", "1e-3"))
    assert not (out / "adapter_config.json").exists() and (out / "chat_template.jinja").is_file()
    tuned, base = load_file(out / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    changed = [name for name in base if not torch.equal(base[name], tuned[name])]
    assert any("mlp" in name for name in changed) and any("embed_tokens" in name for name in changed)
    assert "A fully fine-tuned" in (out / "README.md").read_text()
    report = json.loads((out / "training_report.json").read_text())
    assert report["global_steps"] == 2


def test_a_users_custom_chats_are_scrubbed_before_training(tiny_model_dir: Path, tmp_path: Path) -> None:
    import yaml

    from medassist.config import parse_config
    from medassist.models.hub import load_tokenizer
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.dataset import build_mixture
    from tests.fixtures.sft import RECIPE

    chats = tmp_path / "my_chats.jsonl"
    chats.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Mrs Jane Roe, call 555-123-4567: cough for {i} days, BP 120/80"},
        {"role": "assistant", "content": "Likely viral; review if worse."}]}) + "\n" for i in range(2, 12)))
    recipe = yaml.safe_load(RECIPE.read_text()) | {"data": [{"kind": "custom", "path": str(chats)}]}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    cfg = parse_config(SFTRunConfig, tmp_path / "recipe.yaml",
                       ["--model-name-or-path", str(tiny_model_dir), "--output-dir", str(tmp_path / "out")])
    mixture = build_mixture(cfg, load_tokenizer(cfg.model_name_or_path))
    prompts = json.dumps([*mixture.train["prompt"], *mixture.validation["prompt"]])
    assert "Mrs [NAME], call [PHONE]: cough for" in prompts and "BP 120/80" in prompts
    assert "Jane Roe" not in prompts and "555-123-4567" not in prompts
