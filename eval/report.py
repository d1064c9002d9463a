"""Run reports: ``report.json`` + ``report.md`` + PNG plots in the run directory, and the
side-by-side comparison of two runs (e.g. base vs tuned, RAG off vs on) with paired intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medassist.errors import MedassistError
from medassist.eval.statistics import bootstrap_ci
from medassist.io import atomic_write_json, atomic_write_text

REPORT_JSON, REPORT_MD = "report.json", "report.md"


def format_metric(row: dict[str, Any] | None) -> str:
    """A metric row as reports print it: ``0.812 [0.790, 0.834]`` (value, then its 95% interval), or n/a."""
    if row is None or row.get("value") is None:
        return "n/a"
    text = f"{row['value']:.3f}"
    if row.get("ci95"):
        low, high = row["ci95"]
        text += f" [{low:.3f}, {high:.3f}]"
    return text


def render_markdown(report: dict[str, Any]) -> str:
    spec, scores = report["spec"], report["scores"]
    lines = [f"# medassist eval: {spec['suite']}", "",
             f"- backend: `{spec['backend']}`", f"- data: `{spec['data']}` ({report['n_items']} items)",
             f"- retrieval: {spec.get('rag')}", "",
             "| metric | value [95% CI] |", "|---|---|"]
    lines += [f"| {name} | {format_metric(row)} |" for name, row in report["headline"].items()]
    if spec["suite"] == "ddx":
        lines += ["", "## Subgroups (GTPA@1)", "", "| attribute | group | n | GTPA@1 [95% CI] |", "|---|---|---|---|"]
        for attribute, table in scores["subgroups_gtpa@1"].items():
            for group, row in table["groups"].items():
                lines.append(f"| {attribute} | {group} | {row['n']} | {format_metric(row)} |")
            if table["largest_gap"]:
                gap = table["largest_gap"]
                pair = f"{gap['highest']} vs {gap['lowest']}"
                lines.append(f"| {attribute} | largest gap ({pair}) | | {gap['value']:.3f} |")
        sev = scores["severity"]
        lines += ["", f"Severe pathologies ({sev['severe_levels']}): {sev['severe_pathology_missed']} of "
                  f"{sev['severe_pathology_cases']} cases missed from the differential."]
        if scores["per_pathology_recall"]:
            lines += _pathology_lines(scores)
    if report.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]]
    lines += ["", "Decision support only: these figures describe a model, not clinical performance."]
    return "\n".join(lines) + "\n"


def _pathology_lines(scores: dict[str, Any]) -> list[str]:
    """The imbalance view: micro vs macro GTPA@1, severe recall, the worst served, then every
    pathology, most patients first (the table shows the imbalance as well as the recall)."""
    macro, severe, recall = scores["macro_gtpa@1"], scores["severe_gtpa@1"], scores["per_pathology_recall"]
    worst = ", ".join(f"{w['pathology']} {w['recall']:.3f} (n={w['n']})" for w in scores["worst_served"])
    lines = ["", "## Per-pathology recall (GTPA@1)", "",
             f"- micro GTPA@1 (each patient weighs the same): {format_metric(scores['gtpa@1'])} over "
             f"{scores['gtpa@1']['n']} patients",
             f"- macro GTPA@1 (each pathology weighs the same): {format_metric(macro)} over {macro['groups']} "
             "pathologies",
             f"- severe pathologies, {severe['levels']}: GTPA@1 {format_metric(severe)} over {severe['n']} patients",
             f"- worst served: {worst or 'n/a'}", "",
             "| pathology | severity | n | recall (GTPA@1) |", "|---|---|---|---|"]
    for name in sorted(recall, key=lambda p: (-recall[p]["n"], p)):
        row = recall[name]
        level = "n/a" if row["severity"] is None else row["severity"]
        lines.append(f"| {name} | {level} | {row['n']} | {row['recall']:.3f} |")
    return lines


def write_plots(run_dir: Path, suite: str, scores: dict[str, Any]) -> list[str]:
    """Confusion matrix, reliability diagram and top-k curve where the suite has them (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    matrix = {"medqa": "per_option", "pubmedqa": "per_class", "ddx": "top1_classification"}.get(suite)
    if matrix and scores[matrix]["labels"]:
        cm = scores[matrix]["confusion_matrix"]
        size = max(4.0, 0.45 * len(cm["columns_pred"]) + 2)
        fig, ax = plt.subplots(figsize=(size, size * 0.85))
        ax.imshow(cm["counts"], cmap="Blues")
        ax.set_xticks(range(len(cm["columns_pred"])), cm["columns_pred"], rotation=90, fontsize=7)
        ax.set_yticks(range(len(cm["rows_true"])), cm["rows_true"], fontsize=7)
        ax.set_xlabel("predicted"), ax.set_ylabel("true"), ax.set_title("confusion matrix")
        written.append(save_figure(fig, run_dir / "confusion_matrix.png"))
    if suite == "ddx":
        bins = scores["calibration"]["bins"]
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
        if bins:
            ax.bar([(b["low"] + b["high"]) / 2 for b in bins], [b["accuracy"] for b in bins], width=0.09,
                   alpha=0.7, label="accuracy per bin")
        ax.set_xlabel("stated top-1 probability"), ax.set_ylabel("top-1 accuracy")
        ece = scores["calibration"]["ece"]
        ax.set_title("reliability (ECE " + ("n/a" if ece is None else f"{ece:.3f}") + ")"), ax.legend()
        written.append(save_figure(fig, run_dir / "reliability.png"))
        curve = scores["top_k_curve"]
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        ax.plot(list(curve), list(curve.values()), marker="o")
        ax.set_xlabel("k"), ax.set_ylabel("GTPA@k"), ax.set_ylim(0, 1), ax.set_title("top-k accuracy")
        written.append(save_figure(fig, run_dir / "topk.png"))
    return written


def save_figure(fig: Any, path: Path) -> str:
    """Write a matplotlib figure to ``path`` atomically and close it; the file name, for the report's list."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path.name


def write_report(run_dir: Path, report: dict[str, Any]) -> dict[str, Any]:
    report["plots"] = write_plots(run_dir, report["spec"]["suite"], report["scores"])
    atomic_write_json(run_dir / REPORT_JSON, report)
    atomic_write_text(run_dir / REPORT_MD, render_markdown(report))
    return report


def load_report(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / REPORT_JSON
    if not path.is_file():
        raise MedassistError(f"{path}: no report (score the run first: medassist eval score {run_dir})")
    return json.loads(path.read_text())


def compare(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Deltas B - A of every headline metric; on the primary metric a paired bootstrap interval
    over the items both runs answered (a fair comparison of two models on the same questions)."""
    a, b = load_report(run_a), load_report(run_b)
    if a["spec"]["suite"] != b["spec"]["suite"]:
        raise MedassistError(f"cannot compare a {a['spec']['suite']} run with a {b['spec']['suite']} run")
    rows = []
    for name in a["headline"]:
        if name not in b["headline"]:
            continue
        va, vb = a["headline"][name].get("value"), b["headline"][name].get("value")
        rows.append({"metric": name, "a": a["headline"][name], "b": b["headline"][name],
                     "delta": None if va is None or vb is None else vb - va})
    shared = sorted(set(a["per_item_primary"]) & set(b["per_item_primary"]))
    diffs = [b["per_item_primary"][i] - a["per_item_primary"][i] for i in shared]
    paired = {"metric": a["primary"], "items": len(shared),
              "delta": sum(diffs) / len(diffs) if diffs else None, "ci95": bootstrap_ci(diffs) if diffs else None}
    return {"suite": a["spec"]["suite"], "run_a": str(run_a), "run_b": str(run_b),
            "backend_a": a["spec"]["backend"], "backend_b": b["spec"]["backend"], "rows": rows, "paired": paired}


def render_comparison(result: dict[str, Any]) -> str:
    lines = [f"# {result['suite']}: A = {result['backend_a']} vs B = {result['backend_b']}", "",
             "| metric | A [95% CI] | B [95% CI] | B - A |", "|---|---|---|---|"]
    for row in result["rows"]:
        delta = "n/a" if row["delta"] is None else f"{row['delta']:+.3f}"
        lines.append(f"| {row['metric']} | {format_metric(row['a'])} | {format_metric(row['b'])} | {delta} |")
    paired = result["paired"]
    if paired["delta"] is not None:
        low, high = paired["ci95"]
        lines += ["", f"Paired over {paired['items']} shared items, {paired['metric']}: "
                  f"B - A = {paired['delta']:+.3f} [95% CI {low:+.3f}, {high:+.3f}]"]
    return "\n".join(lines) + "\n"
