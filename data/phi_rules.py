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

import re
from collections.abc import Iterator
from dataclasses import dataclass


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

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+)?"
_ORD = r"(?:st|nd|rd|th)?"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON_NUM = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"

_DATE = re.compile(
    "|".join([
        # 2024-03-19, 1961/03/15 (one separator throughout)
        rf"{_DIG_L}{_YEAR}([-/.]){_MON_NUM}\1{_DAY}{_DIG_R}",
        # 12/03/2024, 05.11.2025, 01/02/23 (day/month either way round)
        rf"{_DIG_L}(?:{_DAY}([-/.]){_DAY}\2(?:{_YEAR}|\d\d)){_DIG_R}",
        # 15-Mar-1961, 15 MAR 61
        rf"{_L}{_DAY}[-\s/.](?i:{_MONTH})[-\s/.](?:{_YEAR}|\d\d){_R}",
        # Monday 6 January 2025, 3 March 1961, 4th of July, 14 August
        rf"{_L}{_WEEKDAY}(?:the\s+)?{_DAY}{_ORD}\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+{_YEAR})?{_R}",
        # March 3rd, 2024; Feb 14; Jan 5
        rf"{_L}{_WEEKDAY}{_MONTH}\.?\s+{_DAY}{_ORD}(?:,?\s+{_YEAR})?{_R}",
        # March 2023, Sept 2021 (month and year: still a date under Safe Harbor)
        rf"{_L}{_MONTH}\.?,?\s+{_YEAR}{_R}",
        # on 3/4, since 12/05, dated 3/4 (day and month alone: a fraction or a duration such as 3/7
        # without the cue)
        rf"(?i:{_L}(?:on|dated|since|until|till|from|due|reviewed|seen|admitted|discharged|attended|LMP)\s+)"
        rf"(?P<v>{_DAY}/{_DAY})(?![/\d]|[.,]\d|(?i:\s*(?:dose|strength|tab|of)))",
        # 14/08, 26/12, 12/03: a day above 12 or a zero-padded month is a date, not a fraction or a score;
        # but x/7 is days in UK notes ("a 14/7 history", "24/7 care")
        rf"{_DIG_L}(?:(?:1[3-9]|2\d|3[01])/(?!7(?!\d)){_MON_NUM}|{_DAY}/0[1-9])(?![/\d]|[.,]\d)",
        # Mon 3rd, Sunday the 12th, Weds 14th; on the 5th, till the 19th
        rf"{_L}(?:Mon|Tues?|Wed(?:nes)?s?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\s+(?:the\s+)?{_DAY}(?:st|nd|rd|th){_R}",
        rf"(?i:{_L}(?:on|till|until|since|by|from|before|after)\s+)(?P<w>(?:the\s+)?{_DAY}(?:st|nd|rd|th)){_R}"
        rf"(?!\s+(?:of\s+)?(?i:{_MONTH}))",
        # Mar-21, Aug '19
        rf"{_L}{_MONTH}[-'’]\s?\d\d{_R}",
        # 1929年农历八月十五, 农历正月初三
        rf"(?:{_YEAR}年)?农历[正一二三四五六七八九十冬腊]{{1,2}}月[初十廿三]?[一二三四五六七八九十]",
        # 上月15日, 10号 after a time or a person (not 3号楼, 10号床)
        rf"(?:上月|本月|下月|这个月)?{_NUM_L}(?<!月){_DAY}日|(?:(?<=[我在于])|上月|本月|下月){_DAY}号(?![床楼室线门])",
        # 2024年3月15日, 2023年6月, 去年12月3日, 3月19日
        rf"(?:(?:去年|今年|前年|明年)?{_NUM_L}{_YEAR}年{_MON_NUM}月(?:{_DAY}[日号])?"
        rf"|(?:去年|今年|前年|明年)?{_NUM_L}{_MON_NUM}月{_DAY}[日号])",
    ]))

_AGE = re.compile(
    # 92-year-old, 94 years old, 90 y/o, 99 yo, 92岁 ...
    rf"{_NUM_L}(9\d|1[01]\d)(?=\s*-?\s*(?:years?[-\s]old|year-old|yrs?[-\s]old|y/?o{_R}|yo{_R})|\s*周?岁)"
    # aged 101, age: 96, 年龄：101
    rf"|(?i:{_L}aged?\s*[:：]?\s*)(9\d|1[01]\d){_NUM_R}|年龄\s*[:：]?\s*(9\d|1[01]\d){_NUM_R}"
    # "Winifred Ames, 103, died", "(97F)", 今年92了
    rf"|(?<=[a-z], )(9\d|1[01]\d)(?=,\s)|(?<=\()(9\d|1[01]\d)(?=\s?[MF]\))|(?<=今年)(9\d|1[01]\d)(?=[岁了])")

_EMAIL = re.compile(rf"{_L}[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+{_R}"
                    # written out to dodge spam filters: priya dot nair at example dot com
                    rf"|{_L}[A-Za-z0-9_\-]+(?:\s+dot\s+[A-Za-z0-9_\-]+)*\s+at\s+[A-Za-z0-9\-]+(?:\s+dot\s+[A-Za-z]{{2,}})+{_R}")
_URL = re.compile(rf"(?i:{_L}(?:https?://|www\.))[^\s<>\"'，。；：、）（]+")
_IP = re.compile(rf"{_DIG_L}(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){{3}}(?:25[0-5]|2[0-4]\d|1?\d?\d){_DIG_R}")

_PHONE = re.compile(
    # Chinese mobiles, glued to Chinese text or not: 13812345678, +86 186 1234 5678, 139-0011-2233
    rf"(?:\+86[\s\-]?)?{_DIG_L}1[3-9]\d(?:[\s\-]?\d{{4}}){{2}}{_DIG_R}"
    # grouped numbers: 555-123-4567, (020) 7946 0958, +1 (555) 201-3344, 010-62345678
    rf"|(?:\+\d{{1,3}}[\s.\-]?(?:\(0\))?)?(?:\(\d{{2,4}}\)\s?)?{_DIG_L}\d{{2,5}}(?:[\s.\-]\d{{2,8}}){{1,3}}{_DIG_R}"
    rf"|\(\d{{2,4}}\)\s?\d{{3,4}}[\s.\-]?\d{{3,4}}{_DIG_R}")
_EXTENSION = re.compile(r"\s*,?\s*(?i:ext\.?|extension|x)\s*\d{1,5}(?!\d)")

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
    r"|(?:pension|health|id|insurance|medical|bank)\s+card(?:\s+(?:number|no\.?))?|serial|transmitter"
    r"|reg\.?(?:\s+no\.?)?|IP\s+no\.?|acc\.?|OHIP|NHI|CHI|IHI|UHID|NRIC|HKID|Aadhaar")
# A value: letters, digits, hyphens and slashes with a digit in it (H25/11873), then space-separated
# groups ("2953 41827 1", "308 417 522K", "WD19 KXP"); a number with a decimal after it is a lab range
# ("ref 3.5-5.3"), not a reference.
_ID_VALUE = r"(?![\d\-]*[.,]\d)[A-Za-z0-9\-/]*\d[A-Za-z0-9\-/]*(?:\s(?:\d+[A-Z]?|[A-Z]{2,4})(?![A-Za-z0-9]))*"
_CN_ID_CUE = (r"病历号|住院号|门诊号|医保(?:卡)?号|就诊卡号|档案号|身份证(?:号码?)?|社保(?:卡)?号|护照号|工号"
              r"|预约号|检查号|检验号|标本号|登记号|账号|微信号?|银行卡号?")
_IDS = [
    re.compile(rf"(?i:{_L}(?:{_ID_CUE}))\s*[:#：]?\s*(?P<v>{_ID_VALUE}){_R}"),
    re.compile(rf"(?:{_CN_ID_CUE})\s*[:：]?\s*(?P<v>[A-Za-z0-9\-_]{{4,}})"),
    re.compile(rf"车牌号?(?:码)?\s*[:：]?\s*(?P<v>[{_HAN}][A-Z]·?[A-Z0-9]{{5,6}})"),
    re.compile(rf"{_DIG_L}\d{{3}}-\d{{2}}-\d{{4}}{_DIG_R}"),  # US SSN shape
    re.compile(rf"{_DIG_L}\d{{17}}[\dXx](?![\dXx])"),  # Chinese resident ID
    re.compile(rf"{_L}(?!NCT\d)[A-Z]{{1,3}}\d{{5,}}[A-Z0-9]*{_R}"),  # letter-prefixed record numbers
    re.compile(rf"{_L}(?!NCT-)[A-Z]{{2,4}}-[A-Z]?\d{{4,}}[A-Z0-9\-]*{_R}"),  # ACC-771093, HZ-U0098817
    # long bare numbers, but not PubMed ids cited as [12345678] or "PMID 12345678"
    re.compile(r"(?<![\[A-Za-z0-9.])(?<!PMID )(?<!PMID: )(?<!PMID:)(?<!PMID)\d{7,}(?![\]A-Za-z0-9]|[.,]\d)"),
]

_STREET_SUFFIX = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Parkway|Pkwy|Way|Court|Ct|Place|Pl"
                  r"|Close|Crescent|Terrace|Square|Row|Hill|Gardens|Grove|Walk|Mews|Highway|Hwy")
_UNIT = r"(?:(?:Flat|Apt\.?|Apartment|Unit|Suite)\s+\w+,?\s+)?"
_UNIT_TAIL = r"(?:,?\s+(?:Flat|Apt\.?|Apartment|Unit|Suite)\s+[A-Za-z0-9]+)?"
_US_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
              "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").replace(" ", "|")
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}"
_PLACE = r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
_NOT_PLACE = r"(?i:post\s?code|postal|zip|address|home|lives|flat|apt|at|in|to|from)\b"  # cue words before a code
_ADDRESSES = [
    # 42 Elm Street, 221B Baker Street, Flat 3, 21 Queen's Avenue, 5500 Wilshire Blvd, Apt 12
    re.compile(rf"{_UNIT}{_NUM_L}\d{{1,5}}[A-Z]?\s+(?:[A-Z][A-Za-z'\-]+\s+){{1,3}}(?:{_STREET_SUFFIX}){_R}\.?"
               rf"{_UNIT_TAIL}"),
    # 9 church lane (lower case needs a number and an unambiguous suffix)
    re.compile(rf"{_NUM_L}\d{{1,5}}[a-z]?\s+(?:[a-z][a-z'\-]+\s+){{1,2}}(?:street|road|lane|avenue|drive|boulevard)"
               rf"{_R}"),
    # Maple Drive (capitalised name + suffix, no number)
    re.compile(rf"{_L}(?:[A-Z][a-z'\-]+\s+){{1,2}}(?:Street|Road|Avenue|Lane|Drive|Boulevard|Parkway|Crescent|Terrace)"
               rf"{_R}"),
    re.compile(rf"(?i:{_L}P\.?\s?O\.?\s+Box)\s+\d+{_R}"),
    # Springfield, IL 62704; New York, NY 10118
    re.compile(rf"{_L}{_PLACE},?\s+(?:{_US_STATES})\s+\d{{5}}(?:-\d{{4}})?{_R}"),
    # London NW1 6XE, SW1A 1AA
    re.compile(rf"{_L}(?:(?!{_NOT_PLACE}){_PLACE},?\s+)?{_UK_POSTCODE}{_R}"),
    # ZIP 90210, postcode M1 1AE, 邮编310013
    re.compile(rf"(?i:{_L}(?:zip(?:\s+code)?|post\s?code|postal\s+code))\s*[:#]?\s*(?P<v>\d{{5}}(?:-\d{{4}})?"
               rf"|(?-i:{_UK_POSTCODE})){_R}"),
    re.compile(rf"邮编\s*[:：]?\s*(?P<v>\d{{6}}){_NUM_R}"),
]
# Chinese addresses: two or more administrative parts (province, city, district, road, number).
_CN_PART = (rf"[{_HAN}]{{2,6}}?(?:省|自治区)|[{_HAN}]{{1,6}}?市|[{_HAN}]{{1,6}}?(?:区|县|镇|乡)"
            rf"|[{_HAN}]{{1,8}}?(?:大道|路|街|巷)|\d+(?:号|弄|栋|幢|单元|室|楼|层)"
            # estates and landmarks that close an address: 阳光花园, 解放碑
            rf"|[{_HAN}]{{1,6}}?(?:小区|花园|大厦|广场|公寓|新村|村|苑|碑)")
_CN_ADDRESS = re.compile(rf"(?:{_CN_PART})(?:{_CN_PART})+")
_CN_ADDRESS_LEAD = re.compile(r"^(?:住址|地址|家住|现住|居住于|居住在|户籍地|住在|住于|住|来自|位于)")


def _spans(pattern: re.Pattern[str], text: str, kind: str) -> Iterator[Finding]:
    """A match, or its ``v`` group (the value after a cue word), or its first set group."""
    for match in pattern.finditer(text):
        groups = [g for g in pattern.groupindex if match.group(g)]
        if groups:
            yield Finding(match.start(groups[0]), match.end(groups[0]), kind)
        else:
            yield Finding(match.start(), match.end(), kind)


def _ages(text: str) -> Iterator[Finding]:
    for match in _AGE.finditer(text):
        group = next(i for i in range(1, _AGE.groups + 1) if match.group(i))
        yield Finding(match.start(group), match.end(group), "AGE")


def _phones(text: str) -> Iterator[Finding]:
    for match in _PHONE.finditer(text):
        if sum(ch.isdigit() for ch in match.group(0)) >= 7:
            extension = _EXTENSION.match(text, match.end())
            yield Finding(match.start(), extension.end() if extension else match.end(), "PHONE")


def _urls(text: str) -> Iterator[Finding]:
    for match in _URL.finditer(text):
        value = match.group(0).rstrip(".,;:!?)")
        yield Finding(match.start(), match.start() + len(value), "URL")


def _cn_addresses(text: str) -> Iterator[Finding]:
    for match in _CN_ADDRESS.finditer(text):
        lead = _CN_ADDRESS_LEAD.match(match.group(0))
        start = match.start() + (lead.end() if lead else 0)
        if match.end() - start >= 4:
            yield Finding(start, match.end(), "ADDRESS")


# Public identifiers of literature and trials: cited, never a patient's (PMID 12345678, NCT01234567).
_PUBLIC_ID = re.compile(r"(?i:PMID|PMCID|PMC|DOI|ISBN|ISSN|NCT)[:\s]*[\dX][\dX./\-]*")


def public_ids(text: str) -> list[Finding]:
    """Spans that no rule may scrub (``phi.find_phi`` drops findings that overlap them)."""
    return [Finding(m.start(), m.end(), "PUBLIC") for m in _PUBLIC_ID.finditer(text)]


def find_rules(text: str) -> Iterator[Finding]:
    """Every pattern finding, most specific first: ``phi.merge`` keeps the first of overlapping spans."""
    yield from _urls(text)
    yield from _spans(_EMAIL, text, "EMAIL")
    yield from _spans(_IP, text, "IP")
    for pattern in _IDS[:3]:
        yield from _spans(pattern, text, "ID")
    yield from _spans(_DATE, text, "DATE")
    yield from _ages(text)
    for pattern in _ADDRESSES:
        yield from _spans(pattern, text, "ADDRESS")
    yield from _cn_addresses(text)
    for pattern in _IDS[3:5]:
        yield from _spans(pattern, text, "ID")
    yield from _phones(text)
    for pattern in _IDS[5:]:
        yield from _spans(pattern, text, "ID")
