"""Neutralise control-token strings in prompt text, so quoted text cannot open a new chat turn.

A chat template renders messages to text that is then tokenized, and tokenizers match their
special and added tokens in that text wherever they appear. A PubMed abstract or a user's
question containing ``<|im_start|>system`` is therefore read by the model as a real system
turn (prompt injection), on the local engine and on vLLM alike. Every message the gateway
sends to an engine goes through ``ControlTokens.neutralise``: a zero-width space after the
first character of each such string keeps it readable and makes the tokenizer see plain text.

The strings come from the served tokenizer (its special tokens, and added tokens that look
like markup; plain added words such as a domain term are left alone) plus the turn markers of
the common chat formats, which matter even where the served tokenizer does not know them
(Mistral's ``[INST]`` is ordinary text that its template writes too).
"""

from __future__ import annotations

import re
from typing import Any

BREAK = "\u200b"  # zero-width space: invisible, not a control character, outside every token above

COMMON = (
    # ChatML (Qwen, SmolLM2, many fine-tunes)
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_sep|>",
    # Llama 3
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
    "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>",
    # Llama 2 / Mistral / BioMistral
    "<s>", "</s>", "<unk>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_CALLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]",
    # Phi-3, Gemma
    "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>",
)

_MARKUP = set("<>[]|")


def tokenizer_controls(tokenizer: Any) -> set[str]:
    """The strings a Hugging Face tokenizer turns into control tokens rather than text."""
    found = set(getattr(tokenizer, "all_special_tokens", ()))
    for token in getattr(tokenizer, "added_tokens_decoder", {}).values():
        if token.special or _MARKUP & set(token.content):
            found.add(token.content)
    return {t for t in found if len(t.strip()) > 1}  # one character cannot be split


class ControlTokens:
    """One compiled pattern over the control strings; ``neutralise`` is a single pass."""

    def __init__(self, tokenizer: Any = None) -> None:
        strings = set(COMMON) | (tokenizer_controls(tokenizer) if tokenizer is not None else set())
        self.strings = frozenset(strings)
        # longest first, so "<</SYS>>" is broken as a whole rather than as the "</S" inside it
        self._pattern = re.compile("|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)))

    def neutralise(self, text: str) -> str:
        return self._pattern.sub(lambda m: m.group()[0] + BREAK + m.group()[1:], text)

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every text a template renders: contents, and the arguments of earlier tool calls."""
        out = []
        for m in messages:
            m = {**m, "content": self.neutralise(m["content"])}
            if m.get("tool_calls"):
                m["tool_calls"] = [{**c, "function": {**c["function"],
                                                      "arguments": self.neutralise(c["function"]["arguments"])}}
                                   for c in m["tool_calls"]]
            out.append(m)
        return out
