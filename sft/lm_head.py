"""On a CPU, TRL's fused LM head scores only the positions that carry a label.

TRL 1.16 computes the SFT loss with a chunked LM head (``trl.trainer.utils.add_fused_lm_head``).
On Triton devices (CUDA, XPU) it scores only the labelled positions; everywhere else it scores every
position, so that a compiler (Neuron, say) sees the same tile shapes on every batch. A CPU runs
eagerly and recompiles nothing, while completion-only loss leaves most positions unlabelled (the
prompt tokens): scoring them took 28% of a SmolLM2 QLoRA step here
(py-spy), for the same loss, gradients and metrics (``tests/test_sft_lm_head.py``).

TRL exposes no option for this, so the one module-level decision it reads (``_use_triton`` as
imported by ``trl.trainer.utils``) is widened to CPUs. The kernels keep their own reference to the
original and still pick the torch tiles on a CPU.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def score_labelled_positions_only() -> bool:
    """Make TRL's fused LM head compact (labelled positions only) on CPUs too; idempotent.

    Returns whether the patch is in place: False, with a warning, on a TRL without that decision
    point (the fused head then scores every position, as TRL ships it: slower, equally correct).
    """
    import trl.trainer.utils as trl_utils

    use_triton = getattr(trl_utils, "_use_triton", None)
    if use_triton is None:
        log.warning("trl %s has no trl.trainer.utils._use_triton: the LM head scores every position on CPU",
                    getattr(__import__("trl"), "__version__", "?"))
        return False
    if getattr(use_triton, "medassist_compact_on_cpu", False):
        return True

    def compact(device: Any) -> bool:
        return device.type == "cpu" or use_triton(device)

    compact.medassist_compact_on_cpu = True  # type: ignore[attr-defined]
    trl_utils._use_triton = compact
    return True
