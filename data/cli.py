"""``medassist data``: validate, stats, build (chat JSONL for training) and scrub (PHI)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import typer

from medassist.clitools import sub_app
from medassist.data.build import BuildConfig
from medassist.data.build import build as build_dataset
from medassist.data.formats import label_of, load
from medassist.data.phi import default_engine, resolve_engine, scrub_with_counts
from medassist.data.phi_eval import load_labelled, markdown_table, score
from medassist.data.validation import open_text
from medassist.io import atomic_write_json, atomic_write_text, check_replaceable

app = sub_app("Dataset tools: validate, stats, build chat examples, scrub PHI.")

FORMAT_HELP = "medqa | medmcqa | pubmedqa | ddxplus | pubmed | custom"


@app.command("validate")
def validate(
    path: str = typer.Argument(..., help="File to check (DDXPlus: the patients CSV or its folder)."),
    format: str = typer.Option(..., "--format", "-f", help=FORMAT_HELP),
    conditions: Path = typer.Option(None, help="DDXPlus release_conditions.json (default: next to the CSV)."),
    evidences: Path = typer.Option(None, help="DDXPlus release_evidences.json (default: next to the CSV)."),
    show: int = typer.Option(50, help="How many problems to list (counts always cover all)."),
) -> None:
    """Check every record; list problems (file, line or key, field) with counts; exit 1 if any."""
    loaded = load(format, path, strict=False, conditions=conditions, evidences=evidences)
    problems = loaded.problems.items
    typer.echo(f"{path}: {len(loaded.records)} valid records, {len(problems)} problem(s) ({format})")
    for kind, count in loaded.problems.counts().most_common():
        typer.echo(f"  {count:6d}  {kind}")
    for problem in problems[:show]:
        typer.echo(f"  - {problem}")
    if len(problems) > show:
        typer.echo(f"  ... and {len(problems) - show} more")
    if problems:
        raise typer.Exit(1)


@app.command("stats")
def stats(
    path: str = typer.Argument(..., help="Dataset file (DDXPlus: the patients CSV or its folder)."),
    format: str = typer.Option(..., "--format", "-f", help=FORMAT_HELP),
    conditions: Path = typer.Option(None, help="DDXPlus release_conditions.json."),
    evidences: Path = typer.Option(None, help="DDXPlus release_evidences.json."),
) -> None:
    """Record count and counts per label (pathology, decision, step, label) as JSON."""
    loaded = load(format, path, conditions=conditions, evidences=evidences)
    labels = Counter(label_of(format, r) for r in loaded.records)
    out = {"path": str(path), "format": format, "records": len(loaded.records), "labels": dict(labels.most_common())}
    if format == "ddxplus":
        ages = [p.age for p in loaded.records]
        out["sex"] = dict(Counter(p.sex for p in loaded.records))
        out["age_mean"] = round(sum(ages) / max(1, len(ages)), 1)
        out["evidences_per_patient"] = round(sum(len(p.evidences) for p in loaded.records) / max(1, len(ages)), 1)
    if format in ("medqa", "medmcqa"):
        out["options"] = dict(Counter(len(r.options) for r in loaded.records))
        out["answer_letters"] = dict(sorted(Counter(r.answer_idx for r in loaded.records).items()))
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


@app.command("build")
def build(
    path: str = typer.Argument(..., help="Source file or hub id (DDXPlus: the patients CSV)."),
    source: str = typer.Option(..., "--source", "-s", help=FORMAT_HELP.replace(" | pubmed", "")),
    out: Path = typer.Option(..., help="Output folder: train.jsonl [validation.jsonl] stats.json manifest.json."),
    decontaminate: list[str] = typer.Option([], help="Evaluation file(s) whose items are removed from training."),
    eval_format: str = typer.Option(None, help="Format of the --decontaminate files (default: --source)."),
    conditions: Path = typer.Option(None, help="DDXPlus release_conditions.json."),
    evidences: Path = typer.Option(None, help="DDXPlus release_evidences.json."),
    validation_fraction: float = typer.Option(0.0, help="Stratified validation share (0 = no split)."),
    seed: int = typer.Option(42, help="Split seed."),
    dedup: bool = typer.Option(True, help="Drop exact and near-duplicate items."),
    top_k: int = typer.Option(5, help="DDXPlus: conditions kept in the target differential."),
    max_context_words: int = typer.Option(200, help="PubMedQA: clip the abstract to this many words."),
    scrub_phi: bool = typer.Option(True, "--scrub-phi/--keep-phi",
                                   help="custom: replace identifiers (names, dates, ids, ...) before training."),
    force: bool = typer.Option(False, help="Replace --out even if it is not a folder medassist wrote."),
) -> None:
    """Turn a dataset into chat examples (system/user/assistant) for SFT, decontaminated and split."""
    check_replaceable(out, force)

    cfg = BuildConfig(source=source, path=path, out=str(out), conditions=str(conditions) if conditions else None,
                      evidences=str(evidences) if evidences else None, eval_paths=list(decontaminate),
                      eval_format=eval_format, dedup=dedup, validation_fraction=validation_fraction, seed=seed,
                      top_k=top_k, max_context_words=max_context_words, scrub_phi=scrub_phi)
    result = build_dataset(cfg, force)
    typer.echo(json.dumps(result, indent=2))
    typer.echo(f"examples written to {out}")


ENGINE_HELP = ("PHI engine: auto (the first installed of presidio, philter, rules), rules, presidio, philter, "
               "philter+presidio [default: $MEDASSIST_PHI_ENGINE or auto].")


@app.command("scrub")
def scrub(
    path: Path = typer.Argument(None, help="Text file to scrub (default: stdin)."),
    out: Path = typer.Option(None, help="Write here (atomically) instead of stdout."),
    engine: str = typer.Option(None, help=ENGINE_HELP),
) -> None:
    """Replace names, dates, ages over 89, contacts, record numbers and addresses with [PLACEHOLDERS]."""
    if path is None:
        text = sys.stdin.read()
    else:
        with open_text(path) as handle:
            text = handle.read()
    cleaned, counts = scrub_with_counts(text, engine)
    if out is None:
        sys.stdout.write(cleaned)
    else:
        atomic_write_text(out, cleaned)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing found"
    typer.echo(f"scrubbed: {summary}", err=True)


@app.command("phi-eval")
def phi_eval(
    path: Path = typer.Argument(..., help="Labelled sentences (<NAME>..</NAME>, <KEEP>..</KEEP>), e.g. "
                                          "tests/fixtures/phi_labelled.txt."),
    engine: str = typer.Option(None, help=ENGINE_HELP),
    out: Path = typer.Option(None, help="Also write the full report (misses, false alarms) as JSON here."),
) -> None:
    """Recall and precision of the PHI scrubber per identifier kind, and clinical values it changed."""
    engine = engine or default_engine()
    used = resolve_engine(engine)
    report = score(load_labelled(path), engine) | {"engine": used, "path": str(path)}
    typer.echo(f"engine: {used}\n{markdown_table(report)}")
    for key, label in (("misses", "missed"), ("false_alarms", "false alarm"), ("changed", "clinical value changed")):
        for line in report[key]:
            typer.echo(f"  {label}: {line}")
    if out is not None:
        atomic_write_json(out, report)
