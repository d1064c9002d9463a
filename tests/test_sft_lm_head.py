"""TRL's fused LM head scoring only the labelled positions on a CPU (``sft/lm_head.py``) gives the
same loss, gradients and metrics as TRL's every-position path, on the tiny model with a prompt
masked out as completion-only loss masks it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def fused_step(model_dir: Path, input_ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    out = model(input_ids=input_ids, labels=labels, fused_lm_head=True)
    out.loss.backward()
    return {"loss": out.loss.detach(), "entropy": out.entropy.detach(), "is_top1": out.is_top1,
            "grad_embed": model.get_input_embeddings().weight.grad, "grad_last": model.model.norm.weight.grad}


def test_labelled_positions_only_matches_every_position(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trl.trainer.utils as trl_utils
    from trl.kernels.chunked_logprob import _use_triton as as_shipped

    from medassist.sft.lm_head import score_labelled_positions_only

    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, 200, (2, 48), generator=generator)
    labels = input_ids.clone()
    labels[0, :30] = -100  # the prompts: no loss there
    labels[1, :41] = -100
    # TRL's own decision (an earlier training test of the session may have widened it already); restored afterwards
    monkeypatch.setattr(trl_utils, "_use_triton", as_shipped)
    assert not trl_utils._use_triton(torch.device("cpu"))  # TRL as shipped: every position on a CPU
    every = fused_step(tiny_model_dir, input_ids, labels)

    assert score_labelled_positions_only() and score_labelled_positions_only()  # idempotent
    assert trl_utils._use_triton(torch.device("cpu"))
    labelled = fused_step(tiny_model_dir, input_ids, labels)

    for name in every:
        torch.testing.assert_close(labelled[name], every[name], rtol=1e-5, atol=1e-6, msg=name)
    assert every["loss"] > 0 and every["grad_embed"].abs().sum() > 0
