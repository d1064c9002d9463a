"""The philter engine: UCSF's Philter (through its maintained fork, philter-lite) for English text.

Philter is built for recall: its regexes find dates, addresses and contacts, its lists of 97,000
first names and 161,000 surnames find people, and then every word that is not on its whitelist of
195,000 ordinary and medical English words is removed too (the "catch-all"). A name that no cue,
lexicon or NER model announces goes because it is not a dictionary word, not because something
recognised it. Philter reads English only (CJK characters are punctuation to it): Chinese text is
left to the rules, and to jieba under ``philter+presidio``.

philter-lite tags parts of speech with NLTK's perceptron tagger, whose model is not on PyPI (NLTK
downloads it at run time, which an offline install cannot). The tags it needs are the Penn Treebank
ones that spaCy's English pipeline (the ``presidio`` engine's, hash-pinned in
``requirements/embedded-model.txt``) also gives, so spaCy's tagger stands in: philter-lite reads the
tags through one function, ``philter_lite.philter._get_pos``, which this module points at spaCy
(philter-lite is pinned to the version whose code this was checked against).

Philter's precision on clinical text is bought back with rules about words, not strings, each a
class of clinical text that Philter's i2b2 tuning did not meet:

- numbers are the rules' job (``phi_rules`` knows ranges, scores, decimals, PMIDs); Philter's date
  regexes take "MMSE 18/30" and "BP 142/91" for dates, and its findings with a digit are dropped;
- an eponym stays: a word before an eponym noun ("Graves disease", "Kayser-Fleischer rings",
  "Glasgow Coma Scale") or a Chinese disease word ("Behçet病"), a possessive that names a disease
  alone ("Parkinson's and Alzheimer's", "Raynaud's,"), a score's name before its value ("Apgar 8"),
  a code's before its number ("CURB-65", "HLA-B27"), an antibody after "anti-";
- a unit stays after a number or a slash ("mmol/mol", "μmol/L");
- a word in capitals is an abbreviation (DNACPR, COVID) unless Philter's surname list holds it
  ("LIU Xiaoming");
- a word in lower case is a name only if Philter's name lists hold it and its dictionary does not
  hold the word or its lemma: the catch-all otherwise takes every slang word, typo and British
  spelling ("tmrw", "mobilised"), and names typed in lower case are the rules' (cues, given names);
- a dictionary word that opens a sentence is a name only before a verb of a person ("Pat rang",
  not "Seen in clinic", "Kind regards"); the cue words of the rules (Dr, Mrs) stay.

Philter splits words at any non-ASCII letter ("Fernández" is "Fern" and "ndez" to it, "Thị" is
"Th"): a word it removes part of goes whole, and so does a capitalised word with letters outside
ASCII, which it cannot look up (its dictionary is ASCII), unless one of the rules above keeps it
("Guillain-Barré syndrome").
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from importlib import resources

from medassist.data.phi_names import AMBIGUOUS_GIVEN, PERSON_VERBS, STOP, TITLES
from medassist.data.phi_rules import EPONYM_NOUNS, Finding

PHILTER_VERSION = "0.6.0"
CONFIG = "configs/philter_delta.toml"  # philter-lite's own default filter set
_LINES = re.compile(r"[^\n]+")
# A word of Latin script (accents included), not Han: the unit Philter's findings are widened to
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f\u1e00-\u1eff]+")
_ASCII = re.compile(r"[A-Za-z0-9]")
# What follows a word, up to its eponym noun: "'s", hyphenated or capitalised parts ("-Barré", " Coma")
_COMPOUND = re.compile(r"(?:-[^\W\d_]+)*")
_COMPOUND_START = re.compile(r"(?:[^\W\d_]+-)+$")
_EPONYM_TAIL = re.compile(r"(?:['’]s?)?(?:\s+[A-Z][a-z]+){0,2}\s+([^\W\d_]+)")
_CN_EPONYM = re.compile(r"(?:['’]s?)?\s?(?:综合征|病|症|评分|征)")
# "Raynaud's, Sjögren's", "Parkinson's and Alzheimer's": a disease named by its eponym alone
_ELLIPSIS = re.compile(r"['’]s(?=\s*(?:[,.;:)/]|$)|\s+(?:and|or)\s)")
_CODE_TAIL = re.compile(r"-[A-Za-z]?\d")  # CURB-65, HLA-B27, COVID-19: a code, not a person
_SCORE_VALUE = re.compile(r"(?:\s+[A-Z]{2,5})?\s*\d")  # Apgar 8, Rockwood CFS 7
_UNIT = re.compile(r"(?i:[mμµnpu]?mol|[mμµnpk]?g|mcg|[dm]?l|m?i?u|mmhg|kpa|bpm|min|h|hrs?|[cm]m|meq|mosm)")
_AFTER_NUMBER = re.compile(r"(?:\d\s*|/)[μµ]?$")
_NEXT_WORD = re.compile(r"\W*(\w+)")
_KINDS = {"DATE": "DATE"}


def philter_missing() -> str | None:
    """Why the engine cannot run here, or None when it can."""
    try:
        import philter_lite
        import spacy  # noqa: F401
    except ImportError as exc:
        return f"no module {exc.name}"
    if philter_lite.__version__ != PHILTER_VERSION:
        return f"philter-lite {philter_lite.__version__} installed, {PHILTER_VERSION} expected (its tagger hook)"
    from medassist.data.phi_presidio import spacy_model

    if spacy_model() is None:
        return "no spaCy English pipeline installed (philter-lite's parts of speech come from it)"
    return None


class SpacyTags:
    """``nltk.pos_tag`` over philter-lite's token list (words and the spaces between them), from
    spaCy; the lemmas of the last text analysed are kept for the caller (per thread)."""

    def __init__(self) -> None:
        import spacy

        from medassist.data.phi_presidio import spacy_model

        self.nlp = spacy.load(spacy_model(), exclude=["parser", "ner", "senter"])
        self.local = threading.local()

    def analyse(self, text: str) -> tuple[list[tuple[str, str]], dict[int, str]]:
        from philter_lite.philter import _get_clean
        from spacy.tokens import Doc

        tokens = _get_clean(text)
        words = [t for t in tokens if not t.isspace()]
        doc = self.nlp(Doc(self.nlp.vocab, words=words)) if words else []
        tags, lemmas, position, parsed = [], {}, 0, iter(doc)
        for token in tokens:
            if token.isspace():
                tags.append((token, "_SP"))
            else:
                word = next(parsed)
                tags.append((token, word.tag_))
                lemmas[position] = word.lemma_.lower()
            position += len(token)
        self.local.last = (text, tags, lemmas)
        return tags, lemmas

    def __call__(self, text: str) -> list[tuple[str, str]]:
        last = getattr(self.local, "last", None)
        return last[1] if last and last[0] == text else self.analyse(text)[0]


@functools.cache
def spacy_tags() -> SpacyTags:
    """The one tagger, hooked into philter-lite (every finder shares it)."""
    import philter_lite.philter

    tags = SpacyTags()
    philter_lite.philter._get_pos = tags
    return tags


class PhilterFinder:
    """The findings of ``base`` (the rules, or the rules and Presidio) plus what Philter removes from
    English text, less the clinical words the module docstring lists."""

    def __init__(self, base: Callable[[str], Iterable[Finding]]):
        import philter_lite
        import philter_lite.philter

        self.tags = spacy_tags()
        self.philter = philter_lite
        self.filters = philter_lite.load_filters(str(resources.files("philter_lite").joinpath(CONFIG)))
        sets = {f.title: f.data for f in self.filters if isinstance(getattr(f, "data", None), set)}
        self.dictionary = sets["Whitelist 1"]
        self.surnames = sets["Lastnames Blacklist"]
        self.names = sets["Firstnames Blacklist"] | self.surnames
        self.base = base

    def _line(self, text: str, offset: int) -> Iterable[Finding]:
        _, lemmas = self.tags.analyse(text)
        include, _, tracker = self.philter.detect_phi(text, patterns=self.filters)
        kept = {i for a, b in include.filecoords() for i in range(a, b)}
        typed = [(p.start, p.stop, _KINDS[p.phi_type]) for p in tracker.phi if p.phi_type in _KINDS]
        for word in _WORD.finditer(text):
            start, end = word.span()
            removed = any(i not in kept for i in range(start, end) if text[i].isascii())
            foreign = not word.group(0).isascii() and word.group(0)[0].isupper()  # Philter saw pieces of it
            if not (removed or foreign) or self._clinical(text, start, end, lemmas.get(start)):
                continue
            kind = next((k for a, b, k in typed if a < end and start < b), "NAME")
            yield Finding(offset + start, offset + end, kind)

    def _clinical(self, text: str, start: int, end: int, lemma: str | None) -> bool:
        """The word ``text[start:end]``, which Philter removed, is not an identifier."""
        word = text[start:end]
        lower = word.lower()
        if any(ch.isdigit() for ch in word) or lower in TITLES or lower in STOP and lower not in AMBIGUOUS_GIVEN:
            return True  # numbers are the rules'; a title or role is the cue, not the name ("Husband rang")
        compound = _COMPOUND.match(text, end).end()  # Kayser-Fleischer, Guillain-Barré: one eponym
        before = _COMPOUND_START.search(text[max(0, start - 60) : start])
        tail = _EPONYM_TAIL.match(text, compound)
        if tail and _noun(tail.group(1)) in EPONYM_NOUNS or any(
                pattern.match(text, compound) for pattern in (_CN_EPONYM, _SCORE_VALUE, _ELLIPSIS, _CODE_TAIL)) \
                or _CODE_TAIL.match(text, end) or before and before.group(0).lower().startswith("anti-"):
            return True
        if _UNIT.fullmatch(word) and _AFTER_NUMBER.search(text[max(0, start - 8) : start]):
            return True
        if len(word) > 1 and word.isupper():
            return lower not in self.surnames
        if word.islower():
            return lower not in self.names or lower in self.dictionary or (lemma or lower) in self.dictionary
        if lower in self.dictionary and _opens_sentence(text, start):
            follower = _NEXT_WORD.match(text, end)
            return not (follower and follower.group(1).lower() in PERSON_VERBS)
        return False

    def _english(self, text: str) -> Iterable[Finding]:
        for line in _LINES.finditer(text):
            if _ASCII.search(line.group(0)):
                yield from self._line(line.group(0), line.start())

    def __call__(self, text: str) -> list[Finding]:
        return [*self.base(text), *self._english(text)]


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip().rstrip("\"'“‘([{-–—*•").rstrip()
    return not before or before[-1] in ".!?;:"


def _noun(word: str) -> str:
    """A noun in the singular, for the eponym list: rings -> ring, bodies -> body."""
    word = word.lower()
    return word[:-3] + "y" if word.endswith("ies") else word[:-1] if word.endswith("s") and word[:-1] in EPONYM_NOUNS \
        else word
