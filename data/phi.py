"""Rule-based PHI scrubbing for user text and log lines.

Decision support must never write what a clinician typed about a patient to a log in the clear.
These patterns cover the identifiers that appear in free-text consultations (HIPAA Safe Harbor
style: e-mails, URLs, phone numbers, record numbers, dates, names after a title or "my name is")
and replace each with a typed placeholder, so the text stays readable for debugging. It is a
safety net, not a certified de-identification tool: it errs towards over-scrubbing numbers.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_ORD = r"(?:st|nd|rd|th)?"
_NAME = r"[A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)?"

# (placeholder, pattern), applied in order: URLs before e-mails (a URL may hold an @),
# dates and record numbers before phone numbers (both are digit runs).
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("URL", re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.I)),
    ("EMAIL", re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b")),
    ("DATE", re.compile(
        r"\b\d{4}-\d{1,2}-\d{1,2}\b"
        r"|\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b"
        rf"|\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+\d{{4}})?\b"
        rf"|\b{_MONTH}\.?\s+\d{{1,2}}{_ORD}(?:,?\s+\d{{4}})?\b")),
    ("MRN", re.compile(
        r"\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?))?|patient\s+(?:id|number)|hospital\s+(?:id|number)"
        r"|NHS\s+(?:number|no\.?)|SSN)\s*[:#]?\s*[A-Z0-9][A-Z0-9\-]{3,}\b"
        r"|\b\d{3}-\d{2}-\d{4}\b"
        r"|\b[A-Z]{1,3}\d{5,}[A-Z0-9]*\b", re.I)),
    ("PHONE", re.compile(
        r"(?<![\w/])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)\s?)?\d{2,4}(?:[\s.\-]\d{2,6}){1,3}(?![\w/])")),
    # long bare numbers, but not PubMed ids cited as [12345678] or "PMID 12345678"
    ("ID", re.compile(r"(?<![\[\w])(?<!PMID )(?<!PMID: )\d{7,}(?![\]\w])")),
]
# Names keep their title so the text still reads naturally: "Dr. [NAME]".
_TITLED_NAME = re.compile(rf"\b((?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+){_NAME}")
_SELF_NAME = re.compile(rf"\b((?i:my name is|name\s*:|patient\s*:)\s+){_NAME}")


def _phone_like(match: re.Match[str]) -> bool:
    return sum(ch.isdigit() for ch in match.group(0)) >= 7


def scrub_with_counts(text: str) -> tuple[str, Counter[str]]:
    """Return the scrubbed text and how many identifiers of each kind were replaced."""
    counts: Counter[str] = Counter()
    for kind, pattern in PATTERNS:
        def replace(match: re.Match[str], kind: str = kind) -> str:
            if kind == "PHONE" and not _phone_like(match):
                return match.group(0)
            counts[kind] += 1
            return f"[{kind}]"

        text = pattern.sub(replace, text)
    for pattern in (_TITLED_NAME, _SELF_NAME):
        text, n = pattern.subn(r"\1[NAME]", text)
        counts["NAME"] += n
    return text, +counts


def scrub(text: str) -> str:
    """Replace identifiers in ``text`` with typed placeholders like ``[EMAIL]`` or ``[DATE]``."""
    return scrub_with_counts(text)[0]


class PHIFilter(logging.Filter):
    """A logging filter that scrubs every record's formatted message before any handler sees it.

    Attach it to handlers (``handler.addFilter(PHIFilter())``) so third-party loggers are covered too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True
