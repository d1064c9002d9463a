"""What a search leaves to read: ``search.json`` (every trial), ``search-report.md`` (a table) and
``search.png`` (the metric per trial, and each trial's evaluations step by step: where pruning cut)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from medassist.config import to_dict
from medassist.io import atomic_write_json, atomic_write_text
from medassist.sft.config import SEARCH_METRICS, SFTRunConfig

PARAMS = ("learning_rate", "lora_r", "lora_alpha", "max_steps")


def trial_rows(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per trial: its values, state, metric (a pruned trial's: its last evaluation), time."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({
            "number": t.number,
            "state": t.state.name.lower(),
            # a trial whose process was killed is failed by the heartbeat and run again with its values
            "retry_of": RetryHeartbeatStaleTrialCallback.retried_trial_number(t),
            "value": t.value,
            "params": t.params,
            "duration_s": round(t.duration.total_seconds(), 1) if t.duration else None,
            "last_step": t.last_step,
            "intermediate": {str(step): value for step, value in sorted(t.intermediate_values.items())},
            "output_dir": t.user_attrs.get("output_dir"),
            "baseline": bool(t.user_attrs.get("baseline")),
        })
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown(cfg: SFTRunConfig, rows: list[dict[str, Any]], best: dict[str, Any] | None,
             recipe: Path | None) -> str:
    metric = cfg.search.metric
    states = {s: sum(r["state"] == s for r in rows) for s in ("complete", "pruned", "fail", "running")}
    lines = [
        f"# Hyper-parameter search: {cfg.output_dir}",
        "",
        f"Optuna TPE sampler, median pruner; objective: **{metric}** ({SEARCH_METRICS[metric]}), at the closing "
        f"evaluation of each run. {len(rows)} trials: " + ", ".join(f"{n} {s}" for s, n in states.items() if n) + ".",
        "",
    ]
    if best is not None:
        lines += [f"Best: trial {best['number']} ({best['output_dir']}), {metric} {_fmt(best['value'])}, "
                  + ", ".join(f"{k} {_fmt(v)}" for k, v in best["params"].items()) + ".", ""]
    if recipe is not None:
        lines += [f"Its recipe: `{recipe.name}`; train it with `medassist sft --config {recipe}`.", ""]
    shown = [p for p in PARAMS if any(p in r["params"] for r in rows)]
    lines += ["| trial | state | " + " | ".join(shown) + f" | {metric} | last step | duration (s) | folder |",
              "|---" * (len(shown) + 6) + "|"]
    for r in rows:
        state = r["state"] + (f" (retry of {r['retry_of']})" if r["retry_of"] is not None else "") + (
            " (the recipe's values)" if r["baseline"] else "")
        cells = [str(r["number"]), state, *(_fmt(r["params"].get(p)) for p in shown), _fmt(r["value"]),
                 _fmt(r["last_step"]), _fmt(r["duration_s"]), r["output_dir"] or "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "A pruned trial's value is its metric at the evaluation where it was stopped; a failed one's "
              "process died or raised (see the log).", "",
              "![metric per trial](search.png)", ""]
    return "\n".join(lines)


def plot(cfg: SFTRunConfig, rows: list[dict[str, Any]], path: Path) -> Path:
    """Left: the metric per trial (best so far as a line); right: every trial's evaluations by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metric = cfg.search.metric
    better = min if SEARCH_METRICS[metric] == "minimize" else max
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for state, marker in (("complete", "o"), ("pruned", "x")):
        chosen = [r for r in rows if r["state"] == state and r["value"] is not None]
        left.scatter([r["number"] for r in chosen], [r["value"] for r in chosen], marker=marker, label=state)
    best_so_far, xs, ys = None, [], []
    for r in rows:
        if r["state"] == "complete" and r["value"] is not None:
            best_so_far = r["value"] if best_so_far is None else better(best_so_far, r["value"])
        if best_so_far is not None:
            xs.append(r["number"])
            ys.append(best_so_far)
    left.step(xs, ys, where="post", color="grey", label="best so far")
    left.set(xlabel="trial", ylabel=metric, title="objective per trial")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend()
    for r in rows:
        steps = [int(s) for s in r["intermediate"]]
        style = "--" if r["state"] == "pruned" else "-"
        right.plot(steps, list(r["intermediate"].values()), style, marker=".", label=f"trial {r['number']}")
    right.set(xlabel="step", ylabel=metric, title="evaluations (dashed: pruned)")
    if len(rows) <= 12:
        right.legend(fontsize="small")
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_report(study: optuna.Study, cfg: SFTRunConfig, recipe: Path | None) -> Path:
    """``search.json``, ``search-report.md`` and ``search.png`` in the search's folder."""
    out = Path(cfg.output_dir)
    rows = trial_rows(study)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = rows[study.best_trial.number] if completed else None
    atomic_write_json(out / "search.json", {
        "metric": cfg.search.metric, "direction": SEARCH_METRICS[cfg.search.metric], "study": "study.db",
        "study_name": study.study_name, "search_space": to_dict(cfg.search), "best": best,
        "best_recipe": recipe.name if recipe else None, "trials": rows})
    plot(cfg, rows, out / "search.png")
    return atomic_write_text(out / "search-report.md", markdown(cfg, rows, best, recipe))
