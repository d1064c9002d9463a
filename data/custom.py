"""A user's own data: classification rows (``text,label`` in CSV or JSONL) or chat records
(``{"messages": [{"role", "content"}, ...]}`` in JSONL), validated like the public datasets."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from medassist.data.phi import scrub_with_counts
from medassist.data.records import CustomItem
from medassist.data.validation import Checker, Problems, iter_dict_records, open_text

ROLES = ("system", "user", "assistant")


def parse_custom(obj: dict[str, Any], where: str, check: Checker, item_id: str,
                 text_field: str = "text", label_field: str = "label") -> CustomItem | None:
    if "messages" in obj:
        messages = check.get(obj, "messages", where, list)
        if messages is None:
            return None
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES \
                    or not isinstance(message.get("content"), str):
                check.fail(where, f"messages[{i}]", f"expected {{'role': one of {ROLES}, 'content': str}}",
                           "bad message")
                return None
        if not any(m["role"] == "assistant" for m in messages):
            check.fail(where, "messages", "needs at least one assistant turn to learn from", "bad message")
            return None
        return CustomItem(id=item_id, messages=[{"role": m["role"], "content": m["content"]} for m in messages])
    text = check.get(obj, text_field, where)
    label = obj.get(label_field)
    if isinstance(label, int | float) and not isinstance(label, bool):
        label = str(label)
    if label is None or not isinstance(label, str) or not label.strip():
        check.fail(where, label_field, "missing or empty label", "missing field")
        return None
    if text is None:
        return None
    return CustomItem(id=item_id, text=text, label=label.strip())


def load_custom(path: str | Path, *, problems: Problems | None = None, text_field: str = "text",
                label_field: str = "label") -> list[CustomItem]:
    """Rows of a CSV (header with ``text_field`` and ``label_field``) or a JSON/JSONL file."""
    path = Path(path)
    check = Checker(path, problems)
    stem = path.name.split(".")[0]
    items = []
    if ".csv" in [s.lower() for s in path.suffixes]:
        with open_text(path) as handle:
            reader = csv.DictReader(handle)
            missing = [f for f in (text_field, label_field) if f not in (reader.fieldnames or [])]
            if missing:
                check.fail("line 1", ",".join(missing), f"missing column(s); header is {reader.fieldnames}",
                           "missing field")
                return []
            for index, row in enumerate(reader):
                item = parse_custom(row, f"line {reader.line_num}", check, f"{stem}-{index}", text_field,
                                    label_field)
                if item is not None:
                    items.append(item)
        return items
    for index, (where, obj) in enumerate(iter_dict_records(path, check)):
        item = parse_custom(obj, where, check, str(obj.get("id", f"{stem}-{index}")), text_field, label_field)
        if item is not None:
            items.append(item)
    return items


def scrub_custom(items: list[CustomItem]) -> Counter[str]:
    """Replace identifiers in a user's texts and chat turns, in place, before anything trains on
    them (``medassist data build --source custom``, custom sources of ``medassist sft``); labels stay."""
    counts: Counter[str] = Counter()
    for item in items:
        if item.text is not None:
            item.text, found = scrub_with_counts(item.text)
            counts += found
        for message in item.messages or []:
            message["content"], found = scrub_with_counts(message["content"])
            counts += found
    return counts
