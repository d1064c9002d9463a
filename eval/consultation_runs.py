"""Simulated consultations of many patients in lock-step: at step n every patient still being
interviewed is shown to the differential source as one batch (one backend call per step, which
suits vLLM's batch API and an endpoint's concurrency), then each gets its next question.

A source of differentials maps a batch of ``SimulatedPatient`` to ranked ``(condition, p)``
lists (KB names; None when a model's answer does not parse). A chooser picks the next question
of one patient, or None to stop; a stopped patient keeps its last differential for the later
steps, so every curve is defined up to the budget. A chooser that never looks at the differential
(the random baseline) can be run without a source and scored afterwards at a few budgets only
(``score_replayed``). ``write_consultations``/``read_consultations`` keep a run's trajectories in
a JSONL file, so a finished run can be scored again (a new metric, a new fusion) without asking
the model again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medassist.data.consultation import SimulatedPatient, is_positive
from medassist.data.ddxplus import DDXPlusKB
from medassist.data.records import DDXPatient
from medassist.errors import MedassistError
from medassist.io import atomic_write_text

Differential = list[tuple[str, float | None]] | None
DifferentialSource = Callable[[list[SimulatedPatient]], list[Differential]]
Chooser = Callable[[SimulatedPatient, Differential], str | None]


@dataclass
class Step:
    """One patient at budget step n (``steps[n]``): questions asked by then (fewer than n once it
    stopped), the differential, and the answers uncovered."""

    asked: int
    differential: Differential
    uncovered: int  # the record's positive evidences known so far, chief complaint excluded
    question: str | None = None  # the question asked after this step
    combined: Differential = None  # the differential mixed with the KB posterior (``QuestionPolicy.combined``)


@dataclass
class Trajectory:
    patient: DDXPatient
    positives: int  # positive evidences in the record, chief complaint excluded
    steps: list[Step] = field(default_factory=list)
    differential_seconds: float = 0.0  # this patient's share of the differential source's time
    choose_seconds: float = 0.0


def _uncovered(sim: SimulatedPatient) -> int:
    return sum(1 for code, values in sim.known.items()
               if code != sim.patient.initial_evidence and is_positive(sim.kb, code, values))


def run_consultations(patients: Sequence[DDXPatient], kb: DDXPlusKB, source: DifferentialSource,
                      choose: Chooser, max_questions: int, progress: str | None = None) -> list[Trajectory]:
    """Interview every patient for up to ``max_questions`` questions; steps 0 .. max_questions."""
    from tqdm.auto import tqdm

    sims = [SimulatedPatient(p, kb) for p in patients]
    trajectories = [Trajectory(p, len(s.positives() - {p.initial_evidence})) for p, s in zip(patients, sims,
                                                                                             strict=True)]
    active = list(range(len(sims)))
    for n in tqdm(range(max_questions + 1), desc=progress or "consultations", unit="step", disable=progress is None):
        started = time.perf_counter()
        differentials = source([sims[i] for i in active])
        share = (time.perf_counter() - started) / max(1, len(active))
        still = []
        for i, differential in zip(active, differentials, strict=True):
            traj, sim = trajectories[i], sims[i]
            traj.differential_seconds += share
            traj.steps.append(Step(n, differential, _uncovered(sim)))
            if n == max_questions:
                continue
            started = time.perf_counter()
            code = choose(sim, differential)
            traj.choose_seconds += time.perf_counter() - started
            if code is not None:
                if code in sim.known:
                    raise RuntimeError(f"chooser asked {code} twice of {sim.patient.id}")
                sim.answer(code)
                traj.steps[-1].question = code
                still.append(i)
        active = still
        if not active:
            break
    for traj in trajectories:  # stopped early: the last differential holds for the remaining budget
        last = traj.steps[-1]
        traj.steps += [Step(last.asked, last.differential, last.uncovered)
                       for _ in range(len(traj.steps), max_questions + 1)]
    return trajectories


def no_differential(sims: list[SimulatedPatient]) -> list[Differential]:
    """A source that asks nothing: for choosers that ignore the differential (scored by ``score_replayed``)."""
    return [None] * len(sims)


def score_replayed(trajectories: list[Trajectory], kb: DDXPlusKB, source: DifferentialSource,
                   budgets: Sequence[int], progress: str | None = None) -> None:
    """Fill ``steps[n].differential`` for each n in ``budgets`` by replaying each patient's first n
    questions, so the source is asked only where a curve is read (4 budgets of 16 cost a quarter)."""
    from tqdm.auto import tqdm

    for n in tqdm(budgets, desc=progress or "scoring", unit="budget", disable=progress is None):
        sims = []
        for traj in trajectories:
            sim = SimulatedPatient(traj.patient, kb)
            for step in traj.steps[:n]:
                if step.question:
                    sim.answer(step.question)
            sims.append(sim)
        started = time.perf_counter()
        differentials = source(sims)
        share = (time.perf_counter() - started) / max(1, len(sims))
        for traj, differential in zip(trajectories, differentials, strict=True):
            traj.steps[n].differential = differential
            traj.differential_seconds += share


def write_consultations(path: Path, trajectories: list[Trajectory]) -> None:
    """One line a patient: the questions asked and the differential at every budget (null where the
    answer did not parse or the arm was not scored)."""
    lines = [json.dumps({"id": t.patient.id, "pathology": t.patient.pathology,
                         "questions": [s.question for s in t.steps if s.question],
                         "differentials": [s.differential for s in t.steps]}) for t in trajectories]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_consultations(path: Path, patients: Sequence[DDXPatient], kb: DDXPlusKB) -> list[Trajectory]:
    """The trajectories ``write_consultations`` wrote, rebuilt by replaying each patient's questions
    against its record (questions asked and evidences uncovered at every step)."""
    by_id = {p.id: p for p in patients}
    trajectories = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{line_no}"
        try:
            row = json.loads(line)
            patient_id, questions, differentials = row["id"], row["questions"], row["differentials"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MedassistError(f"{where}: expected a JSON object with id, questions and differentials ({exc})"
                                 ) from exc
        patient = by_id.get(patient_id)
        if patient is None:
            raise MedassistError(f"{where}: patient {patient_id!r} is not among the run's patients (was the data "
                                 "file changed since the run?)")
        sim = SimulatedPatient(patient, kb)
        traj = Trajectory(patient, len(sim.positives() - {patient.initial_evidence}))
        for n, differential in enumerate(differentials):
            question = questions[n] if n < len(questions) else None
            pairs = None if differential is None else [(name, prob) for name, prob in differential]
            traj.steps.append(Step(min(n, len(questions)), pairs, _uncovered(sim), question))
            if question:
                sim.answer(question)
        trajectories.append(traj)
    return trajectories
