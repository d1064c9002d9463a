"""Settings of an evaluation run (``configs/eval-*.yaml``; the CLI's flags override them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from medassist.config import SECRET

ENV_JUDGE_API_KEY = "MEDASSIST_JUDGE_API_KEY"


@dataclass
class EvalConfig:
    max_tokens: int = 128  # generation budget per answer
    concurrency: int = 4  # parallel requests to an endpoint
    batch_size: int = 8  # in-process generation batch
    engine: str = "auto"  # in-process engine: auto (vLLM when importable), transformers, vllm
    retrieval_k: int = 5  # passages per question for in-process --rag on
    ddx_threshold: float = 0.01  # DDXPlus: a condition is in a differential above this probability
    severe_max: int = 2  # DDXPlus severity counted as severe (1 = most severe)
    # ddx --interactive: the question policy (data/next_question.py)
    red_flag_weight: float = 3.0  # weight of severity <= severe_max conditions in the weighted entropy
    stop_threshold: float = 0.9  # stop asking once the top condition is this probable
    model_weight: float = 0.5  # share of the policy's differential from the model (the rest: KB likelihoods)
    faithfulness_threshold: float = 0.5  # offline scorer: support needed for a statement
    semantic_weight: float = 0.6  # offline scorer: embedding vs lexical share
    judge_endpoint: str | None = None  # ragas Faithfulness judge (OpenAI-compatible base URL)
    judge_model: str | None = None
    # the judge's key: from $MEDASSIST_JUDGE_API_KEY (a flag would sit in shell history and `ps`);
    # manifest.json and report.json show only whether one was set
    judge_api_key: str | None = field(default=None, repr=False, metadata=SECRET)

    def __post_init__(self) -> None:
        if self.judge_api_key is None:
            self.judge_api_key = os.environ.get(ENV_JUDGE_API_KEY)
