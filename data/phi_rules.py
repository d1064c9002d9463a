"""Pattern rules for the identifiers that follow a shape: contacts, dates, ages over 89, record
numbers, addresses, in English and Chinese.

Every rule yields ``Finding`` spans over the original text; ``medassist.data.phi`` merges them
with the name finder's (and an NER engine's, when installed). Two choices run through all of them:

- Boundaries are ASCII (``(?<![A-Za-z0-9])``), not ``\\b``: Python counts CJK characters as word
  characters, so ``\\b`` never fires inside ``电话13812345678`` and the number would be kept.
- A number glued to a decimal point is a measurement, not a date or phone: ``WBC 12.5-15.0`` and
  ``INR 2.0-3.0`` must come through unchanged, so no digit rule starts or ends next to ``.\\d``.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from medassist.data.phi_places import CARE_AREAS, english_words, state_level_names, towns


@dataclass(frozen=True)
class Finding:
    """``text[start:end]`` is an identifier of ``kind`` (NAME, DATE, AGE, PHONE, EMAIL, URL, IP, ID, ADDRESS)."""

    start: int
    end: int
    kind: str


_L = r"(?<![A-Za-z0-9])"  # ASCII word start (see the module docstring)
_R = r"(?![A-Za-z0-9])"
_NUM_L = r"(?<![A-Za-z0-9.])"  # ... and not the tail of a decimal
_NUM_R = r"(?![A-Za-z0-9]|[.,]\d)"
# Phones, numeric dates and national ids are found even when glued to letters ("555-123-4567John"):
# only another digit or a decimal point next to them says they are something else.
_DIG_L = r"(?<!\d)(?<!\d[.,])"
_DIG_R = r"(?!\d|[.,]\d)"
_HAN = "\u4e00-\u9fff"
_KANA = "\u3040-\u30ff"  # hiragana and katakana

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"
_WEEKDAY_NAME = r"(?:mon|tues?|wed(?:nes)?s?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"  # inside (?i:)
_ORD_WORD = (r"(?:(?:twenty|thirty)[-\s]?)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
             r"|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
             r"|nineteenth|twentieth|thirtieth")
_ORD = r"(?:st|nd|rd|th)?"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON_NUM = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"

# Languages whose month names a clinic here may see in a letter or a translated record.
DATE_LOCALES = ("fr", "de", "es", "pt", "it", "nl", "tr", "ms", "id", "af", "pl", "sv", "da", "nb", "ro", "cy", "ga",
                "tl", "sw")


def _foreign_months() -> str:
    """Month names (wide and abbreviated, in dates and alone) of ``DATE_LOCALES``, from CLDR through
    Babel, as a regex alternation, longest first; English ones are ``_MONTH``'s."""
    from babel.dates import get_month_names

    names = {name.rstrip(".") for locale in DATE_LOCALES for width in ("wide", "abbreviated")
             for context in ("format", "stand-alone") for name in get_month_names(width, context, locale).values()}
    return "|".join(re.escape(name) for name in sorted(names, key=lambda n: (-len(n), n)) if len(name) >= 3)


def _foreign_weekdays() -> str:
    """Weekday names (wide and abbreviated) of ``DATE_LOCALES``, from CLDR through Babel, longest first."""
    from babel.dates import get_day_names

    names = {name.rstrip(".") for locale in DATE_LOCALES for width in ("wide", "abbreviated")
             for context in ("format", "stand-alone") for name in get_day_names(width, context, locale).values()}
    return "|".join(re.escape(name) for name in sorted(names, key=lambda n: (-len(n), n)) if len(name) >= 3)


_DOSE_WORD = r"(?:mg|mcg|ml|g|kg|units?|tabs?|caps?|times|days?|weeks?|hours?|mins?|x|of)\b"
# Cues before a day and month written without a year in another language: "le 9 mars", "el 12 de
# enero", "am 16. Dezember", "op dinsdag 8 december", "giovedì 10 settembre"
_FOREIGN_ARTICLE = r"(?i:le|el|am|op|il|em|dia|du|del|au|vom|den)"
_FOREIGN_WEEKDAY = rf"(?i:{_foreign_weekdays()})\.?,?\s+"
_CN_WEEKDAY = r"(?:\s?[（(]?(?:星期|礼拜|禮拜|周|週)[一二三四五六日天][）)]?)?"
_CN_DAY_WORD = "[一二三四五六七八九十]{1,3}"

_DATE = re.compile(
    "|".join([
        # 2024-03-19, 1961/03/15 (one separator throughout)
        rf"{_DIG_L}{_YEAR}([-/.]){_MON_NUM}\1{_DAY}{_DIG_R}",
        # 12/03/2024, 05.11.2025, 01/02/23 (day/month either way round)
        rf"{_DIG_L}(?:{_DAY}([-/.]){_DAY}\2(?:{_YEAR}|\d\d)){_DIG_R}",
        # 15-Mar-1961, 15 MAR 61; written as one word, as labs and forces do: 07DEC2026, 15Mar61
        rf"{_L}{_DAY}[-\s/.](?i:{_MONTH})[-\s/.](?:{_YEAR}|\d\d){_R}",
        rf"{_L}{_DAY}(?i:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)(?:{_YEAR}|\d\d){_R}",
        # Monday 6 January 2025, 3 March 1961, 4th of July, 14 August, 2-6 January 2026
        rf"{_L}{_WEEKDAY}(?:the\s+)?(?:{_DAY}\s?[-–]\s?)?{_DAY}{_ORD}\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+{_YEAR})?{_R}",
        # the 3rd of march, 12th feb: a lower-case month after an ordinal; after a plain day any month
        # but may and march ("12 june", "5 dec"; "12 may be" and "3 march" are no dates)
        rf"{_L}(?:the\s+)?{_DAY}(?:st|nd|rd|th)\s+(?:of\s+)?(?i:{_MONTH})(?:,?\s+{_YEAR})?{_R}",
        rf"{_L}{_DAY}\s+(?!(?i:may|mar))(?i:{_MONTH})\.?(?:,?\s+{_YEAR})?{_R}",
        # the twenty-third of June, the first of may
        rf"(?i:{_L}(?:the\s+)?(?:{_ORD_WORD})\s+of\s+{_MONTH}(?:,?\s+{_YEAR})?{_R})",
        # March 3rd, 2024; Feb 14; Jan 5
        rf"{_L}{_WEEKDAY}{_MONTH}\.?\s+{_DAY}{_ORD}(?:,?\s+{_YEAR})?{_R}",
        # March 2023, Sept 2021, nov 2026, mid-August 2026 (month and year: still a date under Safe Harbor)
        rf"{_L}(?i:(?:early|mid|late)[-\s])?(?i:{_MONTH})\.?,?\s+{_YEAR}{_R}",
        # 08/2027, 09/2031 (a two-digit month and a year: an expiry, a month seen)
        rf"{_DIG_L}(?:0[1-9]|1[0-2])/(?:19|20)\d\d{_DIG_R}",
        # jan 15, sept 3rd (lower case; not may or mar: "may 5 be", "mar 2")
        rf"{_L}(?!(?i:may|mar){_R})(?i:{_MONTH})\.?\s+{_DAY}{_ORD}(?:,?\s+{_YEAR})?"
        rf"(?!\d|[.,:]\d|\s*(?i:{_DOSE_WORD}|puffs?|drops?|doses?|lines?))",
        # Christmas Eve, Boxing Day, New Year's Day
        rf"{_L}(?:Christmas\s+(?:Eve|Day)|Boxing\s+Day|New\s+Year['’]?s\s+(?:Eve|Day))(?:\s+{_YEAR})?{_R}",
        # 30 août 1972, 9. Mai 1941, 2 de diciembre de 2026, 1 Ocak 1979: a day, a month in another
        # language (CLDR), a year
        rf"{_L}{_DAY}\.?\s+(?:de\s+)?(?i:{_foreign_months()})\.?,?\s+(?:de\s+)?{_YEAR}{_R}",
        # ... and without the year after a cue or a weekday ("le 9 mars", "Mittwoch, 16. Dezember"), or
        # before a weekday ("3 Mart Salı")
        # (a weekday is looked up only where a word is followed by a number: the alternation is long)
        rf"(?:{_L}{_FOREIGN_ARTICLE}\s+|{_L}(?=[^\W\d_][^\s\d]{{2,}}\s+\d)(?={_FOREIGN_WEEKDAY}))"
        rf"(?P<g>(?:{_FOREIGN_WEEKDAY})?{_DAY}(?:er|º|ª|\.)?\s+(?:de\s+)?(?i:{_foreign_months()})"
        rf"(?:\.?,?\s+(?:de\s+)?{_YEAR})?){_R}",
        rf"{_L}{_DAY}\.?\s+(?i:{_foreign_months()})\s+(?i:{_foreign_weekdays()}){_R}",
        # on 3/4, since 12/05, dated 3/4 (day and month alone: a fraction or a duration such as 3/7
        # without the cue)
        rf"(?i:{_L}(?:on|dated|since|until|till|from|due|reviewed|seen|admitted|discharged|attended|LMP|le|el|am"
        rf"|{_WEEKDAY_NAME})\.?,?\s+)"
        rf"(?P<v>{_DAY}/{_DAY})(?![/\d]|[.,]\d|(?i:\s*(?:dose|strength|tab|of)))",
        # 14/08, 26/12, 12/03: a day above 12 or a zero-padded month is a date, not a fraction or a score;
        # but x/7 is days in UK notes ("a 14/7 history", "24/7 care")
        rf"{_DIG_L}(?:(?:1[3-9]|2\d|3[01])/(?!7(?!\d)){_MON_NUM}|{_DAY}/0[1-9])(?![/\d]|[.,]\d)",
        # Mon 3rd, Sunday the 12th, Weds 14th, tues 17th; on the 5th, till the 19th
        rf"(?i:{_L}{_WEEKDAY_NAME}\.?,?\s+(?:the\s+)?{_DAY}(?:st|nd|rd|th)(?:\s+(?:of\s+)?{_MONTH})?{_R})",
        rf"(?i:{_L}(?:on|till|until|since|by|from|before|after)\s+)(?P<w>(?:the\s+)?{_DAY}(?:st|nd|rd|th)){_R}"
        rf"(?!\s+(?:of\s+)?(?i:{_MONTH}))",
        # "admitted the 6th.", "the 3rd at 10am": an ordinal day ending its phrase (not "the 3rd dose")
        rf"(?i:{_L}(?:the\s+)){_DAY}(?:st|nd|rd|th)(?=\s*(?:[.,;:!?)]|$)|\s+(?:at|when|by|from|until|till)\s)",
        # Mar-21, Aug '19, Nov '24
        rf"{_L}{_MONTH}(?:[-'’]|\s[’'])\s?\d\d{_R}",
        # 1929年农历八月十五, 农历正月初三
        rf"(?:{_YEAR}年)?农历[正一二三四五六七八九十冬腊]{{1,2}}月[初十廿三]?[一二三四五六七八九十]",
        # 上月15日, 10号 after a time or a person (not 3号楼, 10号床)
        # ("痛咗2日", "持续3日", "3日前" are durations)
        rf"(?:上个?月|本月|下个?月|这个月)?{_NUM_L}(?<!月)(?<![咗了过過续續共第每近约約几幾]){_DAY}日(?![前后後内內以])"
        rf"|(?:(?<=[我在于])|上个?月|本月|下个?月|这个月){_DAY}号(?![床楼室线门])",
        # 2024年3月15日, 2023年6月, 去年12月3日, 3月19日
        rf"(?:(?:去年|今年|前年|明年)?{_NUM_L}{_YEAR}年{_MON_NUM}月(?:{_DAY}[日号])?"
        rf"|(?:去年|今年|前年|明年)?{_NUM_L}{_MON_NUM}月{_DAY}[日号]|(?:去年|今年|前年|明年){_MON_NUM}月){_CN_WEEKDAY}",
        # 十一月三十日, 令和8年3月5日 (Japan's era years)
        rf"(?<![〇零一二三四五六七八九十])[一二三四五六七八九十]{{1,2}}月{_CN_DAY_WORD}[日号]{_CN_WEEKDAY}",
        rf"(?:令和|平成|昭和)\s?(?:\d{{1,2}}|元)年{_MON_NUM}月(?:{_DAY}日)?",
        # 二〇二二年七月九日, 二〇二七年三月; 民國115年2月3日 and 115/09/12 (Taiwan's Minguo years)
        r"[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?",
        rf"民[國国]\s?(?:\d{{2,3}}|[一二三四五六七八九十百]{{1,4}})年(?:{_MON_NUM}|[一二三四五六七八九十]{{1,2}})月"
        rf"(?:(?:{_DAY}|{_CN_DAY_WORD})[日号])?",
        rf"{_DIG_L}1[01]\d/(?:0[1-9]|1[0-2])/(?:0[1-9]|[12]\d|3[01]){_DIG_R}",
    ]))

# A clock time next to a date belongs to it: "14/03/2026 02:40", "2026-05-17T23:52", "11/30/2026 9:14 PM UTC",
# "2026年2月3日23:40", "2026年10月30日 03时12分", "09:20 on 02/09/2026"; and so does its weekday ("Thu 05/11/2026").
_CLOCK = r"(?:[01]?\d|2[0-3])[:：][0-5]\d(?::[0-5]\d)?(?:\s?(?i:[ap]\.?m\.?))?"
_ZONE = r"(?:\s?(?:UTC|GMT|BST|CET|CEST|EST|EDT|CST|CDT|PST|PDT|AEST|AEDT|IST|JST|HKT|Z)(?![A-Za-z]))?"
_TIME_TAIL = re.compile(rf"(?:,?\s*(?:at\s+)?|T){_CLOCK}(?!\d|:\d|[.,]\d){_ZONE}"
                        r"|\s*(?:凌晨|上午|下午|晚上|中午|早上)?\s*\d{1,2}[时時点點](?:\d{1,2}分|半)?")
# What goes with a date before it: a clock time and a weekday ("Tues 14:00 on 3 March"), a range's first day
# ("1st to 7th December", "17th–19th November"), a Chinese weekday before the date in brackets (下周一（2月9日）)
_BEFORE_DATE = re.compile(rf"(?i:(?:{_L}{_CLOCK}\s+(?:on\s+)?)?{_L}{_WEEKDAY_NAME}\.?,?\s+(?:the\s+)?"
                          rf"|{_L}{_CLOCK}\s+(?:on\s+)?)\Z"
                          rf"|{_NUM_L}{_DAY}(?:st|nd|rd|th)?\s*(?:to|until|till|[-–—])\s*\Z"
                          r"|(?:下|上|本|这|這)?(?:周|週|星期|礼拜|禮拜)[一二三四五六日天][（(]\Z")

_STREET_SUFFIX = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Parkway|Pkwy|Way|Court|Ct|Place|Pl"
                  r"|Close|Crescent|Terrace|Square|Row|Hill|Gardens|Grove|Walk|Mews|Highway|Hwy|Approach|Parade"
                  r"|View|Quay|Rise|Wynd|Esplanade|Circle|Cir|Cres|Pde|Tce|Gdns|Sq|Hwy"
                  # Indian roads and localities: Kamaraj Salai, MG Marg, Anna Nagar, Sai Krupa Society
                  r"|Salai|Marg|Nagar|Colony|Layout|Society")
# Streets named before their number (Rua das Flores 218, Via dei Mille 14, Calle Mayor 5, Jalan Ampang
# 88) and French-style number-first ones (4 boulevard Voltaire, 1187 Rue Saint-Denis)
_CARE_AREA = "(?:" + "|".join(CARE_AREAS) + ")"
_STREET_FIRST = (r"rua|via|viale|corso|calle|carrer|avenida|avda\.?|av\.|rue|boulevard|bd\.?|allée|chemin|piazza|plaza"
                 r"|praça|largo|jalan|jln\.?|jl\.|lorong|travessa|paseo|camino|ulica|ul\.|os\.|sráid|strada|stradă|c/")
_OLD = r"(9\d|1[01]\d)"  # over 89: the ages Safe Harbor names
_NOT_AGE = r"(?:%|/|\.\d|(?:kg|g|lbs?|mg|mcg|ml|mmhg|cm|mm|bpm|beats|percent|mins?|minutes|degrees|units)(?![A-Za-z]))"
# Words for "years" after an age in the languages of DATE_LOCALES' clinics: 93 años, 93 ans, 93 Jahre,
# 93 anni, 93 anos, 93 jaar, 93 lat, 93 yaşında, 93 tahun, 93 taon, 93 år.
_YEARS_ABROAD = r"(?:años|anos|ans|jahre?n?|jährige[rn]?|j\.|anni|jaar|lata?|yaş\w*|tahun|taon|år|ár|aastat|tuổi)"
# ... and in words: "ninety-two year old", "I'm ninety-three", "aged one hundred and one"
_OLD_WORDS = (r"((?i:ninety(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine))?"
              r"|(?:a|one)\s+hundred(?:\s+and\s+(?:one|two|three|four|five|six|seven|eight|nine|ten))?))")
_AGE = re.compile(
    "|".join([
        # 92-year-old, 94 years old, 90 y/o, 99 yo, 93 y.o., 93-yr-old, 92岁, 93歳
        rf"{_NUM_L}{_OLD}(?=\s*[-–‑]?\s*(?i:years?[-–‑\s]old|year[-–‑]old|yrs?\.?[-–‑\s]old|y[./-]?/?o\.?{_R}|yo{_R})"
        rf"|\s*[周週]?[岁歲歳세])",
        rf"{_L}{_OLD_WORDS}(?=[-\s](?i:years?[-\s]old|year[-\s]old){_R})",
        rf"(?i:{_L}(?:aged?|i['’]?m|i\s+am|(?:he|she)(?:['’]s|\s+is|\s+was)|turned|turns|reached)\s+){_OLD_WORDS}{_R}"
        r"(?!\s+(?i:percent|per\s+cent|minutes|mins|seconds|kg|pounds|degrees|times))",
        # 奶奶94了, 阿婆 96 岁: a relative, then the age
        rf"(?<=[奶爷爺婆公妈媽爸伯叔姨她他])\s?{_OLD}(?=\s?[了岁歲])",
        # Ah Kow 伯伯，91，住: an honorific between commas
        rf"(?<=[伯婆公爷爺奶叔姨生士太][，,])\s?{_OLD}(?=\s?[，,。])",
        # 九十三岁, 一百零二歲, 今年九十五了
        r"(九十[一二三四五六七八九]?|一百(?:零[一二三四五六七八九]|一十?[一二三四五六七八九]?)?)(?=\s?(?:[周週]?[岁歲歳]|了))"
        r"|(?<=今年)(九十[一二三四五六七八九]?|一百(?:零[一二三四五六七八九]|一十?[一二三四五六七八九]?)?)",
        # "he is 100", "my mum was 97", "(Edna) is 98 next week", "husband 93 with new confusion",
        # "she 92 this year", "turned 95": a person, then the age
        rf"(?i:{_L}(?:he|she|who|mum|mom|mother|dad|father|nan|nana|gran|granny|grandma|grandpa|grandmother"
        rf"|grandfather|patient|pt|husband|wife|partner|mother-in-law|father-in-law)\s+(?:is\s+|was\s+|turns\s+"
        rf"|turned\s+|will\s+be\s+)?"
        rf"|{_L}(?:he|she)(?:['’]?s|\s+is)\s+(?:now\s+|nearly\s+|almost\s+)?"
        rf"|{_L}(?:turned|turns|turning|celebrat(?:ed|es|ing)|reached)\s+(?:(?:his|her|their)\s+)?"
        # "i am 92", "I'll be 100 on the 14th"
        rf"|{_L}(?:i\s+am|i['’]?m|(?:i|he|she)['’]?ll\s+be)\s+){_OLD}{_NUM_R}"
        rf"(?!\s*{_NOT_AGE})",
        # "Zainab is 101", "(Edna) is 98": a capitalised word, a bracket or a name already found (masked: see
        # ``phi.find_phi``), then the age; not a measure ("Pulse is 96", "HR is 92")
        rf"(?:\)|\x00|{_L}(?!(?:The|This|It|That|Score|Pulse|Weight|Temp\w*|Sat\w*|Glucose|Rate|Heart|BP)\s)"
        rf"[A-Z][a-z'’\-]+)\s+is\s+{_OLD}{_NUM_R}(?!\s*{_NOT_AGE})",
        # "At 103 she is the oldest"
        rf"(?i:{_L}at\s+){_OLD}(?=\s+(?:she|he)\s)",
        # "Dorothy Lane 104, then Ivy Marsh 98.": two capitalised words, then the age (not an index or a score)
        # ("Rua Augusta 100," and "Kings Road 92." are addresses)
        rf"{_L}(?!(?i:{_STREET_FIRST})\s)[A-Z][a-z'’\-]+\s(?!(?:Index|Score|Scale|Sats|Air|Rate|{_STREET_SUFFIX})\s)"
        rf"[A-Z][a-z'’\-]+\s{_OLD}(?=[,.;)](?!\d))",
        # "Beryl Hutchins (95)": a capitalised name, then the age alone in brackets
        rf"[A-Z][a-z]+\s\({_OLD}\)",
        # aged 101, age: 96, aet. 93, 年龄：101, 年齡 93, 享年93, 高龄93
        rf"(?i:{_L}(?:aged?|aet|age\s+of|age\s+at\s+(?:death|admission|diagnosis|presentation))\.?\s*[:：|]?\s*)"
        rf"{_OLD}{_NUM_R}",
        # "born 1931 (93)", "DOB 12/3/1930 (94)": the age in brackets after a date already found (masked: see
        # ``phi.find_phi``)
        rf"(?<=\x00\s\(){_OLD}(?=\))|(?<=\x00\(){_OLD}(?=\))",
        rf"(?:年[龄齡]\s*[:：]?\s*|享年|高[龄齡])\s*{_OLD}{_NUM_R}",
        # "a woman of 93", "a gentleman of 101"
        rf"(?i:{_L}(?:man|woman|lady|gentleman|gent|widow|widower|patient|nonagenarian|centenarian)\s+of\s+)"
        rf"{_OLD}{_NUM_R}(?!\s*{_NOT_AGE})",
        # "in his 94th year", "her 100th birthday"
        rf"{_NUM_L}{_OLD}(?=(?:st|nd|rd|th)\s+(?i:year|birthday))",
        # 93 años, âgée de 93 ans, 93 Jahre alt, 93-jährige
        rf"{_NUM_L}{_OLD}(?=[\s-]?(?i:{_YEARS_ABROAD}){_R})",
        # age-sex shorthand: "93M", "A 96 F", "Smith, 93/F", "(97F)"; after a word, not after a vital's
        # letters ("HR 93 M") or a temperature ("temp 101F", "spiked to 101F")
        rf"(?:^|(?<=[\n,(;:\[])|(?<=[\n,(;:\[] )|(?<=[a-z] )|(?<=\bA )|(?<=\bAn ))"
        rf"{_OLD}(?=\s?(?:y\s?)?/?\s?[MF]{_R})",
        rf"{_L}[MF]\s?/\s?{_OLD}{_NUM_R}",
        # "(F, 93)", "male, 92;": a sex, a comma, then the age
        rf"{_L}(?:[MF]|(?i:male|female)),\s?{_OLD}(?=\s*[),;]|\s*$)",
        # "Winifred Ames, 103, died", "Arthur Fenwick, 90.", "Losa Faleolo, 93F", 今年92了, 今年 96，
        rf"(?<=[A-Za-z)], ){_OLD}(?=,\s)",
        rf"(?:(?!(?:Sats?|Saturations?|Temp|Pulse|Air|Weight|Score)[^a-z])[A-Z][a-z'’\-]+|\)),\s{_OLD}"
        rf"(?=\.(?!\d)|;|\s?[MF]{_R}|$)",
        rf"今年\s?{_OLD}(?=\s?[岁了，,。]|\s?$)",
        # "90 years (upper limit 85)", "93 years of age", "93y": an age unless a span of time ("for 90 years",
        # "90 years ago")
        rf"(?<!for )(?<!over )(?<!past )(?<!last )(?<!than )(?<!about ){_NUM_L}{_OLD}(?=\s*(?i:years?|yrs?|y){_R}"
        rf"(?!\.?\s+(?:ago|of(?!\s+age)|later|earlier|since|before|after|previously)))",
    ]))

_EMAIL = re.compile(rf"{_L}[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+{_R}"
                    # written out to dodge spam filters: priya dot nair at example dot com
                    rf"|{_L}[A-Za-z0-9._\-]+(?:\s+dot\s+[A-Za-z0-9_\-]+)*\s+at\s+[A-Za-z0-9\-]+(?:\s+dot\s+[A-Za-z]{{2,}})+{_R}")
_URL = re.compile(rf"(?i:{_L}(?:https?://|www\.))[^\s<>\"'，。；：、）（]+")
_IP = re.compile(rf"{_DIG_L}(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){{3}}(?:25[0-5]|2[0-4]\d|1?\d?\d){_DIG_R}")
# IPv6 candidates (2001:db8::4a1:7, fe80::1): three groups at least, six characters, a digit; ``ipaddress``
# decides, so a time (14:03:22) or a ratio is never one
_IPV6 = re.compile(r"(?<![\w:])(?=[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{1,4}:){7})(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
                   r"(?![\w:])")

# A number's groups are split by a space, a dot or a hyphen, never a line break (a lab table's rows
# "10 60\n20 120" are not a number).
_PHONE = re.compile(
    # Chinese mobiles, glued to Chinese text or not: 13812345678, +86 186 1234 5678, 139-0011-2233
    rf"(?:\+86[ \t\-]?)?{_DIG_L}1[3-9]\d(?:[ \t\-]?\d{{4}}){{2}}{_DIG_R}"
    # grouped numbers: 555-123-4567, (020) 7946 0958, +1 (555) 201-3344, 010-62345678
    rf"|(?:\+\d{{1,3}}[ \t.\-]?(?:\(0\))?)?(?:\(\d{{2,4}}\)\s?)?{_DIG_L}\d{{2,5}}(?:[ \t.\-]\d{{2,8}}){{1,3}}{_DIG_R}"
    # a trunk zero in brackets before a one-digit area code: +234 (0)2 555 0143
    rf"|\+\d{{1,3}}\s?\(0\)\s?\d{{1,4}}(?:[ \t.\-]\d{{2,8}}){{1,3}}{_DIG_R}"
    rf"|\(\d{{2,4}}\)\s?\d{{3,4}}[ \t.\-]?\d{{3,4}}{_DIG_R}")
_EXTENSION = re.compile(r"\s*,?\s*(?:(?i:ext\.?|extension|x)|转|分机)\s*\d{1,5}(?!\d)")
# an internal number on its own after what names it: "ext 4471", "bleep 2231", 分机8621 (only the number)
_INTERNAL_PHONE = re.compile(r"(?:(?<![A-Za-z])(?i:ext\.?|extension|bleep|pager)\s*(?:no\.?\s*)?:?|分机号?[:：]?)"
                             r"\s*(?P<v>\d{3,5})(?!\d|[.,/:]\d)")

# A cue word, then the number it names: only the number is replaced ("MRN: [ID]").
_ID_CUE = (
    r"MRN|medical\s+record(?:\s+(?:number|no\.?))?|record\s+(?:number|no\.?)|(?:hospital|patient|case)\s+"
    r"(?:number|no\.?|id)|NHS\s+(?:number|no\.?)|SSN|social\s+security(?:\s+number)?|medicare(?:\s+(?:number|no\.?|id))?"
    r"|medicaid(?:\s+(?:number|id))?|(?:health\s+plan\s+)?member\s+id|insurance\s+(?:number|id)|policy\s+(?:number|no\.?)"
    r"|account\s+(?:number|no\.?)|acct\.?|serial\s+(?:number|no\.?)|device\s+(?:id|serial)|S/?N"
    r"|(?:driver'?s\s+)?licen[cs]e(?:\s+(?:number|no\.?))?|passport(?:\s+(?:number|no\.?))?|(?:vehicle\s+)?plate"
    r"|registration(?:\s+(?:number|no\.?))?|(?:lab\s+)?accession(?:\s+(?:number|no\.?))?"
    r"|certificate\s+(?:number|no\.?)|ref(?:erence)?(?:\s+(?:number|no\.?))?|beneficiary\s+(?:number|id)"
    r"|group\s+(?:number|no\.?)|file\s+(?:number|no\.?)|(?-i:(?:[A-Z]{2,4}\s+)?PIN)"
    r"|(?:pension|health|id|insurance|medical|bank|student|membership)\s+card(?:\s+(?:number|no\.?))?|serial|transmitter"
    # a record's noun, with or without "number": staff no., specimen SP.., policy BCX-.., participant RX-..
    r"|(?:staff|employee|student|lab|screening|unit|specimen|sample|biopsy|claim|membership|member|participant"
    r"|subject|donor|respondent|policy|group|account|study|case|bed)\s+(?:(?:number|no\.?|id|code|#)s?)?"
    r"|(?:prior\s+|pre-?)authori[sz]ation|vehicle(?:\s+(?:registration|reg\.?))?|DNI|PPSN|AMKA|SIN|TFN|CPF|NIE"
    r"|sort\s+code"
    r"|reg\.?(?:\s+no\.?)?|IP\s+no\.?|acc\.?|OHIP|NHI|CHI|IHI|UHID|NRIC|HKID|Aadhaar"
    # chart #, clinic number, Centrelink CRN, car rego, Medicare MBI, PhilHealth (not a vaccine's batch or
    # lot: the product's number, not the patient's)
    r"|chart|clinic\s+(?:number|no\.?)|CRN|rego|MBI|PhilHealth"
    # prisons' numbers; Nordic, Finnish, Belgian, Italian and Mexican national numbers
    r"|prison(?:er)?\s+(?:number|no\.?)|personnummer|henkilötunnus|hetu|rijksregisternummer|codice\s+fiscale|CURP")
_ID_CUE_WORD = re.compile(rf"(?i:{_ID_CUE})")
_SCHEME_AFTER = re.compile(r"\s+(?:ID|card|number|no\.|No\.)(?![A-Za-z])")


def is_id_scheme(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` names a numbering scheme: a record cue itself ("Aadhaar", "PhilHealth"), or one
    word before "ID", "card" or "number" ("Emirates ID", "Ayushman card"; "Maria Lopez card" is a person)."""
    one_word = " " not in text[start:end].strip()
    return bool(_ID_CUE_WORD.fullmatch(text, start, end) or one_word and _SCHEME_AFTER.match(text, end))


# A value: letters, digits, hyphens and slashes with a digit in it (H25/11873), then space-separated
# groups ("2953 41827 1", "308 417 522K", "WD19 KXP"); a number with a decimal after it is a lab range
# ("ref 3.5-5.3"), not a reference.
_ID_VALUE = (r"(?![\d\-]*[.,]\d)[A-Za-z0-9\-/]*\d[A-Za-z0-9\-/]*"
             r"(?:\s(?:\d+(?:-[A-Z]{1,2})?[A-Z]?|[A-Z]{1,4})(?![A-Za-z0-9]))*")
_CN_ID_CUE = (r"(?:病[历歷]|住院|门诊|門診|医保卡?|醫保卡?|就诊卡|就診卡|档案|檔案|社保卡?|护照|護照|工|预约|預約"
              r"|检查|檢查|检验|檢驗|标本|標本|登记|登記|病理|体检|體檢|床|证|證|编|編|单|單|保单|保單|会员|會員|卡)"
              r"[号號](?:码|碼)?"
              r"|身份证(?:号码?)?|身份證(?:號碼?)?|账号|帳號|微信号?|银行卡号?")
# A Chinese plate after its province's character: 粤B·7K3Q9, 京A 12345
_CN_PLATE = r"[A-Z][·•]?\s?[A-Z0-9]{5,6}(?![A-Z0-9])"
_CN_PROVINCE = "京津沪滬渝冀豫云雲辽遼黑湘皖鲁魯新苏蘇浙赣贛鄂桂甘晋晉蒙陕陝吉闽閩贵貴粤粵青藏川宁寧琼瓊"
# Numbers after a cue word (only the number goes), found first
_CUED_IDS = [
    re.compile(rf"(?i:{_L}(?:{_ID_CUE})(?:\s+(?:no\.?|number|#)(?=\s*[:#：]?\s*[A-Za-z]?\d))?)\s*[:#：]?\s*"
               rf"(?P<v>{_ID_VALUE}){_R}"),
    re.compile(rf"(?:{_CN_ID_CUE})\s*[:：]?\s*(?P<v>[A-Za-z0-9\-_]{{4,}})"),
    re.compile(rf"车牌号?(?:码)?\s*[:：]?\s*(?P<v>[{_HAN}]{_CN_PLATE})"),
]
# Numbers by their shape, looked for before phones: "SP26-004173" is a record, not a number to call
_IDS = [
    # a device's network address (MAC): 00:1B:44:11:3A:B7
    re.compile(rf"{_L}(?:[0-9A-Fa-f]{{2}}([:-]))(?:[0-9A-Fa-f]{{2}}\1){{4}}[0-9A-Fa-f]{{2}}{_R}"),
    # a social media handle with a digit, a dot or an underscore (@jsmith88, @jane.doe; not "@ 3pm", "@home")
    re.compile(r"(?<![\w.@])@(?=[\w.]*[\d._])\w[\w.]{1,29}(?<!\.)"),
    # HKID Y538071(4), K482719(3); and numbers with a letter check digit (DNI 48217396K, PPSN 7194528TA)
    re.compile(rf"{_L}[A-Z]{{1,2}}\d{{6}}\([0-9A]\)"),
    re.compile(rf"{_DIG_L}\d{{7,8}}[A-Z]{{1,2}}(?<!IU){_R}"),
    # codes of letter and digit groups joined by hyphens or slashes, with at least 5 digits in all and
    # a group of 3 digits or more on its own: SP26-004173, H/26/2291, UPB-26-01937, BCX-448-20917-01
    # (not ICD-10, CURB-65, COVID-19, nor a product name such as AVX512-BF16)
    re.compile(rf"{_L}(?!NCT)(?=(?:[A-Z0-9]*[-/]){{1,4}}[A-Z0-9]*{_R})(?=(?:[A-Z\-/]*\d){{5}})"
               rf"(?=[A-Z0-9/\-]*[-/]\d{{3,}}(?![A-Z0-9]))[A-Z][A-Z0-9]*(?:[-/][A-Z0-9]+){{1,4}}{_R}"),
    # national numbers of fixed shape: UK National Insurance (QQ 12 34 56 C), Indian PAN (BKTPD4471M),
    # Malaysian IC (780512-14-5523), French INSEE (1 88 03 69 123 456 78), Chinese plates (粤B·7K3Q9)
    # (the NI shape with any two letters: HMRC's own example, QQ 12 34 56 C, is what forms are filled with)
    re.compile(rf"{_L}[A-Z]{{2}}\s?\d{{2}}\s?\d{{2}}\s?\d{{2}}\s?[A-D]{_R}"),
    re.compile(rf"{_L}[A-Z]{{3}}[ABCFGHLJPT][A-Z]\d{{4}}[A-Z]{_R}"),
    re.compile(rf"{_DIG_L}\d{{6}}-\d{{2}}-\d{{4}}{_DIG_R}"),
    re.compile(rf"{_DIG_L}[12]\s\d{{2}}\s\d{{2}}\s\d{{2}}\s\d{{3}}\s\d{{3}}(?:\s\d{{2}})?{_DIG_R}"),
    re.compile(rf"[{_CN_PROVINCE}](?=[A-Z][·•]){_CN_PLATE}"),  # without a cue, only with its dot
    # a record number after its scheme's letters, in groups: TREM 7208 3012, HCF 88219047-02, No.26440300118827
    # (not a cue word, which stays: "SSN [ID]", "NHS [ID]"; nor a citation)
    re.compile(rf"{_L}(?!(?:NCT|PMID|ISBN|ICD|DOI|SSN|DNI|NHS|MRN|NIE|SIN|TFN|CPF|PIN|REF|TEL|MOB|FAX|IC|NI|PAN|BSN|AMKA"
               rf"|PPSN|ID|NRIC|HKID|SN)\s)(?:[A-Z]{{2,4}}\s|No\.\s?)(?=(?:[\s\-]?\d){{7}})\d{{2,}}(?:[\s\-]\d{{2,}}){{0,3}}"
               rf"(?:\s[A-Z]{_R})?{_DIG_R}"),
    re.compile(rf"{_DIG_L}\d{{3}}-\d{{2}}-\d{{4}}{_DIG_R}"),  # US SSN shape
    re.compile(rf"{_DIG_L}\d{{17}}[\dXx](?![\dXx])"),  # Chinese resident ID
    re.compile(rf"{_DIG_L}\d{{6}}\s(?:19|20)\d{{6}}\s\d{{3}}[\dXx](?![\dXx])"),  # ... written in groups
    # UK plates (YD21 KTV), US Medicare MBIs (1EG4-TE5-MK73), PhilHealth (12-050876543-9), Thai ids (1 1037 02468 13 5)
    re.compile(rf"{_L}[A-Z]{{2}}\d{{2}}\s?[A-Z]{{3}}{_R}"),
    re.compile(rf"{_L}\d[A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{{2}}\d{{2}}{_R}"),
    re.compile(rf"{_DIG_L}\d{{2}}-\d{{9}}-\d{_DIG_R}"),
    re.compile(rf"{_DIG_L}\d\s\d{{4}}\s\d{{5}}\s\d{{2}}\s\d{_DIG_R}"),
    # Italian codice fiscale (RSSGPP29C41F839X), Mexican CURP (HELG550312MDFRPD08), Finnish henkilötunnus
    # (131052-308T), Belgian national number (85.07.30-033.61), dotted thousands past a billion (1.020.445.881)
    re.compile(rf"{_L}[A-Z]{{6}}\d{{2}}[A-EHLMPR-T]\d{{2}}[A-Z]\d{{3}}[A-Z]{_R}"),
    re.compile(rf"{_L}[A-Z]{{4}}\d{{6}}[HMX][A-Z]{{5}}[A-Z0-9]\d{_R}"),
    re.compile(rf"{_DIG_L}[0-3]\d[01]\d\d{{2}}[-+A]\d{{3}}[0-9A-Y]{_R}"),
    re.compile(rf"{_DIG_L}\d{{2}}\.\d{{2}}\.\d{{2}}-\d{{3}}\.\d{{2}}{_DIG_R}"),
    re.compile(rf"{_DIG_L}\d{{1,3}}(?:\.\d{{3}}){{3}}{_DIG_R}"),
    # digit groups joined by hyphens, eleven digits or more, with a group of seven or a check digit alone:
    # national numbers (35202-1234567-1, 784-1985-1234567-1, 19350412-4471, 1-1017-00234-56-1), not phones
    # (020-8733-2100)
    re.compile(rf"{_DIG_L}(?<!\+)(?=(?:\d-?){{11}})(?:(?=[\d\-]*\d{{7}})|(?=\d-)|(?=[\d\-]*-\d(?!\d)))"
               rf"\d{{1,8}}(?:-\d{{1,10}}){{1,4}}{_DIG_R}"),
    # a user name in an audit line: "by user rad-jsmith2", "username rosie_m_1952"
    re.compile(r"(?i:(?<![A-Za-z])(?:user(?:\s?name)?|login)\s*[:=]?\s*)(?P<v>(?=[\w.\-]*\d)[A-Za-z][\w.\-]{2,}[A-Za-z0-9])"),
]
# ... and after phones: what is left of long numbers once no phone took them
_LAST_IDS = [
    # letter-prefixed record numbers, with a check digit: HN26004417(2), CR4452187-3
    re.compile(rf"{_L}(?!NCT\d)[A-Z]{{1,3}}\d{{5,}}[A-Z0-9]*(?:\(\d\)|-\d{{1,2}}(?![\d\-]))?{_R}"),
    re.compile(rf"{_L}(?!NCT-)[A-Z]{{2,4}}-[A-Z]?\d{{4,}}[A-Z0-9\-]*{_R}"),  # ACC-771093, HZ-U0098817
    # long bare numbers, but not PubMed ids cited as [12345678] or "PMID 12345678"
    re.compile(r"(?<![\[A-Za-z0-9.])(?<!PMID )(?<!PMID: )(?<!PMID:)(?<!PMID)\d{7,}(?![\]A-Za-z0-9]|[.,]\d)"),
]

_UNIT = r"(?:(?:Flat|Apt\.?|Apartment|Unit|Suite)\s+[\w/]+,?\s+)?"
_UNIT_TAIL = r"(?:,?\s+(?:Flat|Apt\.?|Apartment|Unit|Suite)\s+[A-Za-z0-9]+)?"
_US_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
              "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI").replace(" ", "|")
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_PLACE = r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
_NOT_PLACE = r"(?i:post\s?code|postal|zip|address|home|lives|flat|apt|at|in|to|from)\b"  # cue words before a code
# Beyond the US and the UK: Canadian, Irish (Eircode) and Australian codes, and continental
# "10435 Berlin" after a comma. Place names take any Latin capital (Ōtorohanga, Çankaya).
_CAP = r"[A-Z\u00C0-\u00DE\u0100-\u017F]"
_PLACE_WORD = rf"(?:{_CAP}[a-z]{{1,2}}\.|{_CAP}[a-z\u00DF-\u00FF\u0100-\u017F]+(?:['’\-][^\W\d_]+)*|[NSEW])"  # St., Co.
_LINK = (r"(?:of|upon|on|the|de|des|du|la|le|del|da|das|do|dos|dei|degli|della|delle|di|los|las|van|von|der|y|yr"
         r"|rue|utca|al|el|bin|binti|im|am|an|bei|sur|en)")
_LEAD_LINK = r"(?:rue|de|des|du|la|le|del|da|do|dos|van|von|der|al|el)"  # "rue des Tanneurs", not "of Dromore"
_PLACE_NAME = rf"(?:{_LEAD_LINK}\s+)*{_PLACE_WORD}(?:\s+(?:{_LINK}\s+)*{_PLACE_WORD}){{0,4}}(?:\s+{_LINK}(?=\s+\d))?"
_CA_POSTCODE = r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s\d[ABCEGHJ-NPRSTV-Z]\d"
_EIRCODE = r"[AC-FHKNPRTV-Y]\d{2}\s(?=[0-9]*[A-Z])(?=[A-Z]*\d)[AC-FHKNPRTV-Y0-9]{4}"
_AU_STATES = "NSW|VIC|QLD|WA|SA|TAS|NT|ACT"
_CA_PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
_NUMBER_FIRST = r"rue|boulevard|bd|avenue|av\.|allée|chemin|place|quai|impasse|cours|route"
# Streets written as one word with their type (Hauptstraße 112, Keizersgracht 45, Storgatan 3) or after
# their name in Turkish (Moda Caddesi 41/7)
_STREET_COMPOUND = (r"straße|strasse|str\.|weg|allee|platz|gasse|damm|straat|laan|gracht|plein|kade|vej|gade|gatan"
                    r"|vägen|veien|gata")
_UNIT_BEFORE = re.compile(r"(?i:(?<![A-Za-z])(?:flat|unit|apt\.?|apartment|suite|lot|no\.?)\s+|#\d{1,5}\s*-\s*)\Z")
# Vietnamese address words (house number, lane, hamlet, commune, ward, district, province, city) and the
# capitalised names or numbers after them
_VI_UPPER = "A-ZĐÂĂÊÔƠƯÁÀẢÃẠẤẦẨẪẬẮẰẲẴẶÉÈẺẼẸẾỀỂỄỆÍÌỈĨỊÓÒỎÕỌỐỒỔỖỘỚỜỞỠỢÚÙỦŨỤỨỪỬỮỰÝỲỶỸỴ"
_VI_WORD = rf"[{_VI_UPPER}][^\W\d_]*"
_VI_NAME = (rf"(?:{_VI_WORD}|\d{{1,4}}[A-Za-z]?(?:/\d{{1,4}})?)"
            rf"(?:\s(?:{_VI_WORD}|\d{{1,4}}(?!\s?(?:ngày|tuổi|tháng|năm|lần))))*")
_VI_CUE = (r"ngõ|ngách|hẻm|kiệt|thôn|xóm|ấp|xã|[Pp]hường|[Qq]uận|[Hh]uyện|[Tt]hị\s+xã|[Tt]ỉnh|TP\.|[Tt]hành\s+phố"
           r"|[Đđ]ường")
_ADDRESSES = [
    # 42 Elm Street, 221B Baker Street, Flat 3, 21 Queen's Avenue, 5500 Wilshire Blvd, Apt 12, 5/22 Banksia Cres
    re.compile(rf"{_UNIT}{_NUM_L}(?:\d{{1,4}}[A-Za-z]?/)?\d{{1,5}}[A-Z]?\s+(?:[A-Z][A-Za-z'\-]+\s+){{1,3}}"
               rf"(?:{_STREET_SUFFIX}){_R}\.?{_UNIT_TAIL}"),
    # 9 church lane, 14 dunmore rd, 27 ormeau ave, 31 canal st (lower case needs a number and a suffix)
    re.compile(rf"{_NUM_L}(?:\d{{1,4}}/)?\d{{1,5}}[a-z]?\s+(?:[nsew]\s+)?(?:(?:\d{{1,3}}(?:st|nd|rd|th)|(?!{_DOSE_WORD})"
               rf"[a-z][a-z'\-]+)\s+){{1,2}}"
               rf"(?:street|st|road|rd|lane|avenue|ave|drive|boulevard|crescent|cres|terrace|parade|pde|grove|gardens"
               rf"|mews|close|court|place|way){_R}(?:\s+(?:apt|unit|flat)\s+[a-z0-9]+{_R})?"),
    # care homes locate their residents: Ashgrove Nursing Home, WESTFIELD CARE HOME
    re.compile(rf"{_L}(?:{_PLACE_WORD}\s+){{1,3}}(?:Nursing|Care|Residential|Retirement)\s+Home{_R}"
               rf"|{_L}(?:[A-Z]{{2,}}\s+){{1,3}}(?:NURSING|CARE|RESIDENTIAL|RETIREMENT)\s+HOME{_R}"),
    # Irish counties and Dublin's postal districts: Kilkee, Co. Clare; Ballymun, Dublin 11
    re.compile(rf"{_L}(?:{_PLACE_NAME},?\s+)?(?:Co\.|County)\s+{_PLACE_WORD}"
               rf"|{_L}(?:{_PLACE_NAME},?\s+)?Dublin\s+(?:6W|[1-9]|1\d|2[0-4]){_NUM_R}"),
    re.compile(rf"{_L}(?i:{_STREET_FIRST})\s*(?!{_CARE_AREA}{_R})(?:(?:{_LINK})\s+)*(?:{_PLACE_WORD}|[A-Z]{{1,4}}\d{{0,3}})"
               rf"(?:\s+(?:(?:{_LINK})\s+)*(?:{_PLACE_WORD}|[IVX]{{1,4}})){{0,3}}(?:,?\s+(?:n\.?\s?º\s?)?\d{{1,5}}[A-Za-z]?"
               rf"|/\d{{1,4}})(?:/\d{{1,4}})?{_NUM_R}"),
    re.compile(rf"{_NUM_L}\d{{1,5}}(?:\s?(?:bis|ter))?,?\s+(?i:{_NUMBER_FIRST})\s+(?:(?:{_LINK})\s+)*{_PLACE_WORD}"
               rf"(?:[\s\-]+(?:(?:{_LINK})\s+)*{_PLACE_WORD}){{0,3}}"),
    re.compile(rf"{_L}{_CAP}[^\W\d_]*(?:{_STREET_COMPOUND})\s+\d{{1,4}}[a-z]?(?:-[IVX]{{1,4}}|-\d{{1,3}})?{_NUM_R}"),
    # rural routes: RR 2 Box 118; RR 3, Site 12, Box 4
    # (RR alone is a respiratory rate: "RR 28")
    re.compile(rf"{_L}(?:RR|R\.R\.)\s?\d{{1,3}}(?:,?\s+Site\s+\d{{1,3}})?,?\s+(?:Box|Comp)\s+\d{{1,4}}{_R}"
               rf"|{_L}Rural\s+Route\s+\d{{1,3}}{_R}"),
    # named estates, buildings and parks that locate a home: Lei Tung Estate, Wing Fat Building, Shanti
    # Apartments, Sandy Bay Holiday Park, Royal Star & Garter Homes; Indian cross roads (14th Cross)
    re.compile(rf"{_L}(?:{_PLACE_WORD}\s+(?:&\s+)?){{1,3}}(?:Estate|Building|Apartments|Residency|Enclave|Towers|Mansions"
               rf"|Holiday\s+Park|Caravan\s+Park|Homes){_R}|{_NUM_L}\d{{1,2}}(?:st|nd|rd|th)\s+(?:Cross|Main)(?:\s+Road)?{_R}"),
    # German, French and Spanish care homes: Seniorenheim St. Elisabeth, EHPAD Les Tilleuls
    re.compile(rf"{_L}(?:Seniorenheim|Pflegeheim|Altenheim|Altersheim|Seniorenresidenz|EHPAD|[Rr]ésidence|Residencia)"
               rf"(?:\s+(?:{_LINK}\s+)?{_PLACE_WORD}){{1,3}}"),
    # H.No. 12-3-45 (Indian house numbers)
    re.compile(rf"{_L}H\.?\s?No\.?\s*\d{{1,4}}(?:[-/]\d{{1,4}}){{0,3}}{_R}"),
    re.compile(rf"{_L}(?:{_PLACE_WORD}\s+){{1,2}}(?:Caddesi|Cad\.|Sokak|Sokağı|Sk\.|Bulvarı)\s+(?:No:?\s*)?"
               rf"\d{{1,4}}(?:/\d{{1,3}})?{_NUM_R}"),
    # Singapore and Hong Kong blocks: Blk 208 Bishan Street 23, Block 2 Kornhill
    re.compile(rf"{_L}(?i:blk|block)\s+\d{{1,4}}[A-Z]?\s+(?:{_PLACE_WORD}\s+){{0,3}}{_PLACE_WORD}"
               rf"(?:\s+\d{{1,3}})?{_NUM_R}"),
    # Maple Drive, Laguna Gardens, Admiralty Way (capitalised name + suffix, no number)
    re.compile(rf"{_L}(?:[A-Z][a-z'\-]+\s+){{1,2}}(?:Street|Road|Avenue|Lane|Drive|Boulevard|Parkway|Crescent|Terrace"
               rf"|Gardens|Way){_R}"),
    # ... abbreviated, after a preposition: "the chemist on Bridge St", "off Mill Rd", "near Kingsland Pde"
    re.compile(r"(?:(?<=\bon\s)|(?<=\boff\s)|(?<=\balong\s)|(?<=\bnear\s)|(?<=\bat\s)|(?<=\bin\s))"
               rf"(?:[A-Z][a-z'\-]+\s+){{1,2}}(?:St|Rd|Ave|Ln|Cres|Pde|Tce|Close|Grove|Mews|Crescent|Terrace|Parade"
               rf"|Row|Walk){_R}\.?"),
    # in capitals, and with a direction and an ordinal: 22 BELGRAVE RD, 310 E 118th St
    # with a unit, then a town, state and ZIP or a town alone: 4917 SW 8TH ST APT 12, MIAMI FL 33134; 8 TAI KOO
    # WAN RD, QUARRY BAY; 2 THISTLE BRAE KIRKCALDY
    re.compile(rf"{_NUM_L}\d{{1,5}}[A-Z]?\s+(?:(?:[NS][EW]?|[EW])\s+)?(?:(?:[A-Z][A-Z'\-]+|\d{{1,3}}(?:ST|ND|RD|TH))\s+){{1,3}}"
               rf"(?:STREET|ST|ROAD|RD|AVENUE|AVE|LANE|LN|DRIVE|DR|CLOSE|WAY|CRESCENT|PLACE|GARDENS|TERRACE|COURT|BRAE|RISE"
               rf"|ROW|WALK|SQUARE|BLVD){_R}(?:\s+(?:APT|UNIT|SPC|STE|FLAT)\s+[A-Z0-9]{{1,5}}{_R})?"
               rf"(?:,?\s+(?:[A-Z]{{3,}}\s+){{1,2}}(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?{_R}"
               rf"|,?\s+[A-Z]{{3,}}(?:\s[A-Z]{{3,}}){{0,2}}(?=\s*(?:[,.;\t\n]|$)))?"
               rf"|{_NUM_L}\d{{1,5}}\s+[NSEW]\.?\s+\d{{1,3}}(?:st|nd|rd|th)\s+(?:{_STREET_SUFFIX}){_R}\.?"),
    # the Gulf's villas and streets, Philippine puroks and barangays, Mexican colonias, plots and houses
    # ("House" only with a block letter: "House C/44"; "Gregory House 555-123-4567" is a name and a phone)
    re.compile(rf"{_L}(?:Villa|Plot)\s+[A-Z]?[/\d]*\d{_R}|{_L}House\s+[A-Z]/?\d{{1,4}}{_R}|{_L}Street\s+\d{{1,3}}{_R}|{_L}Purok\s+\d{{1,2}}{_R}"
               rf"|{_L}(?:Brgy\.?|Barangay|Col\.|Colonia)\s+{_PLACE_NAME}"),
    re.compile(rf"(?i:{_L}P\.?\s?O\.?\s+Box)\s+\d+(?:-\d{{5}})?{_R}"),
    # Springfield, IL 62704; New York, NY 10118
    re.compile(rf"{_L}{_PLACE},?\s+(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?{_R}"),
    # London NW1 6XE, SW1A 1AA, REDRUTH TR15 2BQ
    re.compile(rf"{_L}(?:(?!{_NOT_PLACE})(?:{_PLACE_NAME}|[A-Z]{{3,}}(?:\s[A-Z]{{3,}})?),?\s+)?{_UK_POSTCODE}{_R}"),
    # ZIP 90210, postcode M1 1AE, 邮编310013
    re.compile(rf"(?i:{_L}(?:zip(?:\s+code)?|post\s?code|postal\s+code|PIN|CEP|PLZ))\s*[:#]?\s*(?P<v>\d{{4,6}}"
               rf"(?:-\d{{3,4}})?|(?i:{_UK_POSTCODE}|{_CA_POSTCODE})){_R}"),
    re.compile(rf"邮编\s*[:：]?\s*(?P<v>\d{{6}}){_NUM_R}"),
    # Toronto, ON M5J 2L1; Co. Mayo F28 W9K3; Haymarket NSW 2000
    re.compile(rf"{_L}(?:(?!{_NOT_PLACE}){_PLACE_NAME},?\s+)?(?:(?:{_CA_PROVINCES})\s+)?(?:{_CA_POSTCODE}|{_EIRCODE}){_R}"),
    re.compile(rf"{_L}{_PLACE_NAME}\s+(?:{_AU_STATES})\s+\d{{4}}{_NUM_R}"),
    # after a comma, a place and its code, or a code and its place: ", Nelson 7010", ", 69005 Lyon"
    re.compile(rf"(?<=,\s)(?:{_PLACE_NAME}\s+(?:\d{{4,6}}(?:-\d{{4}})?|\d{{3}}-\d{{4}})"
               rf"|(?:\d{{4,6}}|\d{{4}}-\d{{3}}|\d{{4}}\s?[A-Z]{{2}}|\d{{2}}-\d{{3}}|\d{{5}}-\d{{3}})\s+{_PLACE_NAME}"
               rf"(?:/{_PLACE_WORD})?)"
               rf"{_NUM_R}"),
    # Japan: 〒980-0811 宮城県仙台市青葉区一番町3-7-1 1203号室, 大阪府堺市北区中百舌鳥町2-104
    re.compile(rf"〒\s?\d{{3}}-\d{{4}}(?:\s?(?:東京都|北海道|京都府|大阪府|[{_HAN}]{{2,3}}県)[{_HAN}{_KANA}]{{1,16}}?"
               rf"\d{{1,4}}(?:[-－]\d{{1,4}}){{0,3}}(?:\s?[{_HAN}{_KANA}]{{0,10}}\d{{1,5}}号室?)?)?"
               rf"|(?:東京都|北海道|京都府|大阪府|[{_HAN}]{{2,3}}県)[{_HAN}{_KANA}]{{1,16}}?\d{{1,4}}(?:[-－]\d{{1,4}}){{1,3}}"
               rf"(?:\s?[{_HAN}{_KANA}]{{0,10}}\d{{1,5}}号室?)?"),
    # Korea: 부산광역시 해운대구 우동 1408, 경기도 수원시 팔달구 인계로 124, 301동 1202호
    re.compile(r"[가-힣]{1,4}(?:특별시|광역시|특별자치시|도)(?:\s[가-힣]{1,5}(?:시|군|구)){1,2}(?:\s[가-힣0-9]{1,10}(?:동|로|길|읍|면|리))?"
               r"(?:\s\d{1,5}(?:-\d{1,4})?(?:번지)?)?(?:,?\s\d{1,4}동\s?\d{1,4}호)?"),
    # Vietnam: số 45 ngõ 120 Trần Duy Hưng, Cầu Giấy, Hà Nội; thôn 2, xã Hòa Phước, Hòa Vang, Đà Nẵng
    re.compile(rf"(?:(?:{_VI_CUE})\s+{_VI_NAME}|số\s+\d{{1,4}}[A-Za-z]?(?:/\d{{1,4}})?(?=\s+(?:{_VI_CUE}|[{_VI_UPPER}]))"
               rf"(?:\s+{_VI_WORD}(?:\s{_VI_WORD})*)?)(?:\s+(?:{_VI_CUE})\s+{_VI_NAME})*"
               rf"(?:,\s*(?:(?:{_VI_CUE})\s+{_VI_NAME}|{_VI_WORD}(?:\s{_VI_WORD})?(?=[,.;)\n]|$)))*"
               rf"|{_NUM_L}\d{{1,4}}/\d{{1,4}}\s+{_VI_WORD}(?:\s{_VI_WORD}){{0,3}}(?=,\s*(?:{_VI_CUE})\s)"),
]
# An address found in pieces is one address: pieces joined by a comma, the town between a street and
# its code, and the named building or unit before the street ("Ashgrove Nursing Home, 112 Belmont Road").
# A flat or unit written inside an address: "apto 41", "app. 4", "int. 6", "3ºB", "#09-114"
_UNIT_PART = (r"(?i:apto|app\.?|apt\.?|ap\.|int\.|piso|étage|esc\.|puerta|flat|unit|lot|bât\.?|bâtiment|daire:?|m\."
              r"|depto\.?|lgh|bus|blk|bldg|building|block|villa|zone|house|stand|plot|room)\s*[A-Za-z0-9][A-Za-z0-9\-/]*"
              r"|(?i:street|road)\s+\d{1,4}|\d{1,2}\.?º\s?(?:[A-Z]|Esq\.?|Dto\.?|Dir\.?|izq\.?|izda\.?|dcha\.?)?|#\d{1,3}-\d{1,4}|\d{1,2}e\s+étage"
              r"|\d{1,2}/F|No\.?\s?\d{1,4}(?:/\d{1,3})?")
# A unit written right after its street, without a comma: "Av. Juárez 200 Int. 3", "Marszałkowska 10 m. 5"
_UNIT_AFTER = re.compile(r"\s+(?i:int\.|apto\.?|apt\.?|piso|m\.|daire:?|lok\.|flat|unit|lgh|bus|depto\.?|spc)"
                         r"\s*[A-Za-z0-9\-]{1,5}(?![\w])")
_ADDRESS_PART = (rf"(?:(?:Flat|Apt\.?|Apartment|Unit|Suite|Block|Building|Room|Tower|RD|PO\s+Box)\s+[A-Za-z0-9]+\s*)?"
                 rf"(?:\d{{1,5}}(?:-\d{{1,4}}){{0,2}}[A-Za-z]?\s+)?{_PLACE_NAME}(?:\s+(?:No:?\s*)?\d{{1,5}}[A-Za-z]?)?"
                 rf"|(?i:flat|apt\.?|apartment|unit|suite|block|building|room|tower|rd|po\s+box)\s+[A-Za-z0-9/]+")
_ADDRESS_BEFORE = re.compile(rf"(?:(?<=[\s(:;\x00])|^)(?:{_ADDRESS_PART}|{_UNIT_PART}),\s*\Z")
_ADDRESS_AFTER = re.compile(rf",\s*(?:{_UNIT_PART}(?=,)"
                            # a continental postcode before its town: 753 31 Uppsala, 03940 CDMX, C1193AAE CABA
                            rf"|(?:\d{{3}}\s\d{{2}}|\d{{4,5}}|[A-Z]\d{{4}}[A-Z]{{3}})\s+(?:{_PLACE_NAME}|[A-Z]{{2,5}}{_R})|\d{{4,6}}(?:-\d{{3,4}})?(?=\s*(?:[,.;)\n]|$))|(?:{_PLACE_NAME})"
                            rf"(?:,?\s+(?:{_US_STATES}|{_AU_STATES}|{_CA_PROVINCES})|\s+-\s+[A-Z]{{2}})?"
                            rf"(?:\s+(?:{_UK_POSTCODE}|{_CA_POSTCODE}|{_EIRCODE}|\d{{4,6}}(?:-\d{{4}})?))?"
                            # ... ended by punctuation (a quote's, a Chinese note's too) or a clause's first word
                            rf"(?=\s*(?:[,.;:!?)\]\n\x00\"”’，。；：）]|$)|\s+(?:and|for|on|in|with|since|to|from)\s))")
# A town named alone after a residence cue: "lives in Bolton", "at home in Penzance", "transport from Pwllheli"
# (countries and states stay: see ``state_level_names``; so do wards and units: "moved to Ward 7").
_RESIDENCE = (r"(?:lives?|living|resides?|residing|resident|based|settled|stays?|staying|home|moved|moving|relocated"
              r"|relocating|transport|travell?ing|visiting|raised|born|grew\s+up)"
              r"(?:\s+(?:alone|locally|independently|now|nearby|there|here))?\s+(?:in|at|to|from|near|outside|of)")
_TOWN = re.compile(
    rf"(?i:{_L}{_RESIDENCE}\s+)"
    rf"(?!(?:{_CARE_AREA}|Hospital|Hospice|Home|The|A|An|His|Her|Flat|No"
    rf"|Their|Our|My|St)(?![a-z]))(?P<v>{_PLACE_NAME})")
# A proper noun followed by one of these is an eponym, not a person or a place: Parkinson disease, Glasgow
# Coma Scale, Foley catheter.
EPONYM_NOUNS = {"disease", "syndrome", "palsy", "lymphoma", "sarcoma", "tumour", "tumor", "sign", "score", "scale",
                "criteria", "test", "reflex", "phenomenon", "classification", "disorder", "fracture", "ulcer",
                "procedure", "operation", "manoeuvre", "maneuver", "triad", "node", "nodes", "cells", "cell",
                "oesophagus", "esophagus", "thyroiditis", "diverticulum", "cyst", "contracture", "virus", "angina",
                "aneurysm", "anomaly", "encephalopathy", "hernia", "neuralgia", "neuroma", "arthritis", "ulcers",
                "point", "points", "law", "rule", "rules", "method", "stage", "staging", "grade", "grading",
                # eponymous structures and devices: Lewy body, Kayser-Fleischer ring, Zimmer frame, Foley catheter
                "ring", "body", "bodies", "frame", "splint", "catheter", "tube", "needle", "spots", "nodule", "duct",
                "gland", "block", "crystals", "tendon",
                # tools and scales named after their authors or towns: Hartford nomogram, Lester tool, Berg Balance
                "nomogram", "tool", "balance", "questionnaire", "inventory", "index",
                # fluids: Hartmann's solution, Lugol's solution
                "solution"}
# A known town (``phi_places``) after a preposition, capitalised; lower case only after a residence cue.
_AFTER_PREPOSITION = re.compile(
    rf"(?:(?i:{_L}(?P<cue>{_RESIDENCE})\s+)(?P<low>)"
    # ... and other languages' prepositions: "vit seule à Roubaix", "mora em Niterói", "wohnt in Köln"
    rf"|(?i:{_L}(?:in|at|from|to|near|around|outside|towards|via|nr|of|past|à|em|en|dans|nach|aus|bei|nella|nel|w"
    rf"|naar|uit|desde|bor\s+i|bo\s+i|tinggal\s+di|ở|tại)\s+)"
    # ... and one word typed in lower case after in, from or near: "the chemist in ormskirk", "pam from skegness"
    rf"|{_L}(?:in|from|near)\s+(?P<typed>)(?=[a-z]+{_R}))"
    rf"(?P<v>(?(low)[^\W\d_]+(?:\s(?!(?:to|in|at|and|or|from|for|with|on|by|near)\s)[^\W\d_]+)?"
    rf"|(?(typed)[a-z]+|{_PLACE_NAME})))")
# A Chinese town after an English preposition, a Latin one after a Chinese cue: "from 深圳", "住 Sha Tin"
_HAN_AFTER_PREPOSITION = re.compile(rf"(?i:{_L}(?:in|at|from|to|near)\s+)(?P<v>[{_HAN}]{{2,5}})")
_NEXT_WORD = re.compile(r"(?:['’]s?)?\s+([^\W\d_]+)|['’]")
_CN_TOWN_CUE = re.compile(r"[现現]?居住地[:：]|住址[:：]|住在|家在|来自|來自|老家|回到|搬到|搬去|位于|位於|现居|現居"
                          r"|居於|居于|人在|在|去|到|回|从|從|住|喺|返|于|於")
_LATIN_AFTER_CN_CUE = re.compile(rf"(?:{_CN_TOWN_CUE.pattern})\s?(?P<v>{_PLACE_NAME})")
# what follows a town in a sentence: 上海市, 温州的, 从温州转来, 回桂林老家, 去深圳出差, 居於沙田老人院, 于东莞某工地
_CN_TOWN_AFTER = set("市区區县縣的人住工打读讀上看做玩转轉来來老出旅返回探过過某")
_HAN_CHAR = re.compile(rf"[{_HAN}]")
# after a home cue, a town's neighbourhood of a few characters before a boundary: 住在佛山顺德，
_CN_HOME_CUE = re.compile(r"[现現]?居住地[:：]|[现現]?住在|家在|老家在?|[现現]住|住址[:：]?|[现現]居")
_CN_PLACE_TAIL = re.compile(rf"[{_HAN}]{{1,4}}(?![{_HAN}])")
# a province named without 省 before its town: 山东临沂
_CN_PROVINCE = re.compile(r"(?:黑龙江|黑龍江|内蒙古|內蒙古|河北|山西|辽宁|遼寧|吉林|江苏|江蘇|浙江|安徽|福建|江西"
                          r"|山东|山東|河南|湖北|湖南|广东|廣東|海南|四川|贵州|貴州|云南|雲南|陕西|陝西|甘肃|甘肅|青海"
                          r"|台湾|臺灣|台灣|广西|廣西|西藏|宁夏|寧夏|新疆)省?")
# a district after a town: 深圳南山区, 西安雁塔區
_CN_DISTRICT = re.compile(rf"[{_HAN}]{{1,3}}?[区區县縣镇鎮]")
# "杭州人，": a town opening a sentence, then 人 (a person from there)
_CN_TOWN_PERSON = re.compile(rf"(?:^|(?<=[，。；：,;:\s]))(?P<v>[{_HAN}]{{2,4}}?)人(?![{_HAN}]{{0,1}}[员員民院])")
# one part is enough after a home cue: 家住中山路附近, 住幸福里养老院, 邮政编码710061
_CN_HOME_PART = re.compile(rf"(?:家住|住在|住址|住|入住|送回|送到|回到|喺)"
                           rf"(?P<v>[{_HAN}]{{1,8}}?(?:大道|路|街|巷|养老院|養老院|敬老院|老人院|护理院|護理院"
                           rf"|邨(?:[{_HAN}]{{1,3}}?[樓楼](?![{_HAN}]))?))"
                           rf"|(?:邮政编码|郵遞區號|郵政編碼)\s*[:：]?\s*(?P<w>\d{{5,6}})(?!\d)")
# Chinese addresses: two or more administrative parts (province, city, district, road, number).
_CN_NUMERAL = "一二三四五六七八九十"
_CN_PART = (rf"[{_HAN}]{{2,6}}?(?:省|自治区|自治區)|[{_HAN}]{{1,6}}?市|[{_HAN}]{{0,6}}?街道"
            rf"|[{_HAN}]{{1,6}}?(?:区|區|县|縣|镇|鎮|乡|鄉)|香港|九[龍龙]|新界|澳[門门]|氹仔|路[環环]"
            # roads, sections and lanes: 彌敦道612號 (道 only before its number), 人民南路四段, 219巷
            rf"|[{_HAN}]{{1,8}}?\d*(?:大道|路|街|巷|道(?=\d))|[{_CN_NUMERAL}东西南北中東]+段"
            rf"|(?:附|第)?\d+(?:号|號|弄|巷|栋|棟|幢|单元|單元|室|楼|樓|层|層|门|門|座|舍|房|鄰|邻|组|組)(?:[A-Z](?!室))?(?:楼|樓|院)?"
            rf"|[A-Z](?:栋|棟|座|幢)|(?<=[路街道])[东西南北東](?=\d)"
            # 312号之4, 5樓之2; a building's name before its flat: 秀明樓2215室
            rf"|之\d{{1,3}}|[{_HAN}]{{1,4}}?[樓楼閣阁](?=\d)"
            rf"|第[{_CN_NUMERAL}]+座|[A-Z]室|[{_CN_NUMERAL}]+[组組]|(?<=[栋棟幢门門元舍座])\d{{1,4}}(?:-\d{{1,4}})?[A-Z]?(?![\d.])"
            # estates and landmarks that close an address: 阳光花园, 解放碑, 留学生公寓, 社区卫生服务中心
            rf"|[{_HAN}]{{1,6}}?(?:小区|小區|花园|花園|大厦|大廈|广场|廣場|公寓|新村|村|苑|碑|城|邨|宿舍|校区|校區|园|園|(?<![这這那哪家心夜手嘴屋])里)"
            rf"|[{_HAN}]{{0,8}}?(?:卫生服务中心|衛生服務中心|养老院|養老院|颐养院|頤養院|敬老院|卫生院|衛生院|看守所|监狱|監獄"
            rf"|戒毒所)")
_CN_ADDRESS = re.compile(rf"(?:{_CN_PART})(?:{_CN_PART})+")
_CN_ADDRESS_LEAD = re.compile(r"^(?:住址|地址|家住|现住|居住于|居住在|户籍地址|户籍地|住在|住于|住|来自|位于|位於|居於"
                              r"|居于|於|于|送回|送到|回到)")


def _spans(pattern: re.Pattern[str], text: str, kind: str) -> Iterator[Finding]:
    """A match, or its ``v`` group (the value after a cue word), or its first set group."""
    for match in pattern.finditer(text):
        groups = [g for g in pattern.groupindex if match.group(g)]
        if groups:
            yield Finding(match.start(groups[0]), match.end(groups[0]), kind)
        else:
            yield Finding(match.start(), match.end(), kind)


# A year of birth alone: "DOB 1930", "born in 1931", "YOB: 1929", 出生于1930年, 1930年出生
_BIRTH_YEAR = re.compile(
    rf"(?:(?i:{_L}(?:d\.?o\.?b\.?|date\s+of\s+birth|y\.?o\.?b\.?|year\s+of\s+birth|born(?:\s+(?:in|c\.|circa))?"
    rf"|b\.)\s*[:：]?\s*)|(?:出生于|出生於|生于|生於)\s?)(?P<v>{_YEAR})(?![\d/.\-]\d)"
    rf"|(?P<w>{_YEAR})(?=年出生|年生)")


_SHORT_YEAR = re.compile(r",?\s?['’]\d{2}(?![\d%])")


def _dates(text: str) -> Iterator[Finding]:
    for found in _spans(_DATE, text, "DATE"):
        time_tail = _TIME_TAIL.match(text, found.end)
        before = _BEFORE_DATE.search(text, max(0, found.start - 30), found.start)
        end = time_tail.end() if time_tail else found.end
        if text[end - 1].isalpha() and (year := _SHORT_YEAR.match(text, end)):
            end = year.end()  # a day and a month, then the year's last two digits: "2nd Sept '81"
        if before and before.group(0)[-1] in "（(" and text[end : end + 1] in ("）", ")"):
            end += 1  # the bracket the weekday opened closes with the date: 周四（3月5日）
        yield Finding(before.start() if before else found.start, end, "DATE")
    # Safe Harbor keeps a year, but not one that says its owner is over 89
    oldest = datetime.date.today().year - 90
    for found in _spans(_BIRTH_YEAR, text, "DATE"):
        if int(text[found.start : found.end]) <= oldest:
            yield found


# "fever 101 F", "temps to 102F": a Fahrenheit temperature, not an age and a sex
_FAHRENHEIT = re.compile(r"\s?F(?![A-Za-z])")
_FEVER = re.compile(r"(?i:temp|tmax|fever|febrile|pyrexi|spik)|\bT\s*$")


def _ages(text: str) -> Iterator[Finding]:
    for match in _AGE.finditer(text):
        group = next(i for i in range(1, _AGE.groups + 1) if match.group(i))
        start, end = match.start(group), match.end(group)
        if not (_FAHRENHEIT.match(text, end) and _FEVER.search(text, max(0, start - 30), start)):
            yield Finding(start, end, "AGE")


def _phones(text: str) -> Iterator[Finding]:
    for match in _PHONE.finditer(text):
        if sum(ch.isdigit() for ch in match.group(0)) >= 7:
            extension = _EXTENSION.match(text, match.end())
            yield Finding(match.start(), extension.end() if extension else match.end(), "PHONE")
    if "+" in text:
        yield from _international_phones(text)
    yield from _spans(_INTERNAL_PHONE, text, "PHONE")


def _ipv6(text: str) -> Iterator[Finding]:
    for match in _IPV6.finditer(text):
        if len(match.group(0)) < 6 or not any(c.isdigit() for c in match.group(0)):
            continue
        with contextlib.suppress(ValueError):
            ipaddress.IPv6Address(match.group(0))
            yield Finding(match.start(), match.end(), "IP")


def _international_phones(text: str) -> Iterator[Finding]:
    """Numbers written with a country code, in any country's grouping ("+353 1 555 0148", "+33 6 55
    50 12 34", "+234 (0)2 555 0143"): Google's libphonenumber (``phonenumbers``) knows each plan's
    lengths, which one regex cannot. Without a region it takes only numbers that start with "+"."""
    import phonenumbers

    for match in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.POSSIBLE):
        extension = _EXTENSION.match(text, match.end)
        yield Finding(match.start, extension.end() if extension else match.end, "PHONE")


def _urls(text: str) -> Iterator[Finding]:
    for match in _URL.finditer(text):
        value = match.group(0).rstrip(".,;:!?)")
        yield Finding(match.start(), match.start() + len(value), "URL")


# In lower case, only a known town (GeoNames) and a postcode continue an address: "14 dunmore rd,
# waterford", "27 ormeau ave belfast bt2 8hs"
_LOWER_TOWN_AFTER = re.compile(r",?\s+(?P<town>[a-z]+(?:\s[a-z]+)?)(?P<code>\s+[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}"
                               r"|\s+(?:[a-z]{2,3}\s+)?\d{4,5})?(?![a-z0-9])")


def _lower_town_after(text: str, end: int) -> int:
    """Where an address that ends at ``end`` ends once a lower-case town (and postcode) after it is in:
    a known town, or any words that a postcode closes ("sale m33 7ab", "coogee nsw 2034")."""
    match = _LOWER_TOWN_AFTER.match(text, end)
    if not match:
        return end
    if match.group("code"):
        return match.end("code")
    name = _longest_town(match.group("town"), lambda n: n.title() in towns()[0])
    return match.start("town") + len(name) if name else end


def _known_town_after_cue(name: str) -> bool:
    """A known town, or one typed in lower case after "lives in" ("lives in kettering")."""
    return name in towns()[0] or name.title() in towns()[0] and len(name) >= 4


def _typed_town(name: str) -> bool:
    """A town typed in lower case, of five letters or more and no English word: "ormskirk", "skegness"; not
    "situ", "labour", "reading", "bath"."""
    return len(name) >= 5 and name not in english_words() and name.title() in towns()[0]


def _longest_town(words: str, known: Callable[[str], bool]) -> str:
    """The longest run of the first of ``words`` that ``known`` takes for a town ("Golders Green", not
    "Golders"), or ""."""
    parts = words.split()
    return next((name for k in range(len(parts), 0, -1) if known(name := " ".join(parts[:k]))), "")


# Between two pieces of one address: nothing but commas, or units and numbered parts ("G-9/3", "Building 12",
# "3. OG links", "lgh 1102, 753 31")
_PARTS_BETWEEN = re.compile(rf"[,\s]*(?:(?:{_UNIT_PART}|[A-Z]-\d{{1,3}}(?:/\d{{1,2}})?|\d{{3}}\s\d{{2}}"
                            rf"|RT\s?\d{{1,3}}/RW\s?\d{{1,3}}|\d{{1,2}}\.\s?OG(?:\s+(?:links|rechts))?|\d{{1,5}}[A-Za-z]?\s+[A-Z][\w\-]*(?:\s+[\w\-]+){{0,2}})"
                            rf"[,\s]+)*")


def _joined_addresses(text: str, found: list[Finding]) -> list[Finding]:
    """``found`` with each address grown over its neighbouring parts (see ``_ADDRESS_PART``)."""
    grown: list[Finding] = []
    for f in sorted(found, key=lambda f: f.start):
        start, end = f.start, f.end
        while unit_after := _UNIT_AFTER.match(text, end):
            end = unit_after.end()
        if text[start:end].islower():
            end = _lower_town_after(text, end)
        for _ in range(5):
            # "Unit 5/22 Banksia Cres", "#1203 - 1328 W Pender St": the word goes with its number
            unit = _UNIT_BEFORE.search(text, max(0, start - 12), start)
            start = unit.start() if unit else start
            before = _ADDRESS_BEFORE.search(text, max(0, start - 80), start)
            if not before:
                break
            start = before.start()
        for _ in range(4):
            after = _ADDRESS_AFTER.match(text, end) or _UNIT_AFTER.match(text, end)
            if not after:
                break
            end = after.end()
        if grown and (start <= grown[-1].end or _PARTS_BETWEEN.fullmatch(text, grown[-1].end, start)):
            previous = grown.pop()  # two pieces of one address, overlapping or a comma apart
            start, end = min(start, previous.start), max(end, previous.end)
        grown.append(Finding(start, end, "ADDRESS"))
    return grown


# A house number and a name with no street's word, before a known town: "of 8 Low Fellside, Kendal", "at 3 The
# Paddocks, Wrexham" (after what introduces an address: not "bay 4 Side Room, Leeds")
_NUMBERED_BEFORE_TOWN = re.compile(
    rf"(?:(?<=\bof\s)|(?<=\bat\s)|(?<=\bto\s)|(?<=\bfrom\s)|(?<=:\s)|(?<=^)|(?<=\n))\d{{1,4}}[A-Za-z]?\s+"
    rf"(?:{_PLACE_WORD}\s+){{0,2}}{_PLACE_WORD},\s+(?P<town>{_PLACE_NAME})", re.MULTILINE)


def _numbered_before_town(text: str) -> Iterator[Finding]:
    for match in _NUMBERED_BEFORE_TOWN.finditer(text):
        if _longest_town(match.group("town"), towns()[0].__contains__):
            yield Finding(match.start(), match.start("town") - 2, "ADDRESS")  # the town joins it: see _joined_addresses


def _towns(text: str) -> Iterator[Finding]:
    """Towns named alone: any capitalised place after a residence cue, a known town after a preposition."""
    for found in _spans(_TOWN, text, "ADDRESS"):
        if text[found.start : found.end].lower() not in state_level_names():
            yield found
    for match in _AFTER_PREPOSITION.finditer(text):
        # the towns load on the first candidate, not at import; after a residence cue a lower-case one too
        known = _known_town_after_cue if match.group("cue") else _typed_town if match.group("typed") is not None \
            else towns()[0].__contains__
        if not (name := _longest_town(match.group("v"), known)):
            continue
        end = match.start("v") + len(name)
        if end < len(text) and text[end].isalnum():
            continue  # a town's name inside a word: "levels of IgG" is not Ig, Slovenia
        follower = _NEXT_WORD.match(text, end)
        # "Glasgow Coma Scale", "Ottawa ankle rules", "Leeds General Infirmary", "Addison's": not a home
        if not (follower and (follower.group(0).startswith(("'", "’")) or follower.group(1)[0].isupper()
                              or follower.group(1).lower() in EPONYM_NOUNS)):
            yield Finding(match.start("v"), end, "ADDRESS")


def _cn_town_at(text: str, start: int, place_after: bool = False) -> int:
    """The end of a known Chinese town (and its district) that starts at ``start`` and stops at a boundary,
    or ``start`` when there is none: 石家庄，  桂林的  深圳南山区打工. After a home cue (``place_after``) the
    place after the town goes with it up to a boundary (住在佛山顺德，), unless a particle or verb opens it
    (老家开封的)."""
    han = towns()[1]
    for n in range(5, 1, -1):
        name = text[start : start + n]
        if len(name) < n or name not in han:
            continue
        district = _CN_DISTRICT.match(text, start + n)
        end = district.end() if district else start + n
        after = text[end : end + 1]
        if not after or not _HAN_CHAR.match(after) or after in _CN_TOWN_AFTER or district:
            return end
        tail = _CN_PLACE_TAIL.match(text, start + n)
        if place_after and tail and tail.group(0)[0] not in _CN_TOWN_AFTER:
            return tail.end()
    return start


def _cn_towns(text: str) -> Iterator[Finding]:
    """A Chinese town after a verb or word of place, before a boundary (我们在石家庄，老家桂林的), after an
    English preposition ("from 深圳"), or opening a sentence before 人 (杭州人); a Latin town after a
    Chinese cue ("住 Sha Tin"); one road or care home after a home cue (家住中山路附近)."""
    starts = [cue.end() for cue in _CN_TOWN_CUE.finditer(text)]
    starts += [m.start("v") for m in (*_HAN_AFTER_PREPOSITION.finditer(text), *_CN_TOWN_PERSON.finditer(text))]
    for start in starts:
        province = _CN_PROVINCE.match(text, start)
        end = _cn_town_at(text, province.end() if province else start)
        if end > (province.end() if province else start):
            yield Finding(start, end, "ADDRESS")
    for cue in _CN_HOME_CUE.finditer(text):
        if (end := _cn_town_at(text, cue.end(), place_after=True)) > cue.end():
            yield Finding(cue.end(), end, "ADDRESS")
    for match in _LATIN_AFTER_CN_CUE.finditer(text):
        if name := _longest_town(match.group("v"), towns()[0].__contains__):
            yield Finding(match.start("v"), match.start("v") + len(name), "ADDRESS")
    yield from _spans(_CN_HOME_PART, text, "ADDRESS")


# a medicine's or vaccine's batch or lot is the product's number, not the patient's: "MMR lot W017562"
_BATCH_BEFORE = re.compile(r"(?:(?i:batch|lot)(?:\s+(?:no\.?|number|#))?\s*[:#]?|批[号號]\s*[:：]?)\s*\Z")


def _not_batches(text: str, found: Iterator[Finding]) -> Iterator[Finding]:
    return (f for f in found if not _BATCH_BEFORE.search(text, max(0, f.start - 16), f.start))


# a floor and wing inside a hospital (住院部7楼东区) is no one's address
_CN_IN_HOSPITAL = re.compile(r"(?:住院部|门诊部|門診部|医院|醫院|病区|病區|院区|院區)\Z")


def _cn_addresses(text: str) -> Iterator[Finding]:
    for match in _CN_ADDRESS.finditer(text):
        lead = _CN_ADDRESS_LEAD.match(match.group(0))
        start = match.start() + (lead.end() if lead else 0)
        if match.end() - start >= 4 and not _CN_IN_HOSPITAL.search(text, max(0, start - 3), start):
            yield Finding(start, match.end(), "ADDRESS")


# Public identifiers of literature, trials and codes: cited, never a patient's (PMID 12345678, NCT01234567,
# SNOMED CT 22298006).
_PUBLIC_ID = re.compile(r"(?i:PMID|PMCID|PMC|DOI|ISBN|ISSN|NCT|SNOMED(?:[\s\-]CT)?)[:\s]*[\dX][\dX./\-]*")


def public_ids(text: str) -> list[Finding]:
    """Spans that no rule may scrub (``phi.find_phi`` drops findings that overlap them)."""
    return [Finding(m.start(), m.end(), "PUBLIC") for m in _PUBLIC_ID.finditer(text)]


def find_rules(text: str) -> Iterator[Finding]:
    """Every pattern finding, most specific first: ``phi.merge`` keeps the first of overlapping spans."""
    yield from _urls(text)
    yield from _spans(_EMAIL, text, "EMAIL")
    yield from _spans(_IP, text, "IP")
    yield from _ipv6(text)
    # a value after a cue word is three letters or digits at least: "group 3", "bed 12", "serial 7s" are no records
    yield from (f for f in _spans(_CUED_IDS[0], text, "ID") if sum(c.isalnum() for c in text[f.start:f.end]) >= 3)
    for pattern in _CUED_IDS[1:]:
        yield from _spans(pattern, text, "ID")
    yield from _dates(text)
    yield from _ages(text)
    yield from _joined_addresses(text, [*(f for pattern in _ADDRESSES for f in _spans(pattern, text, "ADDRESS")),
                                        *_towns(text), *_numbered_before_town(text)])
    yield from _cn_addresses(text)
    yield from _cn_towns(text)
    yield from _not_batches(text, (f for pattern in _IDS for f in _spans(pattern, text, "ID")))
    yield from _phones(text)
    yield from _not_batches(text, (f for pattern in _LAST_IDS for f in _spans(pattern, text, "ID")))
