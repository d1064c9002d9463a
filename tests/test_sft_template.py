"""Loss on the assistant's tokens only, on a real TRL batch, for the chat templates of the model
families the recipes use: SmolLM2 (ChatML, the embedded default), Qwen2.5, Llama-3.1 and Mistral.

Each family is the real SmolLM2 tokenizer given that family's template (TRL ships Qwen2.5's and
Llama-3.1's in ``trl/chat_templates``; Mistral's is the project's, for BioMistral) and the
family's end-of-turn token as EOS, as its own tokenizer has it: a template needs no weights.
Llama-3's tokenizer also splits text before BPE with its own pattern (it keeps ``\n\n`` whole
before a word, where GPT-2's pattern, SmolLM2's, splits it), so that family gets Llama-3's split. The
batch comes from ``SFTTrainer``'s own data pipeline and collator, over a freshly initialised
two-layer Llama of the tokenizer's vocabulary (the weights play no part in the mask).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import pytest

from medassist.errors import MedassistError
from medassist.sft.template import check_chat_template, to_prompt_completion

REPO = Path(__file__).resolve().parents[1]
TRL_TEMPLATES = importlib.resources.files("trl") / "chat_templates"
MISTRAL_PROJECT = REPO / "configs" / "chat_templates" / "mistral-instruct-system.jinja"
# Mistral-7B-Instruct v0.1's own template as Mistral's cookbook gives it: no system turn allowed.
MISTRAL_V01 = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

SYSTEM = "You are medassist, a decision-support assistant."
CHATS = [
    [{"role": "system", "content": SYSTEM},
     {"role": "user", "content": "First antibiotic for community-acquired pneumonia?\nA. Amoxicillin\nB. Vancomycin"},
     {"role": "assistant", "content": "Answer: A. Amoxicillin"}],
    [{"role": "system", "content": SYSTEM},
     {"role": "user", "content": "What suggests a pulmonary embolism?"},
     {"role": "assistant", "content": "Sudden dyspnoea, pleuritic pain and tachycardia."},
     {"role": "user", "content": "And the first test?"},
     {"role": "assistant", "content": "A Wells score, then D-dimer or CT pulmonary angiography."}],
]
ANSWERS = {m["content"] for chat in CHATS for m in chat if m["role"] == "assistant"}

# Llama-3's pre-tokenizer pattern (its tokenizer.json), applied before byte-level BPE.
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# family -> (template, special tokens the family's tokenizer has, its EOS, what ends a trained answer)
FAMILIES: dict[str, tuple[str | None, dict[str, Any], str, str]] = {
    "smollm2": (None, {}, "<|im_end|>", "<|im_end|>\n"),
    "qwen2.5": ((TRL_TEMPLATES / "qwen2_5.jinja").read_text(), {}, "<|im_end|>", "<|im_end|>\n"),
    "llama3.1": ((TRL_TEMPLATES / "llama3_1.jinja").read_text(),
                 {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                  "additional_special_tokens": ["<|start_header_id|>", "<|end_header_id|>"]},
                 "<|eot_id|>", "<|eot_id|>"),
    "mistral": (MISTRAL_PROJECT.read_text(), {"bos_token": "<s>", "eos_token": "</s>"}, "</s>", "</s>"),
}


def family_tokenizer(smollm2_dir: Path, family: str) -> Any:
    from transformers import AutoTokenizer

    template, specials, _, _ = FAMILIES[family]
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    if specials:
        tokenizer.add_special_tokens(specials)
    if template is not None:
        tokenizer.chat_template = template
    if family == "llama3.1":
        from tokenizers import Regex, pre_tokenizers

        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    return tokenizer


@pytest.mark.parametrize("family", list(FAMILIES))
def test_loss_mask_on_a_real_batch(smollm2_dir: Path, tmp_path: Path, family: str) -> None:
    import torch
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTTrainer

    from medassist.sft.config import SFTRunConfig
    from medassist.sft.train import training_args

    tokenizer = family_tokenizer(smollm2_dir, family)
    _, _, eos, turn_end = FAMILIES[family]
    assert tokenizer.eos_token == eos
    pairs = [pair for chat in CHATS for pair in to_prompt_completion(chat)]
    assert len(pairs) == 3  # the two-turn chat trains both of its answers
    check_chat_template(tokenizer, pairs, family)

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1))
    cfg = SFTRunConfig(output_dir=str(tmp_path), per_device_train_batch_size=len(pairs), report_to=[],
                       bf16=False, max_steps=1)
    trainer = SFTTrainer(model=model, args=training_args(cfg, evaluate=False), train_dataset=Dataset.from_list(pairs),
                         processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    trained_texts = set()
    for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        real = ids != tokenizer.pad_token_id
        trained = tokenizer.decode(ids[labels != -100])
        ignored = tokenizer.decode(ids[(labels == -100) & real])
        answer = trained.removesuffix(turn_end).strip()
        assert trained.endswith(turn_end) and answer in ANSWERS, (family, trained)
        assert eos in trained  # the model learns to stop
        assert SYSTEM in ignored and ("pulmonary" in ignored or "pneumonia" in ignored)  # prompts never train
        assert answer not in ignored
        trained_texts.add(answer)
    assert trained_texts == ANSWERS


def test_a_template_that_cannot_train_fails_before_training(smollm2_dir: Path) -> None:
    """Mistral v0.1's own template rejects the system turn every example has: one clear error."""
    tokenizer = family_tokenizer(smollm2_dir, "mistral")
    tokenizer.chat_template = MISTRAL_V01
    pairs = to_prompt_completion(CHATS[0])
    with pytest.raises(MedassistError, match=r"cannot render a system/user/assistant conversation.*"
                                             r"roles must alternate.*chat_template_path"):
        check_chat_template(tokenizer, pairs, "BioMistral/BioMistral-7B")

    tokenizer.chat_template = None
    with pytest.raises(MedassistError, match="has no chat template"):
        check_chat_template(tokenizer, pairs, "some/base-model")

    # A template that never closes the assistant turn would train a model that never stops.
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] + ':\n' + m['content'] + '\n' }}{% endfor %}"
                               "{% if add_generation_prompt %}{{ 'assistant:\n' }}{% endif %}")
    with pytest.raises(MedassistError, match="does not end the assistant turn with the EOS token"):
        check_chat_template(tokenizer, pairs, "plain")


def test_the_biomistral_recipe_brings_a_template_that_trains(smollm2_dir: Path, monkeypatch) -> None:
    """The shipped BioMistral recipe names the project's Mistral template, which passes the check
    that BioMistral's own (Mistral v0.1) template fails."""
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.template import load_chat_template

    monkeypatch.chdir(REPO)  # recipe paths are relative to the repository, as `medassist sft` runs there
    cfg = parse_config(SFTRunConfig, REPO / "configs" / "sft-biomistral-7b-qlora.yaml", [])
    tokenizer = family_tokenizer(smollm2_dir, "mistral")
    tokenizer.chat_template = MISTRAL_V01
    load_chat_template(tokenizer, cfg.chat_template_path)
    check_chat_template(tokenizer, to_prompt_completion(CHATS[1]), cfg.model_name_or_path)
