"""Attribution benchmark: the deletion test (eval/attribution.py) of the tuned SmolLM2 on held-out
DDXPlus patients: does removing the top-k attributed findings lower the model's top condition more
than removing k random findings? Reports the gap with its bootstrap 95% interval per k, and the time.

The model is the demo's (``make demo``: artifacts/base-smollm2-135m + the adapter artifacts/sft-smollm2),
or any ``--model``/``--adapter``. The demo trains on the bundled samples' 8 pathologies, so patients
are restricted to those (``--pathology``); on the shared DDXPlus subset only two of them occur.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_attribution.py --out FILE.json [--quick]
        [--model DIR --adapter DIR --limit 200 --k 1,2,3 --draws 3 --dtype bfloat16 --work DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from medassist.bench import bench_parser, write_results

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEMO_PATHOLOGIES = (
    "Pulmonary embolism",
    "Bronchospasm / acute asthma exacerbation",
    "GERD",
    "Influenza",
    "Possible NSTEMI / STEMI",
    "Pneumonia",
    "Acute otitis media",
    "Anaphylaxis",
)


def main() -> None:
    parser = bench_parser(__doc__, "10 patients")
    parser.add_argument("--model", default=str(ROOT / "artifacts" / "base-smollm2-135m"))
    parser.add_argument("--adapter", default=str(ROOT / "artifacts" / "sft-smollm2"))
    parser.add_argument("--data", type=Path, default=SHARED / "ddxplus")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--k", default="1,2,3")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--pathology", action="append", help="default: the demo's 8 pathologies")
    parser.add_argument("--work", type=Path, help="keep the run (report.md, samples.jsonl) here")
    args = parser.parse_args()
    missing = [p for p in (args.data, Path(args.model), Path(args.adapter)) if not p.exists()]
    if missing:
        results = {"skipped": f"not present: {', '.join(map(str, missing))} (make demo builds the model)"}
    else:
        results = {"command": " ".join(sys.argv), **run(args)}
    write_results(args.out, "attribution", results, args.quick)


def run(args: argparse.Namespace) -> dict:
    from medassist.condition_scorer import ConditionScorer
    from medassist.data import formats
    from medassist.eval.attribution import DeletionSpec, run_deletion_test

    spec = DeletionSpec(
        ks=tuple(int(k) for k in args.k.split(",")),
        draws=args.draws,
        limit=10 if args.quick else args.limit,
        pathologies=tuple(args.pathology or DEMO_PATHOLOGIES),
    )
    loaded = formats.load("ddxplus", args.data)
    scorer = ConditionScorer.load(args.model, args.adapter, dtype=args.dtype)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-attribution-"))
    report = run_deletion_test(loaded.records, loaded.kb, scorer, spec, work, f"{args.model} + {args.adapter}")
    return {
        "model": report["model"],
        "dtype": args.dtype,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "patients": report["patients"],
        "pathologies": report["pathologies"],
        "pathology_filter": list(spec.pathologies),
        "ks": list(spec.ks),
        "draws": spec.draws,
        "top_condition_is_pathology": report["top_condition_is_pathology"],
        "findings_per_patient": report["findings_per_patient"],
        "by_k": {
            k: {name: row[name] for name in ("patients", "gap", "drop_top", "drop_random", "top_beats_random")}
            for k, row in report["by_k"].items()
        },
        "seconds": report["seconds"],
        "seconds_per_patient": report["seconds_per_patient"],
    }


if __name__ == "__main__":
    main()
