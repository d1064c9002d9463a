"""Person names without a model: after a cue (a title, "seen by", a relative, 患者, 姓名), or a
known first name followed by a surname, in any letter case; Chinese names by surname.

A clinician types "pt james miller c/o SOB" as often as "Mr James Miller": capital letters cannot
be the signal. The signal is context (what comes before) and a small lexicon (common given names,
Chinese surnames), checked against words that are never names (a stop list) and eponyms
(``Parkinson disease``, ``Bell palsy``), which must stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from medassist.data.phi_rules import EPONYM_NOUNS, Finding


def _words(text: str) -> set[str]:
    return set(text.split())


_TOKEN = re.compile(r"[A-Za-z](?:[A-Za-z'\-]*[A-Za-z])?\.?")

TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "nurse", "sister", "sr", "dear", "mdm", "madam",
          "sgt", "rev"}
# Cues after which the next word is taken as a name unless it is a stop word.
STRONG_CUES = {("my", "name", "is"), ("name", "is"), ("name",), ("patient", "name"), ("surname",), ("forename",),
               ("first", "name"), ("last", "name"), ("given", "name"), ("family", "name"), ("signed", "by"),
               ("call", "me"), ("cc",), ("contact", "person"), ("kin",), ("called",),
               *((t,) for t in ("dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "mdm", "sgt", "rev"))}
# Cues after which only a capitalised word or a known given name is taken ("seen by cardiology" is
# not a person, "seen by Amelia Hart" and "seen by william jones" are).
WEAK_CUES = {("patient",), ("the", "patient"), ("patient", "is"), ("pt",), ("i", "am"), ("i'm",), ("contact",),
             ("husband",), ("wife",), ("son",), ("daughter",), ("mother",), ("father",), ("mum",), ("mom",), ("dad",),
             ("brother",), ("partner",), ("carer",), ("friend",), ("neighbour",), ("neighbor",), ("nurse",),
             ("sister",), ("sr",), ("dear",), ("signed",), ("seen", "by"), ("referred", "by"), ("reviewed", "by"),
             ("examined", "by"), ("spoke", "to"), ("discussed", "with"), ("in", "charge"),
             # relatives, roles and sign-offs: "cousin Gethin", "Referrer K Osei", "Best wishes, Cathal"
             ("cousin",), ("uncle",), ("aunt",), ("niece",), ("nephew",), ("grandson",), ("granddaughter",),
             ("grandad",), ("grandpa",), ("grandma",), ("granny",), ("daughter-in-law",), ("son-in-law",),
             ("guardian",), ("interpreter",), ("translator",), ("caller",), ("referrer",), ("guarantor",),
             ("witness",), ("this", "is"), ("it's",), ("its",), ("regards",), ("wishes",), ("thanks",),
             ("cheers",), ("sincerely",), ("love",)}
_MAX_CUE = 3
_CUE_GAP = re.compile(r"[^\s:,.]|[.,:].*[.,:]")  # between a cue and a name: one colon, comma or stop at most
_INITIAL = re.compile(r"[A-Z]\.")

# Given names common in English-language and international clinical notes (lower case).
GIVEN_NAMES = _words("""
aaron abigail adam adrian ahmed aisha alan albert alex alexander alice alicia amanda amelia amir amy ana andrea
andrew angela anna anne anthony antonio arthur ashley barbara ben benjamin beth betty bilal brandon brenda brian
bruce carl carla carlos carol caroline catherine charles charlie charlotte chen chloe chris christine christopher
claire daniel david deborah debra denise dennis diana diane donald donna dorothy douglas dylan edward elena
eleanor elizabeth ella emily emma eric ethan eva evelyn fatima frank gary george gerald gloria gregory hannah
harold harry heather helen henry hiroshi ibrahim isabel isabella isaac jack jacob james jane janet jason jean
jeffrey jennifer jeremy jessica joan john jonathan jordan jose joseph joshua joyce juan judith julia julie justin
karen kate katherine kathleen keith kelly kenneth kevin kim kimberly laura lauren li liam linda lisa liu lucas
lucy luis maria marie marilyn martha martin mary matthew megan melissa mia michael michelle mohammed muhammad
nancy natalie nathan nicholas nicole nina noah olivia oliver omar pamela patricia patrick paul peter philip
priya rachel rahul ralph raymond rebecca richard robert roger ronald ruth ryan samantha samuel sandra sara sarah
scott sean sharon shirley sophia sophie stephanie stephen steven susan thomas timothy tom tony tyler victoria
vincent walter wang wei william yusuf zhang zoe
""")
# Given names that are also everyday words: taken only when capitalised.
AMBIGUOUS_GIVEN = {"will", "may", "mark", "grace", "hope", "faith", "joy", "rose", "bill", "pat", "sue", "don",
                   "art", "gene", "dawn", "summer", "june", "april", "august", "frank", "jack", "ray", "lee", "kim"}
GIVEN_NAMES |= AMBIGUOUS_GIVEN

# Words that follow a cue or a given name and are not names.
STOP = _words("""
a about after again against all also am an and any are as at be because been before being below between both
but by c can cannot could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our out over own same she should so some such than that the their them then there
these they this those through to too under until up very was we were what when where which while who whom why
with would you your yours
presented presents presenting reports reported says said denies denied agrees agreed called calls recorded
reviewed refers referred complains has had feels felt notes noted states stated admits admitted arrived
attended came comes went walked fell died lives lived wants wanted asks asked needs needed takes took is was
will would may might can could should must
today yesterday tomorrow tonight morning evening night week month year
patient patients pt doctor dr nurse gp team ward clinic hospital family relative unknown none male female man
woman boy girl child baby infant son daughter wife husband mother father mum mom dad brother sister partner
sent seen given started stopped noted known diagnosed treated worried concerned unwell well fine sick
consultant registrar surgeon physician cardiologist physiotherapist pharmacist
history exam examination plan impression assessment diagnosis results result report letter note summary
back later soon asap urgently again colleague colleagues sir madam everyone
cardiology radiology oncology surgery surgeons medicine physio physiotherapy pharmacy ambulance paramedics
switchboard reception dietitian psychiatry paediatrics pediatrics neurology urology endocrinology
consent form forms referral referrals
saw sees see examined prescribed gave gives advised advises thinks thought explained explains told tells
informed informs suggested suggests recommended recommends ordered orders requested requests booked
""")
# Verbs that follow a person who opens a sentence ("Dawson was reviewed", "Ruth says"); a symptom
# that opens one is followed by something else ("Heartburn after meals").
PERSON_VERBS = _words("""
is was has had says said reports reported denies denied presented presents complains complained feels felt
states stated agrees agreed called calls rang rings attended attends came comes went lives lived died wants
wanted asks asked needs needed takes took will would can could should must may might did does do remains
returned returns arrived arrives developed noticed noted describes described tells told""")

CN_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
CN_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒")
_CN_SURNAME = "(?:" + "|".join(CN_COMPOUND_SURNAMES) + "|[" + "".join(sorted(CN_SURNAMES)) + "])"
# Characters that end a given name: particles, verbs and nouns that follow a name in notes.
_CN_NOT_GIVEN = ("代陪同述称说诉上下因于在为是男女来就系的了和与及等入出院今昨前后岁月日年时"
                 "医生护士先主任教授老师复查诊治疗病患者姓名号科室床血压心率体温既往")
_CN_GIVEN = f"(?:[\u4e00-\u9fff](?<![{_CN_NOT_GIVEN}]))"
_CN_CUE = (r"患者姓名|病人姓名|姓名|患者|病人|患儿|我叫|名叫|我是|家属|联系人|主诉人|签名|医师|医生|护士|大夫|"
           r"其丈夫|其妻子|丈夫|妻子|老公|老婆|爱人|女儿|儿子|母亲|父亲|户名|由")
_CN_HONORIFIC = ("先生|女士|小姐|医生|大夫|护士|主任|教授|老师|阿姨|师傅|院长|老伯|伯伯|奶奶|爷爷|婆婆|阿婆|大爷|大妈"
                 "|叔叔|老太|某")
_CN_NAMES = [
    # after a cue: 患者张伟，姓名：王秀英
    re.compile(rf"(?:{_CN_CUE})\s*[:：]?\s*(?P<v>{_CN_SURNAME}{_CN_GIVEN}{{1,2}})"),
    # a name opening a sentence or a clause, then sex or age: 王建华，男，67岁; ，冯淑珍，95岁
    re.compile(rf"(?:^|[。；;，,：:\n])\s*(?P<v>{_CN_SURNAME}{_CN_GIVEN}{{1,2}})(?=\s*[，,]\s*(?:[男女]|\d+\s*岁))"),
    # surname (and given name) before an honorific: 陈医生, 欧阳娜娜女士
    re.compile(rf"(?P<v>{_CN_SURNAME}(?:{_CN_GIVEN}{{0,2}}?))(?={_CN_HONORIFIC})"),
]


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]


def _cue_strength(text: str, tokens: list[tuple[int, int, str]], i: int) -> int:
    """2 after a strong cue, 1 after a weak one, 0 otherwise (the cue must sit right before token i)."""
    best = 0
    for length in range(1, _MAX_CUE + 1):
        if i - length < 0:
            break
        window = tokens[i - length : i]
        if _CUE_GAP.search(text[window[-1][1] : tokens[i][0]]):
            break  # something other than a colon, comma or space between the cue and the name
        if any(text[a[1] : b[0]].strip() for a, b in zip(window, window[1:], strict=False)):
            continue
        words = tuple(w.lower().rstrip(".") for _, _, w in window)
        if words in STRONG_CUES:
            best = 2
        elif words in WEAK_CUES:
            best = max(best, 1)
    return best


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and not word.isupper() or (len(word) <= 2 and word.endswith("."))


def _name_word(word: str, capitalised: bool) -> bool:
    if _INITIAL.fullmatch(word):
        return capitalised  # an initial: "Dr. A. Novak"
    bare = word.lower().rstrip(".")
    if bare in STOP or bare in TITLES or len(bare) < 2 and not word.endswith("."):
        return False
    return _is_capitalised(word) if capitalised else word.islower()


def _eponym(tokens: list[tuple[int, int, str]], j: int) -> bool:
    """Token j is the eponym of a disease or sign ("Wilson disease", "Bell's palsy")."""
    word = tokens[j][2].lower()
    follower = tokens[j + 1][2].lower() if j + 1 < len(tokens) else ""
    return follower in EPONYM_NOUNS or (word.endswith("'s") and follower in EPONYM_NOUNS)


def _english(text: str) -> Iterator[Finding]:
    tokens = _tokens(text)
    i = 0
    while i < len(tokens):
        word = tokens[i][2]
        bare = word.lower().rstrip(".")
        strength = _cue_strength(text, tokens, i)
        given = bare in GIVEN_NAMES and (bare not in AMBIGUOUS_GIVEN or _is_capitalised(word))
        capitalised = _is_capitalised(word)
        if bare in TITLES or _eponym(tokens, i) or not _name_word(word, capitalised):
            i += 1
            continue
        if strength == 2 or (strength == 1 and (capitalised or given)):
            start = i
        elif given and i + 1 < len(tokens) and _name_word(tokens[i + 1][2], capitalised) \
                and not _eponym(tokens, i + 1) and not text[tokens[i][1] : tokens[i + 1][0]].strip():
            start = i  # a known given name followed by a surname
        else:
            i += 1
            continue
        end = start + 1
        while end < len(tokens) and end - start < 3 and not text[tokens[end - 1][1] : tokens[end][0]].strip() \
                and _name_word(tokens[end][2], capitalised) and not _eponym(tokens, end):
            end += 1
        last = tokens[end - 1]
        stop = last[1] - (1 if last[2].endswith(".") and len(last[2]) > 2 else 0)
        yield Finding(tokens[start][0], stop, "NAME")
        i = end


# Everyday words that open with a surname character and sit where a name could: thanks, grandson,
# "head nurse" (责任护士), "director" (主任).
_CN_WORDS = ("谢谢", "孙子", "孙女", "责任", "主任", "担任", "信任", "现任", "前任", "白天", "高烧")


def _chinese(text: str) -> Iterator[Finding]:
    for pattern in _CN_NAMES:
        for match in pattern.finditer(text):
            start, end = match.start("v"), match.end("v")
            if not any(text.startswith(word, at) for word in _CN_WORDS for at in (start, max(start - 1, 0))):
                yield Finding(start, end, "NAME")


def find_names(text: str) -> Iterator[Finding]:
    """Name spans (the title or cue itself is kept: "Dr. [NAME]", "患者[NAME]")."""
    yield from _english(text)
    yield from _chinese(text)
