"""One entry point per dataset format, for the CLI and for callers that take ``--format``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medassist.data.custom import load_custom
from medassist.data.ddxplus import DDXPlusKB, iter_patients, load_kb
from medassist.data.medqa import load_medmcqa, load_medqa
from medassist.data.pubmed import iter_pubmed
from medassist.data.pubmedqa import load_pubmedqa
from medassist.data.validation import Problems
from medassist.errors import MedassistError
from medassist.resources import bundled

FORMATS = ("medqa", "medmcqa", "pubmedqa", "ddxplus", "pubmed", "custom")


@dataclass
class Loaded:
    format: str
    records: list[Any]
    files: list[Path]
    kb: DDXPlusKB | None = None
    problems: Problems = field(default_factory=Problems)


def ddxplus_files(path: str | Path, conditions: str | Path | None = None,
                  evidences: str | Path | None = None) -> tuple[Path, Path, Path]:
    """(patients CSV, conditions JSON, evidences JSON): the KB defaults to the release file names
    next to the CSV; ``path`` may also be a folder holding one CSV and the two JSON files."""
    path = bundled(path)
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        csvs = sorted(folder.glob("*.csv")) + sorted(folder.glob("*.csv.gz"))
        if len(csvs) != 1:
            raise MedassistError(f"{folder}: expected exactly one patients CSV, found {[c.name for c in csvs]}")
        path = csvs[0]
    cond = bundled(conditions) if conditions else folder / "release_conditions.json"
    evid = bundled(evidences) if evidences else folder / "release_evidences.json"
    for name, candidate in (("conditions", cond), ("evidences", evid)):
        if not candidate.is_file():
            raise MedassistError(f"DDXPlus {name} file not found: {candidate} (pass --{name} PATH)")
    return path, cond, evid


def load(fmt: str, path: str | Path, *, strict: bool = True, conditions: str | Path | None = None,
         evidences: str | Path | None = None) -> Loaded:
    """Load ``path`` as ``fmt``; with ``strict=False`` problems are collected instead of raised."""
    problems = Problems(strict=strict)
    if fmt == "ddxplus":
        patients, cond, evid = ddxplus_files(path, conditions, evidences)
        kb = load_kb(cond, evid, problems=problems)
        return Loaded(fmt, list(iter_patients(patients, kb, problems=problems)), [patients, cond, evid], kb,
                      problems)
    loaders = {"medqa": load_medqa, "medmcqa": load_medmcqa, "pubmedqa": load_pubmedqa,
               "custom": load_custom, "pubmed": lambda p, problems: list(iter_pubmed(p, problems=problems))}
    if fmt not in loaders:
        raise MedassistError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    path = bundled(path)
    files = [path] if path.exists() else []
    return Loaded(fmt, loaders[fmt](path, problems=problems), files, None, problems)


def label_of(fmt: str, record: Any) -> str:
    """The label a split is stratified on and ``stats`` counts."""
    return {
        "medqa": lambda r: r.meta_info or "unknown",
        "medmcqa": lambda r: r.meta_info or "unknown",
        "pubmedqa": lambda r: r.final_decision,
        "ddxplus": lambda r: r.pathology,
        "pubmed": lambda r: str(r.year) if r.year else "unknown",
        "custom": lambda r: r.label or "chat",
    }[fmt](record)
