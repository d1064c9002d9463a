"""vLLM's tool-call parser is chosen from the served model's chat template (real tokenizer, the
real Qwen2.5 and Llama 3.1 templates TRL ships); a template without a tool format gets none."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from medassist.serve.engines.vllm import tool_call_parser

TRL_TEMPLATES = importlib.resources.files("trl") / "chat_templates"


@pytest.mark.parametrize(("template", "tokens", "parser"), [
    (None, [], None),  # SmolLM2's own ChatML template: no tool format
    ("qwen2_5.jinja", ["<tool_call>", "</tool_call>"], "hermes"),
    ("qwen2_5.jinja", [], None),  # the template's marker is not one of this tokenizer's tokens
    ("llama3_1.jinja", ["<|python_tag|>"], "llama3_json"),
])
def test_parser_follows_the_template(smollm2_dir: Path, template: str | None, tokens: list[str],
                                     parser: str | None) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    if template:
        tokenizer.chat_template = (TRL_TEMPLATES / template).read_text()
    if tokens:
        tokenizer.add_special_tokens({"additional_special_tokens": tokens})
    assert tool_call_parser(tokenizer) == parser
