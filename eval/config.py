"""Settings of an evaluation run (``configs/eval-*.yaml``; the CLI's flags override them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EvalConfig:
    max_tokens: int = 128  # generation budget per answer
    concurrency: int = 4  # parallel requests to an endpoint
    batch_size: int = 8  # in-process generation batch
    engine: str = "auto"  # in-process engine: auto (vLLM when importable), transformers, vllm
    retrieval_k: int = 5  # passages per question for in-process --rag on
    ddx_threshold: float = 0.01  # DDXPlus: a condition is in a differential above this probability
    severe_max: int = 2  # DDXPlus severity counted as severe (1 = most severe)
    faithfulness_threshold: float = 0.5  # offline scorer: support needed for a statement
    semantic_weight: float = 0.6  # offline scorer: embedding vs lexical share
    judge_endpoint: str | None = None  # ragas Faithfulness judge (OpenAI-compatible base URL)
    judge_model: str | None = None
    judge_api_key: str = "EMPTY"
