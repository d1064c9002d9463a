"""Recall and precision of the PHI scrubber per identifier kind, on a labelled text file.

The file holds one sentence per line with inline labels: ``<NAME>John Carter</NAME>`` marks an
identifier that must go, ``<KEEP>BP 120/80</KEEP>`` a clinical value that must survive unchanged
(``tests/fixtures/phi_labelled.txt`` is the project's own, synthetic). Scoring is by characters,
as a privacy reviewer would judge it:

- a labelled identifier is *found* when every letter or digit of it lies inside a scrubbed span
  (half a phone number left in the clear is a miss);
- a scrubbed span is *correct* when it overlaps a labelled identifier (its kind is not required to
  match: ``[ID]`` over a phone number still protects it);
- a KEEP value is *changed* when any scrubbed span overlaps it.

Record numbers of every sort are one kind, ``ID``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medassist.data.phi import find_phi
from medassist.data.phi_rules import Finding
from medassist.errors import MedassistError

KINDS = ("NAME", "DATE", "AGE", "PHONE", "EMAIL", "URL", "IP", "ID", "ADDRESS")
_TAG = re.compile(r"<(/?)([A-Z]+)>")


@dataclass
class Sentence:
    text: str
    phi: list[Finding] = field(default_factory=list)
    keep: list[Finding] = field(default_factory=list)
    line: int = 0


def parse_line(line: str, where: str) -> Sentence:
    """Strip the inline tags of one line and return the text with its labelled spans."""
    out, spans, open_tag, position = [], [], None, 0
    length = 0
    for match in _TAG.finditer(line):
        out.append(line[position : match.start()])
        length += match.start() - position
        position = match.end()
        closing, kind = match.group(1) == "/", match.group(2)
        if kind not in (*KINDS, "KEEP"):
            raise MedassistError(f"{where}: unknown label <{kind}>; expected one of {', '.join(KINDS)} or KEEP")
        if closing != (open_tag is not None) or (closing and open_tag[0] != kind):
            raise MedassistError(f"{where}: unbalanced <{'/' if closing else ''}{kind}>")
        if closing:
            spans.append(Finding(open_tag[1], length, kind))
            open_tag = None
        else:
            open_tag = (kind, length)
    if open_tag is not None:
        raise MedassistError(f"{where}: <{open_tag[0]}> is never closed")
    out.append(line[position:])
    sentence = Sentence("".join(out))
    sentence.phi = [s for s in spans if s.kind != "KEEP"]
    sentence.keep = [s for s in spans if s.kind == "KEEP"]
    return sentence


def load_labelled(path: str | Path) -> list[Sentence]:
    path = Path(path)
    if not path.is_file():
        raise MedassistError(f"{path}: labelled PHI file not found")
    sentences = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip() and not raw.lstrip().startswith("#"):
            sentence = parse_line(raw, f"{path}:{number}")
            sentence.line = number
            sentences.append(sentence)
    return sentences


def _covered(span: Finding, found: list[Finding], text: str) -> bool:
    return all(any(f.start <= i < f.end for f in found) for i in range(span.start, span.end) if text[i].isalnum())


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.start < b.end and b.start < a.end


def score(sentences: list[Sentence], engine: str | None = None) -> dict[str, Any]:
    """Per kind: labelled, found, recall; scrubbed, correct, precision; plus KEEP values changed."""
    table = {k: {"labelled": 0, "found": 0, "scrubbed": 0, "correct": 0} for k in KINDS}
    misses: list[str] = []
    false_alarms: list[str] = []
    changed: list[str] = []
    for s in sentences:
        found = find_phi(s.text, engine)
        for span in s.phi:
            table[span.kind]["labelled"] += 1
            if _covered(span, found, s.text):
                table[span.kind]["found"] += 1
            else:
                misses.append(f"line {s.line}: {span.kind} {s.text[span.start:span.end]!r}")
        for f in found:
            kind = f.kind if f.kind in table else "ID"
            table[kind]["scrubbed"] += 1
            if any(_overlaps(f, span) for span in s.phi):
                table[kind]["correct"] += 1
            else:
                false_alarms.append(f"line {s.line}: {f.kind} {s.text[f.start:f.end]!r}")
        changed += [f"line {s.line}: {s.text[k.start:k.end]!r}" for k in s.keep if any(_overlaps(f, k) for f in found)]
    for row in table.values():
        row["recall"] = round(row["found"] / row["labelled"], 3) if row["labelled"] else None
        row["precision"] = round(row["correct"] / row["scrubbed"], 3) if row["scrubbed"] else None
    labelled = sum(r["labelled"] for r in table.values())
    scrubbed = sum(r["scrubbed"] for r in table.values())
    overall = {"recall": round(sum(r["found"] for r in table.values()) / max(1, labelled), 3),
               "precision": round(sum(r["correct"] for r in table.values()) / max(1, scrubbed), 3)}
    keep_total = sum(len(s.keep) for s in sentences)
    return {"sentences": len(sentences), "kinds": table, "overall": overall,
            "keep": {"values": keep_total, "changed": len(changed)},
            "misses": misses, "false_alarms": false_alarms, "changed": changed}


def clinical_text_lost(texts: list[str], engine: str | None = None) -> dict[str, Any]:
    """What the scrubber takes from texts that hold no identifier but ages (MedQA's vignettes): every span
    is clinical text lost ("Gait is slow" scrubbed as a name). Ages are left out: a vignette's 92-year-old
    is an identifier under Safe Harbor. Only the spans are kept, never their text around them."""
    kinds: Counter[str] = Counter()
    spans: Counter[str] = Counter()
    touched = 0
    for text in texts:
        found = [f for f in find_phi(text, engine) if f.kind != "AGE"]
        touched += bool(found)
        for f in found:
            kinds[f.kind] += 1
            spans[f"{f.kind} {text[f.start:f.end]!r}"] += 1
    return {"texts": len(texts), "texts_touched": touched, "spans": sum(kinds.values()), "kinds": dict(kinds),
            "most_common": spans.most_common(20)}


def markdown_table(report: dict[str, Any]) -> str:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = ["| kind | labelled | recall | scrubbed | precision |", "|---|---:|---:|---:|---:|"]
    for kind, row in report["kinds"].items():
        lines.append(f"| {kind} | {row['labelled']} | {fmt(row['recall'])} | {row['scrubbed']} | "
                     f"{fmt(row['precision'])} |")
    overall, keep = report["overall"], report["keep"]
    lines.append(f"| all | {sum(r['labelled'] for r in report['kinds'].values())} | {fmt(overall['recall'])} | "
                 f"{sum(r['scrubbed'] for r in report['kinds'].values())} | {fmt(overall['precision'])} |")
    lines.append(f"\n{report['sentences']} sentences; clinical values changed: {keep['changed']} of {keep['values']}")
    return "\n".join(lines)
