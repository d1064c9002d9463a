"""Evaluation benchmark: the offline faithfulness scorer's validity.

Each PubMedQA conclusion (LONG_ANSWER) is scored against its own abstract and against the next
item's abstract; the scorer must separate the two (ROC-AUC). Model figures on MedQA, PubMedQA and
DDXPlus (zero-shot and tuned SmolLM2) are bench/bench_sft.py's, which trains the tuned models.

    .venv/bin/python bench/bench_eval.py --out FILE.json [--quick]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness import bench_parser, write_results

from medassist.eval.faithfulness import OfflineScorer

SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PUBMEDQA = SHARED / "pubmedqa" / "ori_pqal.json"


def faithfulness_auc(n: int) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    path = PUBMEDQA
    if not path.is_file():
        return {"skipped": f"{path} not present"}
    records = list(json.loads(path.read_text()).values())[:n]
    abstracts = [" ".join(r["CONTEXTS"]) for r in records]
    scorer = OfflineScorer()
    started = time.perf_counter()
    scorer.prepare([r["LONG_ANSWER"] for r in records], abstracts)
    own = [scorer.score_answer(r["LONG_ANSWER"], {"1": a})["mean_support"] for r, a in zip(records, abstracts,
                                                                                          strict=True)]
    other = [scorer.score_answer(r["LONG_ANSWER"], {"1": abstracts[(i + 1) % n]})["mean_support"]
             for i, r in enumerate(records)]
    seconds = time.perf_counter() - started
    return {
        "pairs": n, "roc_auc": roc_auc_score([1] * n + [0] * n, own + other),
        "mean_support_own_abstract": sum(own) / n, "mean_support_other_abstract": sum(other) / n,
        "own_over_other_ratio": (sum(own) / n) / max(1e-9, sum(other) / n),
        "seconds": round(seconds, 1), "answers_per_s": round(2 * n / seconds, 2),
        "scorer": {"threshold": scorer.threshold, "semantic_weight": scorer.semantic_weight},
    }


def main() -> None:
    parser = bench_parser(__doc__, "fewer items (about a minute)")
    args = parser.parse_args()
    results = {"faithfulness_scorer_pubmedqa": faithfulness_auc(12 if args.quick else 200)}
    write_results(args.out, "eval", results, args.quick)


if __name__ == "__main__":
    main()
