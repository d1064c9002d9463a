"""``medassist eval``: run a suite (medqa, pubmedqa, ddx, faithfulness), re-score a run, compare two.

Every suite takes the same model options: ``--model PATH [--adapter DIR]`` runs in-process
(vLLM's batch API when importable, else transformers), ``--endpoint URL`` asks any
OpenAI-compatible server (medassist's gateway, vLLM, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medassist.clitools import OVERRIDES, sub_app
from medassist.config import parse_config
from medassist.data import formats
from medassist.data.next_question import PolicyConfig
from medassist.errors import MedassistError
from medassist.eval.backends import make_backend
from medassist.eval.config import EvalConfig
from medassist.eval.interactive import InteractiveSpec, curve_value, rescore_interactive, run_interactive
from medassist.eval.loglik import run_loglik
from medassist.eval.report import compare as compare_runs
from medassist.eval.report import format_metric, render_comparison
from medassist.eval.runner import run_suite, score_run
from medassist.eval.suites import SUITES, RunSpec
from medassist.io import atomic_write_json, atomic_write_text, sha256_file
from medassist.manifest import build_manifest, write_manifest
from medassist.models.hub import require_model
from medassist.resources import CONFIGS

app = sub_app("Offline benchmarks: MedQA/MedMCQA, PubMedQA, DDXPlus differentials, faithfulness; reports.")

DEFAULT_CONFIG = CONFIGS / "eval-default.yaml"


def _config(config: Path | None, overrides: list[str]) -> EvalConfig:
    path = config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    return parse_config(EvalConfig, path, overrides)


def _on_off(value: str | None, flag: str) -> bool | None:
    if value is None:
        return None
    if value not in ("on", "off"):
        raise MedassistError(f"{flag} {value!r}: expected on or off")
    return value == "on"


def run_command(
    ctx: typer.Context,
    data: Path = typer.Option(..., help="Dataset file (DDXPlus: the patients CSV, KB JSON files beside it)."),
    out: Path = typer.Option(..., help="Run directory (resumed when it holds the same run)."),
    model: str = typer.Option(None, help="Model folder or hub id, evaluated in-process."),
    adapter: str = typer.Option(None, help="PEFT adapter folder on top of --model."),
    endpoint: str = typer.Option(None, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."),
    api_key: str = typer.Option("EMPTY", envvar=["MEDASSIST_API_KEY", "OPENAI_API_KEY"],
                                help="API key for --endpoint (env MEDASSIST_API_KEY, else OPENAI_API_KEY)."),
    model_name: str = typer.Option(None, help="Model name to request from --endpoint (default: first listed)."),
    rag: str = typer.Option(None, help="on|off: retrieval (endpoint: sent as extra_body rag; --model: needs --index)."),
    index: Path = typer.Option(None, help="RAG index folder for in-process --rag on."),
    limit: int = typer.Option(None, help="Evaluate only the first N items."),
    concurrency: int = typer.Option(None, help="Parallel requests to --endpoint."),
    fmt: str = typer.Option("medqa", "--format", help="medqa suite: medqa or medmcqa file layout."),
    context: bool = typer.Option(True, help="pubmedqa suite: give the abstract (--no-context = PubMedQA*)."),
    config: Path = typer.Option(None, help="EvalConfig YAML (default configs/eval-default.yaml)."),
    protocol: str = typer.Option("generative", help="medqa suite: generative (the model writes its answer) or "
                                 "loglik (lm-evaluation-harness scores each option letter, as leaderboards do; "
                                 "in-process, needs --model)."),
    interactive: bool = typer.Option(False, help="ddx suite: simulated consultations (start from the chief "
                                     "complaint, ask one question at a time), curves over the budget."),
    max_questions: int = typer.Option(20, help="ddx --interactive: question budget (curves over N = 0..this)."),
    policy_mode: str = typer.Option("model", help="ddx --interactive: model (the backend's differential + KB "
                                    "likelihoods) or kb (KB likelihoods only, no model calls)."),
    random_baseline: bool = typer.Option(True, help="ddx --interactive: also interview with random questions "
                                         "(--no-random-baseline halves a model run's calls)."),
    random_every: int = typer.Option(1, help="ddx --interactive: score the random arm every K questions only "
                                     "(its questions ignore the differential; 5 at a budget of 15 makes 4 budgets "
                                     "of model calls, not 16)."),
) -> None:
    """Answer every item into OUT/predictions.jsonl, then score it into OUT/report.{json,md} + plots.

    Extra ``--key value`` pairs override the config (e.g. --max-tokens 64 --judge-endpoint URL)."""

    suite = ctx.info_name
    cfg = _config(config, list(ctx.args))
    if protocol not in ("generative", "loglik"):
        raise MedassistError(f"--protocol {protocol!r}: expected generative or loglik")
    if protocol == "loglik":
        if suite != "medqa" or not model or endpoint:
            raise MedassistError("--protocol loglik scores the medqa suite in-process: give --model (not --endpoint)")
        _loglik(data, out, model, adapter, fmt, limit, cfg.batch_size)
        return
    if concurrency is not None:
        cfg.concurrency = concurrency
    if interactive:
        _interactive(suite, data, out, limit, max_questions, policy_mode, random_baseline, random_every, cfg,
                     dict(model=model, adapter=adapter, endpoint=endpoint, api_key=api_key, model_name=model_name))
        return
    use_rag = _on_off(rag, "--rag")
    backend = make_backend(model=model, adapter=adapter, endpoint=endpoint, api_key=api_key, model_name=model_name,
                           concurrency=cfg.concurrency, max_tokens=cfg.max_tokens, rag=use_rag, engine=cfg.engine,
                           batch_size=cfg.batch_size)
    spec = RunSpec(suite=suite, data=str(data), backend=backend.name, format=fmt, context=context, rag=use_rag,
                   index=str(index) if index else None, limit=limit)
    report = run_suite(spec, cfg, backend, out, in_process=endpoint is None)
    _print_headline(report, out)


def _interactive(suite: str, data: Path, out: Path, limit: int | None, max_questions: int, policy_mode: str,
                 random_baseline: bool, random_every: int, cfg: EvalConfig, model_options: dict) -> None:
    """The simulated consultation (eval/interactive.py): the first ``limit`` patients are
    interviewed, the others fit the knowledge base's likelihoods."""

    if suite != "ddx":
        raise MedassistError(f"--interactive is a ddx option, not a {suite} one")
    if policy_mode not in ("model", "kb"):
        raise MedassistError(f"--policy-mode {policy_mode!r}: expected model or kb")
    if max_questions < 0:
        raise MedassistError(f"--max-questions {max_questions}: expected a number >= 0")
    if random_every < 1:
        raise MedassistError(f"--random-every {random_every}: expected a number >= 1")
    backend = None
    if policy_mode == "model":
        backend = make_backend(**model_options, concurrency=cfg.concurrency, max_tokens=cfg.max_tokens, rag=None,
                               engine=cfg.engine, batch_size=cfg.batch_size)
    elif model_options["model"] or model_options["endpoint"]:
        raise MedassistError("--policy-mode kb asks no model: drop --model/--endpoint (or use --policy-mode model)")
    loaded, patients, fit = _interviewed_and_fit(data, limit)
    spec = InteractiveSpec(max_questions=max_questions, policy_mode=policy_mode, random_baseline=random_baseline,
                           random_every=random_every)
    policy = PolicyConfig(red_flag_weight=cfg.red_flag_weight, severe_max=cfg.severe_max,
                          model_weight=cfg.model_weight, stop_threshold=cfg.stop_threshold,
                          max_questions=max_questions)
    report = run_interactive(patients, loaded.kb, fit, spec, policy, out, backend, threshold=cfg.ddx_threshold)
    write_manifest(out, "eval-ddx-interactive", {"data": str(data), "limit": limit, "spec": spec.__dict__,
                                                 "policy": policy.__dict__, "backend": backend and backend.name},
                   data_files=loaded.files)
    _print_interactive(report, out)


def _interviewed_and_fit(data: Path, limit: int | None) -> tuple[formats.Loaded, list, list]:
    """The first ``limit`` patients are interviewed; the others fit the knowledge base's likelihoods."""
    loaded = formats.load("ddxplus", data)
    patients = loaded.records[:limit] if limit else loaded.records
    return loaded, patients, loaded.records[len(patients):]


def _print_interactive(report: dict, out: Path) -> None:
    curve = report["arms"]["policy"]["curves"]
    max_questions = report["spec"]["max_questions"]
    typer.echo(f"ddx --interactive ({report['spec']['policy_mode']}): {report['n_patients']} patients -> "
               f"{out}/report.md")
    baseline = report["arms"].get("random")
    for n in sorted({min(n, max_questions) for n in (0, 5, 10, 15, max_questions)}):
        random_gtpa = curve_value(baseline["curves"], "gtpa@1", n) if baseline else None
        versus = f" (random {random_gtpa:.3f})" if random_gtpa is not None else ""
        combined = (f"; model + KB: GTPA@1 {curve['combined_gtpa@1'][n]:.3f}, DDF1 {curve['combined_ddf1'][n]:.3f}"
                    if "combined_ddf1" in curve else "")
        typer.echo(f"  N={n}: GTPA@1 {curve['gtpa@1'][n]:.3f}{versus}, DDF1 {curve['ddf1'][n]:.3f}, "
                   f"PER {curve['per'][n]:.3f}, questions {curve['questions'][n]:.2f}{combined}")


def _rescore_interactive(run_dir: Path, cfg: EvalConfig) -> None:
    """``eval score`` of a ``--interactive`` run: from its consultations files and its manifest's
    data, refused when the data file's hash is no longer the one the run read."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise MedassistError(f"{path}: missing; an --interactive run directory holds the manifest it was run with")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    config = manifest["config"]
    data = Path(config["data"])
    loaded, patients, fit = _interviewed_and_fit(data, config["limit"])
    for file in loaded.files:
        recorded = manifest["data_sha256"].get(str(file))
        if recorded and recorded != sha256_file(file):
            raise MedassistError(f"{file}: changed since the run (sha256 in {run_dir}/manifest.json differs); "
                                 "cannot score the same patients again")
    spec, policy = InteractiveSpec(**config["spec"]), PolicyConfig(**config["policy"])
    report = rescore_interactive(run_dir, patients, loaded.kb, fit, spec, policy, threshold=cfg.ddx_threshold)
    atomic_write_json(run_dir / "rescore-manifest.json",
                      build_manifest("eval-ddx-interactive-rescore", {"run": str(run_dir),
                                                                      "ddx_threshold": cfg.ddx_threshold},
                                     data_files=loaded.files))
    _print_interactive(report, run_dir)


def _loglik(data: Path, out: Path, model: str, adapter: str | None, fmt: str, limit: int | None,
            batch_size: int) -> None:

    require_model(model, "--model")
    loaded = formats.load(fmt, data)
    records = loaded.records[:limit] if limit else loaded.records
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, "eval-loglik", {"data": str(data), "format": fmt, "model": model, "adapter": adapter,
                                        "limit": limit, "batch_size": batch_size}, data_files=loaded.files)
    report = run_loglik(records, model, adapter, out, batch_size=batch_size)
    typer.echo(f"medqa (loglik): {report['n_items']} items -> {out}/report.md")
    for name, row in report["headline"].items():
        typer.echo(f"  {name}: {row['value']:.3f} [{row['ci95'][0]:.3f}, {row['ci95'][1]:.3f}]")


def _print_headline(report: dict, out: Path) -> None:

    typer.echo(f"{report['spec']['suite']}: {report['n_items']} items -> {out}/report.md")
    for name, row in report["headline"].items():
        typer.echo(f"  {name}: {format_metric(row)}")


for _suite in SUITES:
    app.command(_suite, context_settings=OVERRIDES)(run_command)


@app.command("score", context_settings=OVERRIDES)
def score(ctx: typer.Context, run_dir: Path = typer.Argument(..., help="A run directory."),
          config: Path = typer.Option(None, help="EvalConfig YAML.")) -> None:
    """Re-score a run from its predictions.jsonl, or an ``--interactive`` run from its
    consultations_*.jsonl (no model needed)."""

    cfg = _config(config, list(ctx.args))
    if (run_dir / "consultations_policy.jsonl").is_file():
        _rescore_interactive(run_dir, cfg)
        return
    _print_headline(score_run(run_dir, cfg), run_dir)


@app.command("compare")
def compare(run_a: Path = typer.Argument(..., help="Run A (e.g. base model)."),
            run_b: Path = typer.Argument(..., help="Run B (e.g. tuned model)."),
            out: Path = typer.Option(None, help="Also write comparison.md/json into this folder.")) -> None:
    """Headline metrics side by side, B - A deltas, and a paired bootstrap interval."""

    result = compare_runs(run_a, run_b)
    text = render_comparison(result)
    typer.echo(text)
    if out:
        atomic_write_json(out / "comparison.json", result)
        atomic_write_text(out / "comparison.md", text)


@app.command("attribution")
def attribution(
    data: Path = typer.Option(..., help="DDXPlus patients CSV, or a folder holding it and the two KB JSON files."),
    out: Path = typer.Option(..., help="Run directory: report.json, report.md, samples.jsonl, manifest.json."),
    model: str = typer.Option(..., help="Model folder or hub id, scored in-process (transformers)."),
    adapter: str = typer.Option(None, help="PEFT adapter folder on top of --model (merged for scoring)."),
    limit: int = typer.Option(200, help="Patients (taken round-robin over pathologies)."),
    k: str = typer.Option("1,2,3", help="Numbers of findings removed, comma-separated."),
    draws: int = typer.Option(3, help="Random k-subsets per patient for k >= 2 (k = 1 is exact)."),
    pathology: list[str] = typer.Option(None, help="Only patients with this pathology (repeatable)."),
    seed: int = typer.Option(0, help="Patient order and random draws."),
    dtype: str = typer.Option("float32", help="float32 or bfloat16 (faster on CPUs with AMX, less exact)."),
) -> None:
    """Faithfulness of the findings attribution: remove the top-k attributed findings vs k random ones
    and report how much more the model's top condition drops (gap, bootstrap 95% CI)."""
    from medassist.data import formats
    from medassist.eval.attribution import DeletionSpec, run_deletion_test
    from medassist.manifest import write_manifest
    from medassist.models.condition_scorer import ConditionScorer

    try:
        ks = tuple(sorted({int(part) for part in k.split(",") if part.strip()}))
    except ValueError:
        raise MedassistError(f"--k {k!r}: expected whole numbers separated by commas, e.g. 1,2,3") from None
    if dtype not in ("float32", "bfloat16"):
        raise MedassistError(f"--dtype {dtype!r}: expected float32 or bfloat16")
    spec = DeletionSpec(ks=ks, draws=draws, seed=seed, limit=limit, pathologies=tuple(pathology or ()))
    require_model(model, "--model")
    loaded = formats.load("ddxplus", data)
    scorer = ConditionScorer.load(model, adapter, dtype=dtype)
    name = model + (f" + {adapter}" if adapter else "") + ("" if dtype == "float32" else f" ({dtype})")
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out, "eval-attribution", {"data": str(data), "model": model, "adapter": adapter, "dtype": dtype,
                                             "spec": spec.__dict__}, seed=seed, data_files=loaded.files)
    report = run_deletion_test(loaded.records, loaded.kb, scorer, spec, out, name)
    typer.echo(f"attribution deletion test: {report['patients']} patients -> {out}/report.md")
    for size, row in report["by_k"].items():
        if row["patients"]:
            low, high = row["gap"]["ci95"]
            typer.echo(f"  k={size}: gap {row['gap']['value']:.3f} [{low:.3f}, {high:.3f}] over {row['patients']} "
                       f"patients (top {row['drop_top']['value']:.3f}, random {row['drop_random']['value']:.3f})")
