"""SFT benchmarks on the embedded tiny model (CPU).

1. Throughput: training tokens/s on the bundled mixture without and with packing (TRL's BFD),
   same data, same steps budget, one run; the ratio packed / unpacked.
2. DDXPlus: QLoRA-train the tiny model on the DDXPlus subset in ../shared/data (a stratified
   validation split held out), then the top-1 accuracy of the generated differential on held-out
   patients against the majority-class baseline (skipped with a reason when the data is absent).

    .venv/bin/python bench/bench_sft.py --out FILE.json [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from medassist.config import parse_config
from medassist.io import atomic_write_json
from medassist.manifest import machine, package_versions
from medassist.sft.config import SFTRunConfig

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs" / "sft-tiny-cpu.yaml"
SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", REPO.parent / "shared" / "data"))
DDX = SHARED / "ddxplus"


def base_model(out: Path, quick: bool, extra_corpus: list[Path]) -> Path:
    from medassist.tiny import PRESETS, build_tiny, default_corpus

    preset = PRESETS["test" if quick else "tiny"]
    corpus = [str(p) for p in [*default_corpus(), *extra_corpus]]
    return build_tiny(out, dataclasses.replace(preset, corpus=corpus))


def throughput(model: Path, work: Path, steps: int) -> dict[str, Any]:
    from medassist.hub import load_tokenizer
    from medassist.sft.data import build_mixture
    from medassist.sft.train import make_trainer

    results: dict[str, Any] = {}
    for packing in (False, True):
        cfg = parse_config(SFTRunConfig, RECIPE, [
            "--model", str(model), "--output-dir", str(work / f"packing-{packing}"), "--packing", str(packing),
            "--max-steps", str(steps), "--eval-steps", "100000", "--save-steps", "100000",
            "--report-to", "tensorboard", "--max-length", "256", "--per-device-train-batch-size", "4"])
        tokenizer = load_tokenizer(cfg.model)
        mixture = build_mixture(cfg, tokenizer)
        mixture.validation, mixture.probes = None, []  # time training only
        trainer, report = make_trainer(cfg, mixture, tokenizer)
        trainer.train()
        r = report.report
        results["packed" if packing else "padded"] = {
            "steps": r["global_steps"], "tokens": r["tokens_seen"], "seconds": r["train_seconds_this_session"],
            "tokens_per_s": r["tokens_per_s"]}
    results["packed_over_padded_tokens_per_s"] = round(
        results["packed"]["tokens_per_s"] / results["padded"]["tokens_per_s"], 3)
    return results


def ddxplus(model: Path, work: Path, fraction: float, held_out: int, steps: int) -> dict[str, Any]:
    from medassist.data import label_of, load, stratified_split
    from medassist.sft.train import train

    csv = next(DDX.glob("*patients*.csv"))
    cfg = parse_config(SFTRunConfig, RECIPE, [
        "--model", str(model), "--output-dir", str(work / "ddxplus"), "--max-steps", str(steps),
        "--validation-fraction", str(fraction), "--eval-steps", "1000000", "--save-steps", str(steps),
        "--max-length", "768", "--per-device-train-batch-size", "8", "--learning-rate", "3e-3",
        "--lora.r", "64", "--lora.alpha", "64",
        "--generation-eval-items", str(held_out), "--generation-max-new-tokens", "48"])
    cfg.data = [dataclasses.replace(cfg.data[0], kind="ddxplus", path=str(csv), weight=1.0, cap=None)]
    # the same split build_mixture makes, to count the majority class on the training side
    patients = load("ddxplus", csv).records
    train_split, val_split = stratified_split(patients, lambda r: label_of("ddxplus", r), fraction, cfg.seed)
    majority, _ = Counter(p.pathology for p in train_split).most_common(1)[0]
    probed = val_split[:held_out]
    baseline = sum(p.pathology == majority for p in probed) / len(probed)
    started = time.perf_counter()
    out = train(cfg)
    report = json.loads((out / "training_report.json").read_text())
    return {
        "patients": len(patients), "train_patients": len(train_split), "validation_patients": len(val_split),
        "held_out_scored": len(probed), "pathologies": len({p.pathology for p in patients}),
        "truncated_to_max_length": report["mixture"]["sources"]["ddxplus"]["truncated_to_max_length"],
        "steps": report["global_steps"], "train_tokens_per_s": report["tokens_per_s"],
        "seconds_total": round(time.perf_counter() - started, 1),
        "top1_accuracy": report["final_eval"].get("eval_ddx_top1"),
        "majority_class": majority, "majority_baseline_top1": round(baseline, 4),
        "eval_loss": report["final_eval"].get("eval_loss"),
        "top1_over_baseline": round(report["final_eval"].get("eval_ddx_top1", 0) / baseline, 3) if baseline else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="a few steps of each (about a minute on 2 idle cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full"}
    with tempfile.TemporaryDirectory(prefix="bench-sft-") as tmp:
        work = Path(tmp)
        kb = [DDX / "release_evidences.json", DDX / "release_conditions.json"] if DDX.is_dir() else []
        model = base_model(work / "base", args.quick, kb)
        results["throughput"] = throughput(model, work, 3 if args.quick else 20)
        if DDX.is_dir():
            results["ddxplus"] = ddxplus(model, work, *((0.01, 32, 12) if args.quick else (0.03, 200, 500)))
        else:
            results["ddxplus"] = {"skipped": f"DDXPlus data not present at {DDX} (set MEDASSIST_SHARED_DATA)"}
    atomic_write_json(args.out, {"benchmark": "sft", "results": results, "machine": machine(),
                                 "versions": package_versions()})
    print(args.out.read_text())


if __name__ == "__main__":
    main()
