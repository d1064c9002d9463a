"""JSON-schema-constrained decoding for the in-process engine, through llguidance.

vLLM enforces ``response_format`` while decoding; the local engine gets the same guarantee from
llguidance (the grammar library vLLM and llama.cpp also use). Each constrained request has a
matcher that, at every step, masks the tokens that would break its schema. Without it a small
model rarely writes valid JSON, and the gateway can only validate and retry.
"""

from __future__ import annotations

from typing import Any

import llguidance
import llguidance.hf
import torch
from transformers import LogitsProcessor

from medassist.serve.engines.base import EngineError


class SchemaGrammars:
    """Compiles JSON schemas into matchers over one tokenizer (converted once: ~1 s for a large vocabulary)."""

    def __init__(self, tokenizer: Any, n_vocab: int, eos_ids: set[int]) -> None:
        self.tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=n_vocab, eos_token=sorted(eos_ids))

    def matcher(self, schema: dict[str, Any]) -> llguidance.LLMatcher:
        # no free whitespace between JSON tokens: small models otherwise pad until max_tokens (as on vLLM)
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
        except (ValueError, TypeError) as exc:
            raise EngineError(f"response_format schema cannot be enforced: {exc}", status=400) from exc
        matcher = llguidance.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise EngineError(f"response_format schema cannot be enforced: {matcher.get_error()}", status=400)
        return matcher


class GrammarMask(LogitsProcessor):
    """Feeds each constrained row its last sampled token, then masks what its schema forbids next.

    ``rows`` are the batch's jobs (``matcher`` None: unconstrained). Finished rows are skipped:
    generate() keeps feeding them padding until the whole batch ends.
    """

    def __init__(self, rows: list[Any], prompt_len: int) -> None:
        self.rows, self.prompt_len = rows, prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for i, row in enumerate(self.rows):
            matcher = row.matcher
            if matcher is None or row.done or row.cancelled:
                continue
            if input_ids.shape[1] > self.prompt_len and not matcher.is_stopped():
                matcher.consume_token(int(input_ids[i, -1]))
            allowed = torch.frombuffer(bytearray(matcher.compute_logit_bias()), dtype=torch.uint8)
            scores[i, : allowed.numel()].masked_fill_(allowed.to(scores.device) == 0, float("-inf"))
            scores[i, allowed.numel() :] = float("-inf")
        return scores
