"""SFT benchmarks on the embedded tiny model (CPU).

1. Throughput: training tokens/s on the bundled mixture without and with packing (TRL's BFD),
   same data, same steps budget, one run; the ratio packed / unpacked.
2. DDXPlus: train the tiny model on the DDXPlus subset in ../shared/data (a stratified validation
   split held out), fully fine-tuned and with QLoRA, same data and steps; then the eval part's
   DDXPlus suite (GTPA@1 = top-1, GTPA@k, DDF1) on the held-out patients against the
   majority-class baseline (skipped with a reason when the data is absent).

    .venv/bin/python bench/bench_sft.py --out FILE.json [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
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


def held_out_csv(csv_path: Path, patients: list[Any], folder: Path) -> Path:
    """The held-out patients' own CSV rows (ids are ``<stem>-<row index>``) with the KB beside them,
    in the benchmark's temporary folder, so the eval part scores exactly the patients SFT never saw."""
    import csv

    rows = {int(p.id.rsplit("-", 1)[1]) for p in patients}
    folder.mkdir(parents=True)
    out = folder / csv_path.name
    with csv_path.open(newline="") as src, out.open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        writer.writerows(row for i, row in enumerate(reader) if i in rows)
    for name in ("release_conditions.json", "release_evidences.json"):
        (folder / name).symlink_to(csv_path.parent / name)
    return out


def eval_held_out(model: Path, data: Path, work: Path, adapter: Path | None = None) -> dict[str, Any]:
    """The eval part's DDXPlus suite (GTPA@k, DDR, DDP, DDF1) on the held-out patients."""
    from medassist.eval.backends import TransformersBackend
    from medassist.eval.config import EvalConfig
    from medassist.eval.runner import run_suite
    from medassist.eval.suites import RunSpec

    config = EvalConfig(max_tokens=128, batch_size=8)  # room for the five-entry differential
    backend = TransformersBackend(str(model), adapter=str(adapter) if adapter else None,
                                  max_tokens=config.max_tokens, batch_size=config.batch_size)
    report = run_suite(RunSpec(suite="ddx", data=str(data), backend=backend.name), config, backend,
                       work / "eval-ddx", in_process=True)
    keys = ("gtpa@1", "gtpa@3", "gtpa@5", "ddr", "ddp", "ddf1", "unparseable_rate")
    return {k: report["headline"][k]["value"] for k in keys if k in report["headline"]}


# One budget, two methods. QLoRA is what real 7B models get; on the near-random tiny base a
# low-rank update cannot reshape the network, so full fine-tuning shows what the pipeline learns.
METHODS = {
    "full": ["--method", "full", "--quantization", "none", "--learning-rate", "1e-3"],
    "qlora": ["--method", "lora", "--quantization", "4bit", "--learning-rate", "3e-3", "--lora.r", "64",
              "--lora.alpha", "64"],
}


def ddxplus_run(method: str, model: Path, csv: Path, held_out_data: Path, work: Path, fraction: float,
                steps: int) -> dict[str, Any]:
    from medassist.sft.train import train

    cfg = parse_config(SFTRunConfig, RECIPE, [
        "--model", str(model), "--output-dir", str(work / method), "--max-steps", str(steps),
        "--validation-fraction", str(fraction), "--eval-steps", "1000000", "--save-steps", str(steps),
        "--max-length", "768", "--per-device-train-batch-size", "8",
        "--generation-eval-items", "32", "--generation-max-new-tokens", "48", *METHODS[method]])
    cfg.data = [dataclasses.replace(cfg.data[0], kind="ddxplus", path=str(csv), weight=1.0, cap=None)]
    started = time.perf_counter()
    out = train(cfg)
    train_seconds = time.perf_counter() - started
    report = json.loads((out / "training_report.json").read_text())
    suite = eval_held_out(*((out, held_out_data, work / method) if method == "full"
                            else (model, held_out_data, work / method, out)))
    return {
        "steps": report["global_steps"], "train_tokens_per_s": report["tokens_per_s"],
        "train_seconds": round(train_seconds, 1), "eval_loss": report["final_eval"].get("eval_loss"),
        "truncated_to_max_length": report["mixture"]["sources"]["ddxplus"]["truncated_to_max_length"],
        "held_out": suite,
    }


def ddxplus(model: Path, work: Path, fraction: float, held_out: int, steps: int) -> dict[str, Any]:
    """Both methods on the same split (the one ``build_mixture`` makes), scored on the same patients."""
    from medassist.data import label_of, load, stratified_split

    csv = next(DDX.glob("*patients*.csv"))
    seed = parse_config(SFTRunConfig, RECIPE, []).seed
    patients = load("ddxplus", csv).records
    train_split, val_split = stratified_split(patients, lambda r: label_of("ddxplus", r), fraction, seed)
    majority, _ = Counter(p.pathology for p in train_split).most_common(1)[0]
    scored = val_split[:held_out]
    baseline = sum(p.pathology == majority for p in scored) / len(scored)
    data = held_out_csv(csv, scored, work / "held-out")
    results: dict[str, Any] = {
        "patients": len(patients), "train_patients": len(train_split), "validation_patients": len(val_split),
        "held_out_scored": len(scored), "pathologies": len({p.pathology for p in patients}),
        "majority_class": majority, "majority_baseline_top1": round(baseline, 4),
    }
    for method in METHODS:
        results[method] = run = ddxplus_run(method, model, csv, data, work, fraction, steps)
        run["top1_over_majority_baseline"] = round(run["held_out"]["gtpa@1"] / baseline, 3) if baseline else None
        print(f"ddxplus {method}: {run}", file=sys.stderr, flush=True)
    results["full_over_qlora_top1"] = round(
        results["full"]["held_out"]["gtpa@1"] / max(results["qlora"]["held_out"]["gtpa@1"], 1e-9), 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="a few steps of each (about 2 minutes on 2 idle cores)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full"}
    with tempfile.TemporaryDirectory(prefix="bench-sft-") as tmp:
        work = Path(tmp)
        kb = [DDX / "release_evidences.json", DDX / "release_conditions.json"] if DDX.is_dir() else []
        model = base_model(work / "base", args.quick, kb)
        results["throughput"] = throughput(model, work, 3 if args.quick else 20)
        if DDX.is_dir():
            results["ddxplus"] = ddxplus(model, work, *((0.01, 32, 12) if args.quick else (0.03, 200, 400)))
        else:
            results["ddxplus"] = {"skipped": f"DDXPlus data not present at {DDX} (set MEDASSIST_SHARED_DATA)"}
    atomic_write_json(args.out, {"benchmark": "sft", "results": results, "machine": machine(),
                                 "versions": package_versions()})
    print(args.out.read_text())


if __name__ == "__main__":
    main()
