"""MedQA (USMLE) and MedMCQA multiple-choice loaders.

Layouts read:
- jind11/MedQA JSONL (``question, options{A..E|A..D}, answer, answer_idx, meta_info``), also as a
  JSON array (the 4-option train subsets) and with extra fields (``metamap_phrases`` ...);
- the Hugging Face ``GBaker/MedQA-USMLE-4-options`` rows (same fields) and ``bigbio``-style
  ``options: [{"key", "value"}]`` lists, by hub id or a local JSONL/parquet export;
- MedMCQA release JSON lines (``opa..opd``, ``cop`` 1-4; 0-3 when read from the hub) and the
  MedAgentsBench layout (``options`` dict + ``answer_idx`` + ``realidx``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medassist.data.records import MCQItem
from medassist.data.validation import Checker, Problems, hub_rows, iter_dict_records, resolve
from medassist.io import sha256_text


def _options(obj: dict[str, Any], where: str, check: Checker) -> dict[str, str] | None:
    raw = obj.get("options")
    if isinstance(raw, list) and all(isinstance(o, dict) and {"key", "value"} <= o.keys() for o in raw):
        raw = {str(o["key"]): o["value"] for o in raw}
    if isinstance(raw, dict):  # Arrow structs give 4-option rows an "E": None
        raw = {k: v for k, v in raw.items() if v is not None}
    if raw is None:
        check.fail(where, "options", "missing (required)", "missing field")
        return None
    if not isinstance(raw, dict) or not 2 <= len(raw) <= 10:
        check.fail(where, "options", "expected an object of 2-10 lettered options like {'A': ..., 'B': ...}",
                   "wrong type")
        return None
    bad = [k for k, v in raw.items() if not (len(k) == 1 and k.isalpha() and isinstance(v, str) and v.strip())]
    if bad:
        check.fail(where, "options", f"option keys must be single letters with non-empty text (bad: {bad})",
                   "bad option")
        return None
    return {k.upper(): v for k, v in raw.items()}


def _item(obj: dict[str, Any], options: dict[str, str] | None, answer_idx: Any, where: str, check: Checker,
          source: str, item_id: str | None, answer: str | None = None) -> MCQItem | None:
    question = check.get(obj, "question", where)
    if question is None or options is None:
        return None
    if not isinstance(answer_idx, str) or answer_idx.upper() not in options:
        check.fail(where, "answer_idx", f"expected one of {sorted(options)}, got {answer_idx!r}", "bad answer")
        return None
    answer_idx = answer_idx.upper()
    if answer is not None and answer.strip() != options[answer_idx].strip():
        check.fail(where, "answer", f"{answer!r} is not the text of option {answer_idx} "
                   f"({options[answer_idx]!r})", "answer mismatch")
        return None
    meta = obj.get("meta_info")
    return MCQItem(id=item_id or f"{source}-{sha256_text(question)[:12]}", question=question, options=options,
                   answer_idx=answer_idx, answer=options[answer_idx],
                   meta_info=meta if isinstance(meta, str) else None, source=source)


def parse_medqa(obj: dict[str, Any], where: str, check: Checker) -> MCQItem | None:
    options = _options(obj, where, check)
    answer = check.get(obj, "answer", where, required=False)
    item_id = obj.get("id")
    return _item(obj, options, obj.get("answer_idx"), where, check, "medqa",
                 str(item_id) if item_id is not None else None, answer)


def parse_medmcqa(obj: dict[str, Any], where: str, check: Checker, cop_base: int = 1) -> MCQItem | None:
    if "opa" in obj:  # release layout
        options = {}
        for letter, key in zip("ABCD", ("opa", "opb", "opc", "opd"), strict=True):
            text = check.get(obj, key, where)
            if text is None:
                return None
            options[letter] = text
        cop = obj.get("cop")
        if not isinstance(cop, int) or not cop_base <= cop < cop_base + 4:
            check.fail(where, "cop", f"expected an integer {cop_base}-{cop_base + 3} (correct option), got {cop!r}",
                       "bad answer")
            return None
        answer_idx = "ABCD"[cop - cop_base]
        answer = None
    else:  # MedAgentsBench layout
        options = _options(obj, where, check)
        answer_idx = obj.get("answer_idx")
        answer = check.get(obj, "answer", where, required=False)
    item_id = obj.get("id") or obj.get("realidx")
    item = _item(obj, options, answer_idx, where, check, "medmcqa", str(item_id) if item_id else None, answer)
    if item is not None:
        subject = obj.get("subject_name")
        item.meta_info = subject if isinstance(subject, str) else None
    return item


def _load(path: str | Path, parse: Any, problems: Problems | None, split: str, config: str | None,
          **kwargs: Any) -> list[MCQItem]:
    local, hub_id = resolve(path)
    check = Checker(path, problems)
    if hub_id is not None or (local is not None and (local.is_dir() or local.suffix == ".parquet")):
        rows = enumerate(hub_rows(str(path), split, config))
        records = ((f"row {i}", row) for i, row in rows)
    else:
        records = iter_dict_records(local, check)
    return [item for where, obj in records if (item := parse(obj, where, check, **kwargs)) is not None]


def load_medqa(path: str | Path, *, problems: Problems | None = None, split: str = "train") -> list[MCQItem]:
    """MedQA from a jind11 JSONL/JSON file, a local HF export, or a hub id such as
    ``GBaker/MedQA-USMLE-4-options`` (``split`` applies to hub ids and saved datasets)."""
    return _load(path, parse_medqa, problems, split, None)


def load_medmcqa(path: str | Path, *, problems: Problems | None = None, split: str = "validation",
                 cop_base: int | None = None) -> list[MCQItem]:
    """MedMCQA from the release JSON lines, the MedAgentsBench JSONL, or a hub id such as
    ``openlifescienceai/medmcqa``. ``cop`` is 1-based in the release files and 0-based (a
    ClassLabel) in the hub dataset; by default files are read as 1-based and hub/parquet/saved
    datasets as 0-based, pass ``cop_base`` for a JSON export of hub rows."""
    local, _hub = resolve(path)
    if cop_base is None:
        cop_base = 1 if local is not None and local.is_file() and local.suffix != ".parquet" else 0
    return _load(path, parse_medmcqa, problems, split, None, cop_base=cop_base)
