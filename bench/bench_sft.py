"""SFT benchmarks on SmolLM2-135M-Instruct, the embedded default base model (CPU).

1. Throughput: training tokens/s on the bundled mixture (configs/sft-smollm2-cpu.yaml), padded
   vs packed (TRL's BFD), in fp32 and, where the CPU computes bf16 natively, in bf16; same data and
   steps, one run.
2. DDXPlus: QLoRA on the DDXPlus subset in ../shared/data (a stratified split holds out at least
   500 patients), then the eval part's DDXPlus suite on those patients (GTPA@k, DDR, DDP, DDF1,
   unparseable rate) against the majority class and zero-shot SmolLM2; the training curve.
3. QA: QLoRA on the MedQA train subset, then MedQA dev and PubMedQA (with the abstract; never
   trained on: ori_pqal.json holds its test split) zero-shot vs tuned, with 95% intervals and
   the majority-class baselines.
4. Log-likelihood MedQA: the same MedQA dev items, zero-shot, scored by lm-evaluation-harness
   (``medassist eval medqa --protocol loglik``), the protocol published leaderboards use.
5. DDXPlus balance (``--only balance``, not in the default run: two trainings of section 2's size):
   the same recipe, steps and held-out patients trained as the data comes and class-balanced
   (``balance: true``: every pathology the same number of training examples, the source the same
   size), then micro GTPA@1 (over patients), macro GTPA@1 (over pathologies), severe GTPA@1 and the
   worst-served pathologies side by side, with the paired difference in micro GTPA@1.

6. DDXPlus interactive (``--only interactive``, not in the default run): issue 18's consultation with
   the tuned model. QLoRA on the subset minus its first 500 patients (full cases and 2 partial-evidence
   variants each, decontaminated against the 500), merged and served, then the 500 interviewed up to
   15 questions (``eval/interactive.py``): GTPA@1, DDF1, PER and questions asked at N = 0/5/10/15 (GTPA@1
   and DDF1 of the model's differential and of the combined one a consultation shows), the
   full case, the knowledge base alone on the same patients, and ``--random-baseline`` on request;
   the curves' PNG beside ``--out``.

Sections 2-6 skip with a reason when the data is absent.

    .venv/bin/python bench/bench_sft.py --out FILE.json [--quick]
        [--only throughput,ddxplus,qa,loglik,balance,interactive] [--interactive-steps N] [--random-baseline]
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import bench_parser, write_results

from medassist.config import parse_config
from medassist.models.hub import native_bf16
from medassist.sft.config import SFTRunConfig, SourceConfig

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs" / "sft-smollm2-cpu.yaml"
SHARED = Path(os.environ.get("MEDASSIST_SHARED_DATA", REPO.parent / "shared" / "data"))
DDX = SHARED / "ddxplus"
MEDQA_TRAIN = SHARED / "medqa" / "us_4options_train_subset_1030.json"
MEDQA_DEV = SHARED / "medqa" / "us_5options_dev.jsonl"
PUBMEDQA = SHARED / "pubmedqa" / "ori_pqal.json"
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
# The previous embedded default, for comparison (bench/results/2026-11-23.json, 200 held-out patients).
TINY_FULL_FINETUNE = {"gtpa@1": 0.875, "ddf1": 0.733, "source": "bench/results/2026-11-23.json (tiny model, "
                      "full fine-tuning, 400 steps, 200 held-out patients of another split)"}


def shared_ddx_csv() -> Path:
    return next(DDX.glob("*patients*.csv"))


def recipe(model: Path, out: Path, *overrides: str) -> SFTRunConfig:
    return parse_config(SFTRunConfig, RECIPE, ["--model-name-or-path", str(model), "--output-dir", str(out),
                                               "--report-to", "none", *overrides])


def throughput(model: Path, work: Path, steps: int) -> dict[str, Any]:
    """Tokens/s of the same mixture and steps: padded (8 examples a step) vs packed (2 rows of 768)."""
    from medassist.models.hub import load_tokenizer
    from medassist.sft.dataset import build_mixture
    from medassist.sft.train import make_trainer

    layouts = {"padded": ["--packing", "false", "--per-device-train-batch-size", "8"],
               "packed": ["--packing", "true", "--per-device-train-batch-size", "2"]}
    results: dict[str, Any] = {"steps": steps}
    for precision in ("fp32", "bf16"):
        if precision == "bf16" and not native_bf16():
            results["bf16"] = {"skipped": "this CPU has neither AVX512-BF16 nor AMX: bf16 would be emulated "
                                          "(medassist sft refuses it here)"}
            continue
        for layout, args in layouts.items():
            cfg = recipe(model, work / f"{precision}-{layout}", "--max-steps", str(steps), "--eval-steps", "100000",
                         "--save-steps", "100000", "--bf16", str(precision == "bf16"), *args)
            tokenizer = load_tokenizer(cfg.model_name_or_path)
            mixture = build_mixture(cfg, tokenizer)
            mixture.validation, mixture.probes = None, []  # time training only
            trainer, report = make_trainer(cfg, mixture, tokenizer)
            trainer.train()
            r = report.report
            results.setdefault(precision, {})[layout] = {
                "tokens": r["tokens_seen"], "seconds": r["train_seconds_this_session"],
                "tokens_per_s": r["tokens_per_s"], "peak_rss_mib": r["peak_memory"]["process_rss_mib"]}
        results[precision]["packed_over_padded"] = round(
            results[precision]["packed"]["tokens_per_s"] / results[precision]["padded"]["tokens_per_s"], 3)
    if "padded" in results.get("bf16", {}):
        results["bf16_over_fp32_packed"] = round(
            results["bf16"]["packed"]["tokens_per_s"] / results["fp32"]["packed"]["tokens_per_s"], 3)
    return results


def patients_csv(csv_path: Path, patients: list[Any], folder: Path) -> Path:
    """The ``patients``' own CSV rows (ids are ``<stem>-<row index>``) with the KB beside them, in the
    benchmark's work folder: the held-out ones, so the eval part scores exactly the patients SFT never
    saw, or the training ones, so SFT never sees the others."""
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


@contextlib.contextmanager
def eval_backend(model: Path, log: Path, max_tokens: int, concurrency: int = 16) -> Iterator[tuple[Any, str, bool]]:
    """``(backend, how, in_process)`` for the eval part, greedy: the gateway on vLLM (retrieval off) when
    its venv exists, since in-process batched ``generate`` takes ~2 s per DDXPlus patient on 2 cores;
    else in process. ``log`` receives the gateway's log."""
    from medassist.eval.backends import EndpointBackend, TransformersBackend
    from medassist.serve.launch import run_gateway

    if not VLLM_PYTHON.is_file():
        yield (TransformersBackend(str(model), max_tokens=max_tokens, batch_size=16),
               "in-process transformers, batched, greedy", True)
        return
    args = ["--engine", "vllm", "--model", str(model), "--max_model_len", "2048", "--limits.max_concurrency", "64",
            "--vllm-extra-args=--enforce-eager"]
    with run_gateway(args, log, ready_timeout_s=900) as gateway:
        yield (EndpointBackend(gateway.base_url, gateway.api_key or "EMPTY", None, concurrency, max_tokens, rag=False),
               f"gateway + vLLM (CPU, eager), {concurrency} concurrent, greedy", False)


def suite_figures(suite: str, model: Path, data: Path, work: Path, max_tokens: int, limit: int | None = None,
                  keys: tuple[str, ...] = (), scores: tuple[str, ...] = ()) -> dict[str, Any]:
    """One eval-part suite on ``eval_backend``: its headline metrics with 95% intervals (and the named
    entries of its scores, e.g. ``worst_served``)."""
    from medassist.eval.config import EvalConfig
    from medassist.eval.runner import run_suite
    from medassist.eval.suites import RunSpec

    config = EvalConfig(max_tokens=max_tokens, batch_size=16, concurrency=16)
    started = time.perf_counter()
    with eval_backend(model, work.parent / f"{work.name}-gateway.log", max_tokens, config.concurrency) as (
            backend, path, in_process):
        spec = RunSpec(suite=suite, data=str(data), backend=backend.name, limit=limit,
                       rag=None if in_process else False)
        report = run_suite(spec, config, backend, work, in_process=in_process)
    headline = report["headline"]
    figures = {k: headline[k] for k in (keys or headline) if k in headline}
    figures.update({k: report["scores"][k] for k in scores if k in report["scores"]})
    return {**figures, "n": report.get("n_items"), "path": path, "seconds": round(time.perf_counter() - started, 1)}


def train_and_merge(cfg: SFTRunConfig) -> tuple[Path, dict[str, Any], float]:
    """Train, then merge (a merged model generates faster than base + adapter); the report and seconds."""
    from medassist.sft.merge import merge
    from medassist.sft.train import train

    started = time.perf_counter()
    out = train(cfg)
    seconds = time.perf_counter() - started
    report = json.loads((out / "training_report.json").read_text())
    return merge(out, out.parent / f"{out.name}-merged"), report, seconds


# The longest DDXPlus training target is 84 SmolLM2 tokens (7 conditions in the compact JSON), but the
# first tuned model (2026-12-01) closed its JSON after up to 219 tokens, and at 96 tokens 65% of its answers
# were cut off; the 49 it never closed at 320 were repetition loops. 256 keeps every closed answer.
DDX_MAX_TOKENS = 256
ZERO_SHOT_PATIENTS = 100  # the base model writes to the token limit: 100 patients bound the wait
DDX_STEPS = {True: 190, False: 100}  # by native bf16: what fits in 30 minutes of training on 2 cores
INTERVIEWED = 500  # issue 18: at least 500 held-out patients interviewed
INTERACTIVE_STEPS = 300  # 2026-12-06: 150 steps (8% of an epoch of full + partial cases) gave GTPA@1 0.79 at 15
DDX_KEYS = ("gtpa@1", "macro_gtpa@1", "severe_gtpa@1", "gtpa@3", "gtpa@5", "ddr", "ddp", "ddf1", "unparseable_rate")
BALANCE_KEYS = ("gtpa@1", "macro_gtpa@1", "severe_gtpa@1", "ddf1", "unparseable_rate")


def ddx_recipe(model: Path, out: Path, fraction: float, steps: int, balance: bool = False,
               csv: Path | None = None, partial: int = 0) -> SFTRunConfig:
    """QLoRA on a DDXPlus CSV alone (the shared one unless ``csv``), the held-out fraction split off by
    ``medassist sft`` itself; ``partial`` partial-evidence variants of each training patient."""
    # two packed rows a step (~7 patients) at lr 1e-3: at one row and 2e-3 (2026-12-01, 72 steps) 9% of the
    # held-out answers were repetition loops; STACK.md's run with 8 patients a step at 1e-3 had none. The two rows
    # go one at a time (gradient accumulation): as a batch of two they train 9% slower here (4 steps: 100 s vs 92 s)
    cfg = recipe(model, out, "--max-steps", str(steps), "--validation-fraction", str(fraction),
                 "--per-device-train-batch-size", "1", "--gradient-accumulation-steps", "2", "--learning-rate", "1e-3",
                 "--eval-steps", "1000000", "--save-steps", str(steps), "--logging-steps", "5",
                 "--generation-eval-items", "0")
    cfg.data = [SourceConfig(kind="ddxplus", path=str(csv or shared_ddx_csv()), balance=balance, partial=partial)]
    return cfg


def ddx_held_out(cfg: SFTRunConfig, work: Path, limit: int | None) -> tuple[Path, dict[str, Any]]:
    """The patients ``cfg``'s training holds out (the split ``medassist sft`` makes with its fraction and
    seed; the first ``limit``) as their own CSV, and the facts that put its scores in context."""
    from medassist.data import label_of, load, stratified_split

    csv = Path(cfg.data[0].path)
    patients = load("ddxplus", csv).records
    train_split, val_split = stratified_split(patients, lambda r: label_of("ddxplus", r), cfg.validation_fraction,
                                              cfg.seed)
    scored = val_split[:limit] if limit else val_split
    majority, _ = Counter(p.pathology for p in train_split).most_common(1)[0]
    return patients_csv(csv, scored, work / "held-out"), {
        "patients": len(patients), "train_patients": len(train_split), "held_out_scored": len(scored),
        "pathologies": len({p.pathology for p in patients}),
        "held_out_pathologies": len({p.pathology for p in scored}), "majority_class": majority,
        "majority_baseline_gtpa@1": round(sum(p.pathology == majority for p in scored) / len(scored), 4),
    }


def ddxplus(model: Path, work: Path, fraction: float, steps: int, limit: int | None) -> dict[str, Any]:
    """QLoRA on the training split, scored on the held-out split against majority and zero-shot."""
    cfg = ddx_recipe(model, work / "ddxplus", fraction, steps)
    data, facts = ddx_held_out(cfg, work, limit)
    results: dict[str, Any] = {**facts, "tiny_full_finetune": TINY_FULL_FINETUNE}
    merged, report, seconds = train_and_merge(cfg)
    results["qlora"] = {
        "recipe": {k: v for k, v in dataclasses.asdict(cfg).items() if k in (
            "load_in_4bit", "bf16", "lora_r", "lora_alpha", "lora_dropout", "learning_rate", "max_steps",
            "per_device_train_batch_size",
            "packing", "max_length")},
        "train_seconds": report["train_seconds_this_session"], "run_seconds_with_final_eval": round(seconds, 1),
        "train_tokens_per_s": report["tokens_per_s"], "final_eval": report["final_eval"],
        "patients_seen": round(report["epochs"] * facts["train_patients"]),
        "train_loss_curve": report["train_loss_curve"],
        "held_out": suite_figures("ddx", merged, data, work / "eval-qlora", DDX_MAX_TOKENS, keys=DDX_KEYS),
    }
    print(f"ddxplus qlora: {results['qlora']['held_out']}", file=sys.stderr, flush=True)
    results["zero_shot"] = suite_figures("ddx", model, data, work / "eval-zero-shot", DDX_MAX_TOKENS,
                                         limit=min(ZERO_SHOT_PATIENTS, limit or ZERO_SHOT_PATIENTS), keys=DDX_KEYS)
    return results


def ddxplus_balance(model: Path, work: Path, fraction: float, steps: int, limit: int | None) -> dict[str, Any]:
    """The same training as the data comes and class-balanced, same steps and held-out patients:
    micro, macro and severe GTPA@1 side by side, and the paired difference over the patients."""
    from medassist.eval.report import compare

    results: dict[str, Any] = {"steps": steps}
    for arm, balance in (("as_is", False), ("balanced", True)):
        cfg = ddx_recipe(model, work / arm, fraction, steps, balance)
        if "held_out" not in results:  # one split for both arms: the recipe's fraction and seed
            data, results["held_out"] = ddx_held_out(cfg, work, limit)
        merged, report, seconds = train_and_merge(cfg)
        source = report["mixture"]["sources"]["ddxplus"]
        figures = suite_figures("ddx", merged, data, work / f"eval-{arm}", DDX_MAX_TOKENS, keys=BALANCE_KEYS,
                                scores=("worst_served",))
        results[arm] = {"train_seconds": report["train_seconds_this_session"], "run_seconds": round(seconds, 1),
                        "train_examples": source["examples"], "distinct_patients": source["unique_examples"],
                        "train_loss_curve": report["train_loss_curve"], "held_out": figures}
        if balance:
            results[arm]["pathology_counts"] = source["balance"]
        print(f"ddxplus balance {arm}: {figures}", file=sys.stderr, flush=True)
    results["side_by_side"] = {
        key: {arm: results[arm]["held_out"].get(key, {}).get("value") for arm in ("as_is", "balanced")}
        for key in ("gtpa@1", "macro_gtpa@1", "severe_gtpa@1")}
    paired = compare(work / "eval-as_is", work / "eval-balanced")["paired"]
    results["paired_gtpa@1_balanced_minus_as_is"] = {k: paired[k] for k in ("items", "delta", "ci95")}
    return results


def ddxplus_interactive(model: Path, work: Path, steps: int, interviewed: int, questions: int,
                        random_baseline: bool, plot: Path) -> dict[str, Any]:
    """Issue 18's consultation with the tuned model: QLoRA on the DDXPlus subset minus its first
    ``interviewed`` patients (full cases plus 2 partial-evidence variants each, decontaminated against
    the interviewed: ``eval_sets``), merged, then those patients interviewed through ``eval_backend``
    (up to ``questions``, the policy stopping at 0.99) and by the knowledge base alone. The curves'
    plot is copied to ``plot``."""
    from medassist.data import load
    from medassist.data.next_question import PolicyConfig
    from medassist.eval.interactive import InteractiveSpec, curve_value, run_interactive

    loaded = load("ddxplus", shared_ddx_csv())
    asked, fit = loaded.records[:interviewed], loaded.records[interviewed:]
    cfg = ddx_recipe(model, work / "sft", 0.01, steps, csv=patients_csv(shared_ddx_csv(), fit, work / "train"),
                     partial=2)
    cfg.eval_sets = [SourceConfig(kind="ddxplus", path=str(patients_csv(shared_ddx_csv(), asked, work / "asked")))]
    merged, report, seconds = train_and_merge(cfg)
    source = report["mixture"]["sources"]["ddxplus"]
    policy = PolicyConfig(stop_threshold=0.99, max_questions=questions)
    results: dict[str, Any] = {
        "interviewed": len(asked), "likelihoods_fitted_on": len(fit), "max_questions": questions,
        "stop_threshold": policy.stop_threshold,
        "training": {"steps": steps, "partial_variants": 2, "train_examples": source["examples"],
                     "train_seconds": report["train_seconds_this_session"], "run_seconds": round(seconds, 1),
                     "tokens_per_s": report["tokens_per_s"], "epochs": report["epochs"],
                     "removed_as_contaminated": source["removed_as_contaminated"],
                     "final_eval": report["final_eval"], "train_loss_curve": report["train_loss_curve"]}}
    budgets = sorted({min(n, questions) for n in (0, 5, 10, 15, questions)})

    def summary(run: dict[str, Any]) -> dict[str, Any]:
        arms = {name: {key: {n: round(value, 4) for n in budgets
                             if (value := curve_value(arm["curves"], key, n)) is not None}
                       for key in ("gtpa@1", "ddf1", "per", "questions", "combined_gtpa@1", "combined_ddf1")
                       if key in arm["curves"]} | {"timing": arm["timing"]}
                for name, arm in run["arms"].items()}
        return {"arms": arms, "full_evidence": run["full_evidence"], "seconds": run["seconds"]}

    with eval_backend(merged, work / "gateway.log", DDX_MAX_TOKENS) as (backend, how, _):
        run = run_interactive(asked, loaded.kb, fit, InteractiveSpec(questions, random_baseline=random_baseline,
                                                                      random_every=5),
                              policy, work / "eval-model", backend)
    results["model"] = {"path": how, **summary(run)}
    shutil.copyfile(work / "eval-model" / "curves.png", plot)
    results["plot"] = plot.name
    kb_only = run_interactive(asked, loaded.kb, fit, InteractiveSpec(questions, "kb", random_baseline=False), policy,
                              work / "eval-kb")
    results["kb_only"] = summary(kb_only)
    print(f"ddxplus interactive: {results['model']}", file=sys.stderr, flush=True)
    return results


def majority_rate(labels: list[str]) -> dict[str, Any]:
    label, count = Counter(labels).most_common(1)[0]
    return {"label": label, "accuracy": round(count / len(labels), 4)}


def qa(model: Path, work: Path, steps: int, limit: int) -> dict[str, Any]:
    """MedQA dev and PubMedQA (with the abstract), zero-shot vs tuned on the MedQA train subset."""
    from medassist.data import load

    cfg = recipe(model, work / "medqa", "--max-steps", str(steps), "--eval-steps", "1000000",
                 "--save-steps", str(steps), "--logging-steps", "5", "--generation-eval-items", "0")
    cfg.data = [SourceConfig(kind="medqa", path=str(MEDQA_TRAIN))]
    cfg.eval_sets = [SourceConfig(kind="medqa", path=str(MEDQA_DEV))]  # decontaminated against the dev split
    merged, report, seconds = train_and_merge(cfg)
    dev = load("medqa", MEDQA_DEV).records[:limit]
    pubmedqa = load("pubmedqa", PUBMEDQA).records[:limit]
    results: dict[str, Any] = {
        "tuned_on": f"{MEDQA_TRAIN.name}: {steps} steps, {round(report['epochs'] * 1030)} questions seen, "
                    f"{round(seconds)} s",
        "medqa_dev": {"items": len(dev), "majority_letter": majority_rate([r.answer_idx for r in dev]),
                      "chance": round(1 / len(dev[0].options), 3)},
        "pubmedqa_with_abstract": {"items": len(pubmedqa),
                                   "majority_decision": majority_rate([r.final_decision for r in pubmedqa])},
    }
    for name, path in (("zero_shot", model), ("tuned", merged)):
        results["medqa_dev"][name] = suite_figures("medqa", path, MEDQA_DEV, work / f"medqa-{name}", 24, limit)
        results["pubmedqa_with_abstract"][name] = suite_figures("pubmedqa", path, PUBMEDQA, work / f"pqa-{name}",
                                                                32, limit)
        print(f"qa {name}: {results['medqa_dev'][name]} {results['pubmedqa_with_abstract'][name]}",
              file=sys.stderr, flush=True)
    return results


def loglik(model: Path, work: Path, limit: int) -> dict[str, Any]:
    """MedQA dev by log-likelihood (lm-evaluation-harness, the leaderboards' protocol), zero-shot, on the
    items the generative ``qa`` section asks: the two protocols side by side."""
    from medassist.data import load
    from medassist.eval.loglik import run_loglik

    dev = load("medqa", MEDQA_DEV).records[:limit]
    started = time.perf_counter()
    report = run_loglik(dev, str(model), None, work / "medqa-loglik", batch_size=8)
    return {"items": len(dev), "chance": report["chance"], "seconds": round(time.perf_counter() - started, 1),
            **report["headline"]}


def main() -> None:
    parser = bench_parser(__doc__, "a few steps and items of each (~15 minutes on 2 cores)")
    parser.add_argument("--only", default="throughput,ddxplus,qa,loglik",
                        help="comma list of sections to run; balance (two DDXPlus trainings) and interactive "
                        "(a DDXPlus training and simulated consultations) run only when named")
    parser.add_argument("--interactive-steps", type=int, default=INTERACTIVE_STEPS,
                        help="training steps of the interactive section (full run)")
    parser.add_argument("--random-baseline", action="store_true",
                        help="interactive: also interview the patients with random questions (doubles its eval)")
    parser.add_argument("--work", type=Path, help="keep models, logs and eval reports here (default: a temporary "
                        "folder, removed at the end)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    only = set(args.only.split(","))
    results: dict[str, Any] = {"mode": "quick" if args.quick else "full", "model": "SmolLM2-135M-Instruct"}
    with contextlib.ExitStack() as stack:
        if args.work:
            args.work.mkdir(parents=True, exist_ok=True)
            work = args.work.resolve()
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sft-")))
        from medassist.models.smollm2 import build_smollm2

        model = build_smollm2(work / "base-smollm2-135m")
        if "throughput" in only:
            results["throughput"] = throughput(model, work / "throughput", 3 if args.quick else 8)
        # fraction 0.08 holds out 541 of the 6,763 patients; steps sized to the 30 minutes of
        # training: ~8.5 s a step of 2 x 768 tokens in bf16 (AVX512-BF16), ~18 s in fp32 (2026-12-01)
        ddx_size = (0.01, 3, 16) if args.quick else (0.08, DDX_STEPS[native_bf16()], None)
        no_ddx = {"skipped": f"DDXPlus data not present at {DDX} (set MEDASSIST_SHARED_DATA)"}
        if "ddxplus" in only:
            results["ddxplus"] = ddxplus(model, work / "ddxplus", *ddx_size) if DDX.is_dir() else no_ddx
        if "balance" in only:  # two trainings of the ddxplus section's size; quick: 20 held out (one per
            # stratum), 2 steps, 8 scored, since each arm's closing eval and scoring dominate a quick run
            size = (0.003, 2, 8) if args.quick else ddx_size
            results["ddxplus_balance"] = ddxplus_balance(model, work / "balance", *size) if DDX.is_dir() else no_ddx
        if "interactive" in only:  # quick: 2 steps, 8 patients, 3 questions
            size = (2, 8, 3) if args.quick else (args.interactive_steps, INTERVIEWED, 15)
            plot = args.out.with_name(f"{args.out.stem}-interactive.png")
            results["ddxplus_interactive"] = (
                ddxplus_interactive(model, work / "interactive", *size, args.random_baseline or args.quick, plot)
                if DDX.is_dir() else no_ddx)
        if "qa" in only:
            if MEDQA_TRAIN.is_file() and MEDQA_DEV.is_file() and PUBMEDQA.is_file():
                results["qa"] = qa(model, work / "qa", *((3, 16) if args.quick else (40, 200)))
            else:
                results["qa"] = {"skipped": f"MedQA/PubMedQA files not present under {SHARED}"}
        if "loglik" in only:
            results["loglik"] = (loglik(model, work / "loglik", 16 if args.quick else 200) if MEDQA_DEV.is_file()
                                 else {"skipped": f"MedQA dev not present at {MEDQA_DEV}"})
    write_results(args.out, "sft", results, args.quick)


if __name__ == "__main__":
    main()
