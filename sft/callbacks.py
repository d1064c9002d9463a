"""What the trainer reports besides the loss: a cheap generation metric and the run report.

Validation loss says little about whether the model answers in the format serving parses, so
each evaluation also generates greedily on a few held-out MedQA items (is the answer letter
right?) and DDXPlus cases (is the top condition of the JSON differential the true pathology?),
read with the answer formats' own parsers (``medassist.data.answers``): the figures are the
eval suites' accuracy and GTPA@1 on those items.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from transformers import TrainerCallback

from medassist.data.answers.differential import top_condition
from medassist.data.answers.mcq import mcq_correct
from medassist.models.hub import greedy_chat


@dataclass
class Probe:
    """A held-out prompt (system + user turns) and its gold answer, scored as the eval suite scores it."""

    kind: Literal["mcq", "ddx"]
    messages: list[dict[str, str]]
    target: str  # the answer letter, or the true pathology
    options: dict[str, str] | None = None  # mcq: the lettered options the answer is read against
    # ddx: maps a written condition to its DDXPlus name (``DDXPlusKB.normalise_condition``), as eval does
    normalise: Callable[[str], str | None] | None = None

    def hit(self, text: str) -> bool:
        """The mcq suite's accuracy, or the ddx suite's GTPA@1, of one answer."""
        if self.kind == "mcq":
            return mcq_correct(text, self.options or {}, self.target)
        return top_condition(text, self.normalise) == self.target


def probe_scores(model: Any, tokenizer: Any, probes: list[Probe], max_new_tokens: int) -> dict[str, float]:
    """``mcq_letter_em`` and ``ddx_top1`` over the probes of each kind (absent kinds are left out)."""
    scores: dict[str, float] = {}
    for kind, name in (("mcq", "mcq_letter_em"), ("ddx", "ddx_top1")):
        chosen = [p for p in probes if p.kind == kind]
        if not chosen:
            continue
        answers = greedy_chat(model, tokenizer, [p.messages for p in chosen], max_new_tokens)
        hits = [p.hit(a) for a, p in zip(answers, chosen, strict=True)]
        scores[name] = sum(hits) / len(hits)
    return scores


class GenerationEvalCallback(TrainerCallback):
    """After each evaluation, adds ``eval_mcq_letter_em`` / ``eval_ddx_top1`` to the metrics and logs."""

    def __init__(self, probes: list[Probe], tokenizer: Any, max_new_tokens: int) -> None:
        self.probes = probes
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens

    def on_evaluate(self, args, state, control, model=None, metrics=None, **kwargs):  # type: ignore[no-untyped-def]
        if not self.probes or model is None:
            return
        scores = {f"eval_{k}": round(v, 4) for k, v in probe_scores(
            model, self.tokenizer, self.probes, self.max_new_tokens).items()}
        if metrics is not None:
            metrics.update(scores)
        state.log_history.append({**scores, "epoch": state.epoch, "step": state.global_step})


def peak_memory_mib() -> dict[str, float]:
    import torch

    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    peak = {"process_rss_mib": round(rss, 1)}
    if torch.cuda.is_available():
        peak["cuda_allocated_mib"] = round(torch.cuda.max_memory_allocated() / (1 << 20), 1)
    return peak


def eval_curve(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per evaluation step: the loss metrics and the generation metrics merged."""
    rows: dict[int, dict[str, Any]] = {}
    for entry in history:
        metrics = {k: round(v, 4) for k, v in entry.items() if k.startswith("eval_") and "runtime" not in k
                   and "per_second" not in k}
        if metrics:
            rows.setdefault(entry["step"], {"step": entry["step"]}).update(metrics)
    return list(rows.values())


class EvaluateAfterFinalSave(TrainerCallback):
    """Skip the evaluation transformers runs at the last step, which comes before that step's
    save: a run killed during it (541 DDXPlus patients took 8 minutes here) kept nothing of its
    training. ``train`` saves the model, then evaluates. Not used with early stopping, which needs
    the last step's metric to pick the best checkpoint."""

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if state.global_step >= state.max_steps:
            control.should_evaluate = False
        return control


class TrainingReportCallback(TrainerCallback):
    """Collects steps, tokens, speed and memory of this session for ``training_report.json``."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_step = 0
        self.first_tokens = 0
        self.report: dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.started = time.perf_counter()
        self.first_step = state.global_step
        self.first_tokens = state.num_input_tokens_seen

    def on_train_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        seconds = time.perf_counter() - self.started
        tokens = state.num_input_tokens_seen - self.first_tokens
        history = state.log_history
        self.report = {
            "global_steps": state.global_step,
            "max_steps": state.max_steps,
            "epochs": round(state.epoch or 0.0, 3),
            "steps_this_session": state.global_step - self.first_step,
            "resumed_from_step": self.first_step or None,
            "tokens_seen": state.num_input_tokens_seen,
            "tokens_this_session": tokens,
            "train_seconds_this_session": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None,
            "peak_memory": peak_memory_mib(),
            "best_checkpoint": state.best_model_checkpoint,
            "train_loss_curve": [
                {"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h and "step" in h
            ],
            "eval_curve": eval_curve(history),
        }
