"""PubMedQA loader: ``ori_pqal.json`` (dict keyed by PMID, upper-case fields) and the Hugging Face
``pubmedqa``/``pqa_labeled`` rows (``pubid, question, context{contexts, labels, meshes}, long_answer,
final_decision``) from a hub id or a JSON/JSONL export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medassist.data.answers.pubmedqa_decision import PUBMEDQA_DECISIONS
from medassist.data.records import PubMedQAItem
from medassist.data.validation import Checker, Problems, hub_rows, iter_dict_records, resolve


def _str_list(obj: dict[str, Any], name: str, where: str, check: Checker, required: bool = True) -> list[str] | None:
    value = check.get(obj, name, where, list, required=required)
    if value is None:
        return None if required else []
    if not all(isinstance(v, str) for v in value):
        check.fail(where, name, "expected a list of strings", "wrong type")
        return None
    return value


def parse_pubmedqa(obj: dict[str, Any], where: str, check: Checker) -> PubMedQAItem | None:
    if "QUESTION" in obj:  # ori_pqal.json: the PMID is the key
        pmid = where.removeprefix("key ")
        fields = {"question": "QUESTION", "contexts": "CONTEXTS", "labels": "LABELS", "meshes": "MESHES",
                  "year": "YEAR", "decision": "final_decision", "long_answer": "LONG_ANSWER"}
        context = obj
    else:  # HF pqa_labeled row
        pmid = str(obj.get("pubid", ""))
        if not pmid:
            check.fail(where, "pubid", "missing (required)", "missing field")
            return None
        context = check.get(obj, "context", where, dict)
        if context is None:
            return None
        fields = {"question": "question", "contexts": "contexts", "labels": "labels", "meshes": "meshes",
                  "year": "year", "decision": "final_decision", "long_answer": "long_answer"}
    question = check.get(obj, fields["question"], where)
    contexts = _str_list(context, fields["contexts"], where, check)
    labels = _str_list(context, fields["labels"], where, check, required=False)
    meshes = _str_list(context, fields["meshes"], where, check, required=False)
    decision = check.get(obj, fields["decision"], where)
    long_answer = check.get(obj, fields["long_answer"], where, required=False) or ""
    if None in (question, contexts, labels, meshes, decision):
        return None
    if decision not in PUBMEDQA_DECISIONS:
        check.fail(where, fields["decision"], f"expected yes, no or maybe, got {decision!r}", "bad answer")
        return None
    year = obj.get(fields["year"])
    return PubMedQAItem(pmid=pmid, question=question, contexts=contexts, labels=labels, meshes=meshes,
                        year=str(year) if year is not None else None, final_decision=decision,
                        long_answer=long_answer)


def load_pubmedqa(path: str | Path, *, problems: Problems | None = None, split: str = "train",
                  config: str = "pqa_labeled") -> list[PubMedQAItem]:
    """PubMedQA from ``ori_pqal.json``, a JSON/JSONL of HF rows, or a hub id (``qiaojin/PubMedQA``)."""
    local, hub_id = resolve(path)
    check = Checker(path, problems)
    if hub_id is not None or local.is_dir() or local.suffix == ".parquet":
        records = ((f"row {i}", row) for i, row in enumerate(hub_rows(str(path), split, config)))
    else:
        records = iter_dict_records(local, check)
    return [item for where, obj in records if (item := parse_pubmedqa(obj, where, check)) is not None]
