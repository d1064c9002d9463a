"""``medassist eval ddx --interactive``: simulated consultations, scored as curves over the budget.

Three arms on the same patients: the information-gain policy (``medassist.data.next_question``), a
random-question baseline (a random askable evidence each step, same loop, no early stop; its
questions ignore the differential, so ``random_every=k`` scores it every k questions only) and the
full-evidence result. The differential at each step comes from the eval's backend (the partial
vignette, asked as in training) or, with ``policy_mode="kb"``, from the knowledge base's
likelihood model alone (no model calls: fast, and a baseline of its own).

Likelihoods are fitted on ``fit_patients``: by default the patients of the data file that are not
evaluated (the first ``limit`` are evaluated), so no evaluated patient is counted.

Per budget N = 0..max: GTPA@1 and DDF1 (``ddx_metrics``), positive-evidence recall (PER: share of
the record's positive evidences, chief complaint excluded, uncovered by then), questions asked
(IL, fewer than N once the policy stopped). Writes report.json, report.md, curves.png and
consultations_<arm>.jsonl (questions asked, differential per step; ``full`` for the full cases); not
resumable, but ``rescore_interactive`` (``medassist eval score RUN``) scores a finished run again.

In model mode every budget is also scored on the *combined* differential a consultation shows
(``QuestionPolicy.combined``: the model's differential mixed with the knowledge base's posterior),
next to the model's own (``combined_gtpa@1``, ``combined_ddf1``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from medassist.data.answers.differential import case_user_prompt, normalised, parse_differential
from medassist.data.consultation import SimulatedPatient
from medassist.data.ddx_likelihood import EvidenceModel
from medassist.data.ddxplus import DDXPlusKB
from medassist.data.next_question import PolicyConfig, QuestionPolicy, askable
from medassist.data.prompts import chat_messages
from medassist.data.records import DDXPatient
from medassist.eval.backends import Backend
from medassist.eval.consultation_runs import (
    Differential,
    Step,
    Trajectory,
    no_differential,
    read_consultations,
    run_consultations,
    score_replayed,
    write_consultations,
)
from medassist.eval.ddx_metrics import DDXCase, case_scores
from medassist.eval.report import save_figure
from medassist.eval.suites import EvalItem
from medassist.io import atomic_write_json, atomic_write_text

KB_SHOWN = 10  # conditions of a KB posterior taken as its differential


@dataclass
class InteractiveSpec:
    max_questions: int = 20
    policy_mode: str = "model"  # model: the backend's differential (+ KB); kb: the KB likelihoods only
    seed: int = 0  # the random baseline's questions
    random_baseline: bool = True  # off: the policy arm and the full case only (a model run costs half)
    # the random arm's differential every k questions and at the budget (k=5, budget 15: 4 budgets of calls, not 16)
    random_every: int = 1

    def random_budgets(self) -> list[int]:
        return sorted(set(range(0, self.max_questions + 1, self.random_every)) | {self.max_questions})


def kb_differential(policy: QuestionPolicy, known: dict[str, list[Any]]) -> list[tuple[str, float | None]]:
    p = policy.model.posterior(known)
    order = p.argsort()[::-1][:KB_SHOWN]
    return [(policy.model.conditions[i], float(p[i])) for i in order]


def backend_source(backend: Backend, kb: DDXPlusKB):
    """Differentials from the eval's backend for the partial vignettes (names normalised to the KB)."""
    def ask(sims: list[SimulatedPatient]) -> list[Differential]:
        items = [EvalItem(str(i), chat_messages(case_user_prompt(s.vignette()))) for i, s in enumerate(sims)]
        texts = {item.id: answer["text"] for item, answer in backend.answer(items)}
        out: list[Differential] = []
        for i in range(len(sims)):
            parsed = parse_differential(texts[str(i)])
            out.append(None if parsed is None else normalised(parsed, kb.normalise_condition))
        return out

    return ask


def curve_value(curves: dict[str, list[float]], key: str, n: int) -> float | None:
    """``key`` at budget n, None where the arm was not scored (the random arm with ``random_every`` > 1)."""
    return curves[key][curves["n"].index(n)] if n in curves["n"] else None


def combined_differential(policy: QuestionPolicy, known: dict[str, list[Any]],
                          differential: Differential) -> Differential:
    return [(row.condition, row.probability) for row in policy.combined(known, differential)]


def fill_combined(trajectories: list[Trajectory], policy: QuestionPolicy, budgets: Sequence[int]) -> None:
    """``steps[n].combined`` at each budget read: the model's differential mixed with the knowledge
    base's posterior given the answers by then (``QuestionPolicy.combined``, what a consultation shows)."""
    wanted = set(budgets)
    for traj in trajectories:
        sim = SimulatedPatient(traj.patient, policy.model.kb)
        for n, step in enumerate(traj.steps):
            if n in wanted:
                step.combined = combined_differential(policy, sim.known, step.differential)
            if step.question:
                sim.answer(step.question)


def _scores(patient: DDXPatient, differential: Differential, threshold: float) -> dict[str, float]:
    case = DDXCase(patient.pathology, list(patient.differential), list(differential or []))
    return case_scores(case, ks=(1,), threshold=threshold)


def _curves(trajectories: list[Trajectory], budgets: Sequence[int], threshold: float,
            combined: bool) -> dict[str, list[float]]:
    """Per budget: the model's GTPA@1 and DDF1, PER and questions asked; with ``combined``, also the
    combined differential's GTPA@1 and DDF1 (``combined_gtpa@1``, ``combined_ddf1``)."""
    keys = ["gtpa@1", "ddf1", "per", "questions"] + (["combined_gtpa@1", "combined_ddf1"] if combined else [])
    curves: dict[str, list[float]] = {"n": []} | {key: [] for key in keys}
    for n in budgets:
        rows = []
        for t in trajectories:
            step = t.steps[n]
            model = _scores(t.patient, step.differential, threshold)
            row = [model["gtpa@1"], model["ddf1"], step.uncovered / t.positives if t.positives else 1.0, step.asked]
            if combined:
                mixed = _scores(t.patient, step.combined, threshold)
                row += [mixed["gtpa@1"], mixed["ddf1"]]
            rows.append(row)
        curves["n"].append(n)
        for key, column in zip(keys, zip(*rows, strict=True), strict=True):
            curves[key].append(round(sum(column) / len(column), 4))
    return curves


def _timing(trajectories: list[Trajectory]) -> dict[str, float]:
    asked = max(1, sum(t.steps[-1].asked for t in trajectories))
    differential = sum(t.differential_seconds for t in trajectories)
    choose = sum(t.choose_seconds for t in trajectories)
    return {"seconds_per_question": (differential + choose) / asked, "differential_seconds_per_question":
            differential / asked, "policy_seconds_per_question": choose / asked}


def _full_evidence(full: list[SimulatedPatient], differentials: list[Differential], policy: QuestionPolicy,
                   threshold: float, combined: bool) -> dict[str, float]:
    """GTPA@1 and DDF1 with every evidence of the record known (and of the combined differential)."""
    figures: dict[str, list[float]] = {}
    for sim, differential in zip(full, differentials, strict=True):
        scored = {"": _scores(sim.patient, differential, threshold)}
        if combined:
            scored["combined_"] = _scores(sim.patient, combined_differential(policy, sim.known, differential),
                                          threshold)
        for prefix, scores in scored.items():
            for key in ("gtpa@1", "ddf1"):
                figures.setdefault(prefix + key, []).append(scores[key])
    return {key: round(sum(values) / len(values), 4) for key, values in figures.items()}


def _fully_known(patients: Sequence[DDXPatient], kb: DDXPlusKB) -> list[SimulatedPatient]:
    full = [SimulatedPatient(p, kb) for p in patients]
    for sim in full:
        sim.known = dict(sim.record) | sim.known
    return full


def run_interactive(patients: Sequence[DDXPatient], kb: DDXPlusKB, fit_patients: Sequence[DDXPatient],
                    spec: InteractiveSpec, policy_config: PolicyConfig, out: Path, backend: Backend | None = None,
                    threshold: float = 0.01) -> dict[str, Any]:
    """Run the three arms (two without ``spec.random_baseline``) on ``patients``; write and return the report."""
    if spec.policy_mode not in ("model", "kb"):
        raise ValueError(f"policy_mode {spec.policy_mode!r}: expected model or kb")
    if spec.random_every < 1:
        raise ValueError(f"random_every {spec.random_every}: expected a number >= 1")
    if spec.policy_mode == "model" and backend is None:
        raise ValueError("policy_mode model needs a backend (--model or --endpoint)")
    started = time.perf_counter()
    policy = QuestionPolicy(EvidenceModel(kb, fit_patients), policy_config)
    if spec.policy_mode == "kb":
        def source(sims: list[SimulatedPatient]) -> list[Differential]:
            return [kb_differential(policy, s.known) for s in sims]
    else:
        source = backend_source(backend, kb)

    def choose_best(sim: SimulatedPatient, differential: Differential) -> str | None:
        usable = differential if spec.policy_mode == "model" else None
        p = policy.differential(sim.known, usable)
        if policy.done(p, len(sim.known) - 1):
            return None
        best = policy.rank(sim.known, p, k=1)
        return best[0].code if best else None

    rng = random.Random(spec.seed)

    def choose_random(sim: SimulatedPatient, differential: Differential) -> str | None:
        candidates = askable(kb, sim.known)
        return rng.choice(candidates) if candidates else None

    out.mkdir(parents=True, exist_ok=True)
    arms = {}
    choosers = {"policy": choose_best} | ({"random": choose_random} if spec.random_baseline else {})
    for name, chooser in choosers.items():
        if name == "random":  # its questions ignore the differential: ask them all, then score the budgets read
            trajectories = run_consultations(patients, kb, no_differential, chooser, spec.max_questions)
            score_replayed(trajectories, kb, source, spec.random_budgets(), progress="ddx random")
        else:
            trajectories = run_consultations(patients, kb, source, chooser, spec.max_questions, progress=f"ddx {name}")
        write_consultations(out / f"consultations_{name}.jsonl", trajectories)
        arms[name] = trajectories
    full = _fully_known(patients, kb)
    full_differentials = source(full)
    write_consultations(out / "consultations_full.jsonl", _full_trajectories(full, full_differentials))
    timing = {name: _timing(trajectories) for name, trajectories in arms.items()}
    full_evidence = _full_evidence(full, full_differentials, policy, threshold, spec.policy_mode == "model")
    return _report(patients, len(fit_patients), spec, policy, arms, full_evidence, timing, threshold,
                   time.perf_counter() - started, out)


def _full_trajectories(full: list[SimulatedPatient], differentials: list[Differential]) -> list[Trajectory]:
    """The full cases as one-step trajectories, so ``consultations_full.jsonl`` has the consultations' format."""
    return [Trajectory(sim.patient, 0, [Step(0, differential, 0)]) for sim, differential in zip(full, differentials,
                                                                                                strict=True)]


def _report(patients: Sequence[DDXPatient], fitted_on: int, spec: InteractiveSpec, policy: QuestionPolicy,
            arms: dict[str, list[Trajectory]], full_evidence: dict[str, float], timing: dict[str, dict[str, float]],
            threshold: float, seconds: float, out: Path) -> dict[str, Any]:
    """Score the arms' trajectories and the full cases; write report.json, report.md and curves.png."""
    combined = spec.policy_mode == "model"  # in kb mode the differential already is the KB posterior
    curves = {}
    for name, trajectories in arms.items():
        budgets = spec.random_budgets() if name == "random" else list(range(spec.max_questions + 1))
        if combined:
            fill_combined(trajectories, policy, budgets)
        curves[name] = {"curves": _curves(trajectories, budgets, threshold, combined), "timing": timing[name]}
    report = {
        "suite": "ddx-interactive", "n_patients": len(patients), "spec": asdict(spec),
        "policy": asdict(policy.config), "likelihoods_fitted_on": fitted_on,
        "arms": curves,
        "full_evidence": full_evidence,
        "seconds": round(seconds, 1),
    }
    report["plots"] = [_plot(out / "curves.png", report)]
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render_markdown(report))
    return report


def rescore_interactive(run_dir: Path, patients: Sequence[DDXPatient], kb: DDXPlusKB,
                        fit_patients: Sequence[DDXPatient], spec: InteractiveSpec, policy_config: PolicyConfig,
                        threshold: float = 0.01) -> dict[str, Any]:
    """Score a finished run again from its consultations_*.jsonl (no model asked): new metrics, or
    the combined differential of a run made before it existed. Timing and seconds are the run's."""
    old = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    policy = QuestionPolicy(EvidenceModel(kb, fit_patients), policy_config)
    arms = {name: read_consultations(run_dir / f"consultations_{name}.jsonl", patients, kb)
            for name in old["arms"]}
    full_file = run_dir / "consultations_full.jsonl"
    if full_file.is_file():
        full = [t.steps[0].differential for t in read_consultations(full_file, patients, kb)]
        full_evidence = _full_evidence(_fully_known(patients, kb), full, policy, threshold,
                                       spec.policy_mode == "model")
    else:  # a run made before the full cases were kept: their model figures as reported then
        full_evidence = old["full_evidence"]
    timing = {name: arm["timing"] for name, arm in old["arms"].items()}
    return _report(patients, len(fit_patients), spec, policy, arms, full_evidence, timing, threshold,
                   old["seconds"], run_dir)


def render_markdown(report: dict[str, Any]) -> str:
    policy, rand = report["arms"]["policy"], report["arms"].get("random")
    mode = "KB likelihoods only (no model)" if report["spec"]["policy_mode"] == "kb" else "backend model + KB"
    full = report["full_evidence"]
    lines = [f"# medassist eval: ddx --interactive ({mode})", "",
             f"- patients: {report['n_patients']}; likelihoods fitted on {report['likelihoods_fitted_on']} others",
             f"- full evidence: GTPA@1 {full['gtpa@1']:.3f}, DDF1 {full['ddf1']:.3f}",
             f"- seconds per question (policy arm): {policy['timing']['seconds_per_question']:.4f}", "",
             "| N | GTPA@1 policy | GTPA@1 random | DDF1 policy | DDF1 random | PER policy | PER random | IL policy |",
             "|---|---|---|---|---|---|---|---|"]
    pc = policy["curves"]
    rc = rand["curves"] if rand else None

    def random_cell(key: str, n: int) -> str:
        if not rc:
            return "not run"
        value = curve_value(rc, key, n)
        return "not scored" if value is None else f"{value:.3f}"

    for i, n in enumerate(pc["n"]):
        lines.append(f"| {n} | {pc['gtpa@1'][i]:.3f} | {random_cell('gtpa@1', n)} | {pc['ddf1'][i]:.3f} | "
                     f"{random_cell('ddf1', n)} | {pc['per'][i]:.3f} | {random_cell('per', n)} | "
                     f"{pc['questions'][i]:.2f} |")
    if "combined_ddf1" in pc:
        full_line = (f" (full evidence: GTPA@1 {full['combined_gtpa@1']:.3f}, DDF1 {full['combined_ddf1']:.3f})"
                     if "combined_ddf1" in full else "")
        lines += ["", "## Combined differential: the model's mixed with the knowledge base's posterior",
                  "", f"What a consultation shows next to the model's own differential{full_line}.", "",
                  "| N | GTPA@1 policy | GTPA@1 random | DDF1 policy | DDF1 random |", "|---|---|---|---|---|"]
        for i, n in enumerate(pc["n"]):
            lines.append(f"| {n} | {pc['combined_gtpa@1'][i]:.3f} | {random_cell('combined_gtpa@1', n)} | "
                         f"{pc['combined_ddf1'][i]:.3f} | {random_cell('combined_ddf1', n)} |")
    lines += ["", "![curves](curves.png)", "",
              "Decision support only: these figures describe a model, not clinical performance."]
    return "\n".join(lines) + "\n"


def _plot(path: Path, report: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, key, label in zip(axes, ("gtpa@1", "ddf1", "per"), ("GTPA@1", "DDF1", "positive-evidence recall"),
                              strict=True):
        for arm, style in (("policy", "-o"), ("random", "--s")):
            if arm not in report["arms"]:
                continue
            curve = report["arms"][arm]["curves"]
            ax.plot(curve["n"], curve[key], style, color="C0", markersize=3, label=f"{arm}: model")
            if f"combined_{key}" in curve:
                ax.plot(curve["n"], curve[f"combined_{key}"], style, color="C1", markersize=3,
                        label=f"{arm}: model + KB")
        for prefix, color in (("", "grey"), ("combined_", "C1")):
            if prefix + key in report["full_evidence"]:
                ax.axhline(report["full_evidence"][prefix + key], color=color, linestyle=":",
                           label=f"full evidence{': model + KB' if prefix else ''}")
        ax.set_xlabel("questions allowed (N)"), ax.set_ylabel(label), ax.set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"interactive DDXPlus ({report['spec']['policy_mode']} mode, {report['n_patients']} patients)")
    return save_figure(fig, path)
