"""Problems found in an input file, and the record readers that report them.

Loaders run in one of two modes with the same code: strict (the default) raises the first
problem as a ``MedassistError`` naming file, line (or key) and field; collecting (what
``medassist data validate`` uses) keeps going and returns every problem with counts.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from medassist.errors import MedassistError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


@dataclass(frozen=True)
class Problem:
    file: str
    where: str  # "line 12", "key 21645374", "row 40"
    field: str
    message: str
    kind: str  # short category used for counts: "invalid JSON", "missing field", ...

    def __str__(self) -> str:
        return f"{self.file}, {self.where}, field '{self.field}': {self.message}"


@dataclass
class Problems:
    """Where loaders report bad input; ``strict`` raises at the first problem."""

    strict: bool = True
    items: list[Problem] = field(default_factory=list)

    def add(self, file: str | Path, where: str, field_name: str, message: str, kind: str) -> None:
        problem = Problem(str(file), where, field_name, message, kind)
        if self.strict:
            raise MedassistError(str(problem))
        self.items.append(problem)

    def counts(self) -> Counter[str]:
        return Counter(f"{p.kind} ({p.field})" for p in self.items)


class Checker:
    """Field checks for one file: each failure becomes a Problem with file/where/field."""

    def __init__(self, path: str | Path, problems: Problems | None):
        self.path = str(path)
        self.problems = problems if problems is not None else Problems()

    def fail(self, where: str, field_name: str, message: str, kind: str) -> None:
        self.problems.add(self.path, where, field_name, message, kind)

    def get(self, obj: dict[str, Any], name: str, where: str, types: type | tuple[type, ...] = str,
            required: bool = True) -> Any:
        """``obj[name]`` if present and of the expected type, else None (after reporting)."""
        if name not in obj or obj[name] is None:
            if required:
                self.fail(where, name, "missing (required)", "missing field")
            return None
        value = obj[name]
        if not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            self.fail(where, name, f"expected {expected}, got {type(value).__name__}", "wrong type")
            return None
        if isinstance(value, str) and required and not value.strip():
            self.fail(where, name, "empty string", "empty field")
            return None
        return value


def open_text(path: str | Path) -> IO[str]:
    """Open plain or gzip text (by magic bytes, so a renamed file still works)."""
    path = Path(path)
    if not path.is_file():
        raise MedassistError(f"{path}: file not found")
    with open(path, "rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gz else open(path, encoding="utf-8")


def is_jsonl(path: str | Path) -> bool:
    suffixes = [s.lower() for s in Path(path).suffixes]
    return bool({".jsonl", ".ndjson"} & set(suffixes))


def iter_json_records(path: str | Path, check: Checker, lines: bool | None = None) -> Iterator[tuple[str, Any]]:
    """Yield ``(where, record)`` from JSONL (``line N``), a JSON array (``item N``) or a JSON
    object keyed by id (``key K``); unparseable input becomes a problem, not a traceback.
    ``lines`` forces JSON lines; by default the suffix decides (``.jsonl``/``.ndjson``)."""
    with open_text(path) as handle:
        if lines or (lines is None and is_jsonl(path)):
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield f"line {number}", json.loads(line)
                except json.JSONDecodeError as exc:
                    check.fail(f"line {number}", "(json)", f"invalid JSON: {exc.msg} at column {exc.colno}",
                               "invalid JSON")
            return
        try:
            doc = json.load(handle)
        except json.JSONDecodeError as exc:
            check.fail(f"line {exc.lineno}", "(json)", f"invalid JSON: {exc.msg} at column {exc.colno}",
                       "invalid JSON")
            return
    if isinstance(doc, list):
        yield from ((f"item {i}", rec) for i, rec in enumerate(doc))
    elif isinstance(doc, dict):
        yield from ((f"key {key}", rec) for key, rec in doc.items())
    else:
        check.fail("line 1", "(json)", f"expected a JSON array or object, got {type(doc).__name__}", "wrong type")


def iter_dict_records(path: str | Path, check: Checker, lines: bool | None = None,
                      ) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, rec in iter_json_records(path, check, lines):
        if isinstance(rec, dict):
            yield where, rec
        else:
            check.fail(where, "(record)", f"expected a JSON object, got {type(rec).__name__}", "wrong type")


def hub_rows(name: str, split: str, config: str | None = None) -> list[dict[str, Any]]:
    """Rows of a Hugging Face hub dataset (or a ``save_to_disk`` folder / parquet file).

    Offline and not cached, the error says how to get the data instead of a connection traceback.
    """
    import datasets

    path = Path(name)
    try:
        if path.is_dir():
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split]
        elif path.suffix == ".parquet":
            ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
        else:
            ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # the hub raises many types (offline, not found, gated)
        raise MedassistError(
            f"dataset {name!r} (config {config!r}, split {split!r}) could not be loaded "
            f"({exc.__class__.__name__}: {exc}). Offline, the hub is unreachable: on a machine with internet run "
            f"`datasets.load_dataset({name!r}, {config!r}, split={split!r}).to_json('FILE.jsonl')` and pass FILE.jsonl"
        ) from exc
    return [dict(row) for row in ds]


def resolve(path: str | Path) -> tuple[Path | None, str | None]:
    """A local file, or a hub id when the string looks like ``owner/name`` and no such file exists."""
    local = Path(path).expanduser()
    if local.exists():
        return local, None
    if isinstance(path, str) and HUB_ID.match(path):
        return None, path
    raise MedassistError(f"{path}: file not found (and not a hub dataset id like owner/name)")
