"""Red-flag detection, the emergency message, the decision-support notice, PHI-free log fields.

The detector is deliberately rule-based: it must be predictable, fast, auditable and work
before (and regardless of) the model. Each rule is a set of cue groups that must all appear
in the user's text (English or Simplified Chinese); a cue preceded in the same clause by a
negation ("denies", "no", "没有", "否认") does not count, so "denies chest pain" stays quiet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medassist.io import sha256_text

_CHEST = (
    r"chest (?:pain|pressure|tightness|discomfort|heaviness)|pain in (?:my|his|her|the) chest"
    r"|胸痛|胸口(?:痛|疼|闷|压)|胸闷|心口(?:痛|疼)"
)
_CARDIAC_COMPANION = (
    r"sweat|diaphore|clammy|radiat|spread(?:s|ing)? to|left arm|(?:his|her|my|the) arm|\bjaw\b|crushing"
    r"|出汗|冷汗|大汗|放射|左臂|胳膊|下巴|下颌|压榨"
)
_FEVER = r"fever|febrile|temperature of (?:3[89]|4[0-2])|rigors|发烧|发热|高烧|高热|寒战"
_SEPSIS_COMPANION = (
    r"confus|disoriented|drowsy|hard to wake|low blood pressure|hypotens|bp (?:of )?[4-8]\d/|mottled"
    r"|heart (?:rate )?(?:is )?racing|very fast (?:heart|pulse)|not passing urine|no urine"
    r"|意识模糊|神志不清|糊涂|血压(?:很)?低|血压下降|心跳(?:很|非常)?快|没有尿|皮肤发花"
)

RULES: dict[str, list[str]] = {
    "cardiac_chest_pain": [_CHEST, _CARDIAC_COMPANION],
    "stroke_signs": [
        r"(?:face|facial|mouth|smile) (?:is )?(?:droop|drooping|uneven)|droop(?:y|ing)? (?:face|mouth)"
        r"|slurr(?:ed|ing) (?:speech|words)|can(?:'|no)t (?:speak|get (?:the|her|his|my) words out)"
        r"|sudden(?:ly)? (?:weakness|numbness|paralysis|cannot move|can't move)|(?:one|left|right) side of "
        r"(?:the|his|her|my) body|hemipleg|loss of vision in one eye"
        r"|口角歪斜|嘴歪|口眼歪斜|说话(?:含糊|不清)|言语不清|口齿不清|一侧(?:肢体)?(?:无力|麻木)|半身不遂|偏瘫"
        r"|突然(?:看不见|失明)"
    ],
    "thunderclap_headache": [
        r"worst headache|thunderclap|sudden(?:,)? severe headache|headache came on (?:suddenly|in seconds)"
        r"|(?:一生中|这辈子)最(?:严重|剧烈)的头痛|突发(?:的)?剧烈头痛|突然剧烈头痛|雷击样头痛"
    ],
    "anaphylaxis": [
        r"throat (?:is )?(?:swell|swelling|closing|tight)|tongue (?:is )?swell|swollen (?:tongue|throat|lips)"
        r"|lips? (?:are |is )?swelling|(?:having|in|into) anaphyla|anaphylactic (?:shock|reaction)"
        r"|(?:hives|rash).{0,40}(?:can't|cannot|trouble|difficulty) breath"
        r"|喉咙(?:肿|发紧|紧)|喉头水肿|舌头(?:肿|发肿)|嘴唇(?:肿|发肿)|过敏性休克|严重过敏"
    ],
    "suicidal_ideation": [
        r"suicid|kill (?:myself|herself|himself)|end (?:my|his|her) (?:own )?life|want(?:s)? to die"
        r"|better off dead|no reason to live|hurt(?:ing)? (?:myself|herself|himself)|self[- ]harm"
        r"|自杀|轻生|不想活|想死|结束(?:自己的)?生命|活着没(?:有)?意思|自残|伤害自己"
    ],
    "sepsis_signs": [_FEVER, _SEPSIS_COMPANION],
    "severe_bleeding": [
        r"(?:heavy|severe|uncontrolled|profuse|massive) bleeding|bleeding (?:won't|will not|doesn't|does not) "
        r"stop|can(?:'|no)t stop (?:the )?bleeding|vomit(?:ing|ed)? (?:up )?blood|cough(?:ing|ed)? up "
        r"(?:a lot of |lots of )?blood|soak(?:ing|ed)? (?:through )?(?:a|one|two|\d+) pads? (?:an|every|per) hour"
        r"|hematemesis|大出血|出血不止|血流不止|止不住(?:的)?(?:血|出血)|吐血|呕血|咳(?:了很多)?血|大量出血"
    ],
    "respiratory_distress": [
        r"can(?:'|no)t breathe|cannot catch (?:my|his|her) breath|gasping for (?:air|breath)"
        r"|(?:lips|face) (?:are |is |turning )?(?:blue|grey|gray)|struggling to breathe|severe shortness of breath"
        r"|喘不上气|喘不过气|无法呼吸|呼吸(?:非常)?困难|嘴唇(?:发紫|发青)|憋气"
    ],
    "unresponsive_or_seizure": [
        r"unresponsive|won't wake up|will not wake|unconscious|passed out and|seizure (?:lasting|for) "
        r"(?:more than )?(?:[5-9]|\d\d)|non-stop seizure|status epilepticus"
        r"|昏迷|叫不醒|不省人事|抽搐不止|持续抽搐|癫痫持续"
    ],
}

LABELS = {
    "cardiac_chest_pain": ("chest pain with cardiac features", "伴心脏特征的胸痛"),
    "stroke_signs": ("signs of stroke", "卒中征象"),
    "thunderclap_headache": ("sudden severe headache", "突发剧烈头痛"),
    "anaphylaxis": ("possible anaphylaxis", "可能的严重过敏反应"),
    "suicidal_ideation": ("thoughts of suicide or self-harm", "自杀或自伤念头"),
    "sepsis_signs": ("possible sepsis", "可能的脓毒症"),
    "severe_bleeding": ("severe bleeding", "严重出血"),
    "respiratory_distress": ("severe breathing difficulty", "严重呼吸困难"),
    "unresponsive_or_seizure": ("unresponsiveness or prolonged seizure", "意识丧失或持续抽搐"),
}

_NEGATION = re.compile(r"\b(?:no|not|denies|denied|denying|without|negative for|never)\b|无|没有|否认|未见|未")
_CLAUSE_END = re.compile(r"[.;!?。；！？\n]|\bbut\b|但是|但")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_COMPILED = {name: [re.compile(group, re.IGNORECASE) for group in groups] for name, groups in RULES.items()}

NOTICE_EN = (
    "\n\n---\nmedassist is decision support, not a diagnosis: check the answer against its sources "
    "and your clinical judgement."
)
NOTICE_ZH = "\n\n---\nmedassist 仅供临床决策参考，不构成诊断：请结合引用来源和临床判断核实。"


def _affirmed(pattern: re.Pattern[str], text: str) -> bool:
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        clause = _CLAUSE_END.split(before)[-1]
        if not _NEGATION.search(clause):
            return True
    return False


def detect_red_flags(text: str) -> list[str]:
    """Names of the emergency patterns present (affirmed, not negated) in ``text``."""
    return [name for name, groups in _COMPILED.items() if all(_affirmed(g, text) for g in groups)]


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def emergency_message(flags: list[str], chinese: bool) -> str:
    """The text that goes before any model output when a red flag fires."""
    if chinese:
        what = "、".join(LABELS[f][1] for f in flags)
        return (
            f"⚠️ 紧急情况提示（{what}）：请立即拨打急救电话（如 120）或前往最近的急诊科，"
            "不要等待在线回答。\n\n"
        )
    what = ", ".join(LABELS[f][0] for f in flags)
    return (
        f"⚠️ Possible emergency ({what}): call your local emergency number (e.g. 911, 112, 999) or go to "
        "the nearest emergency department now. Do not wait for an online answer.\n\n"
    )


def notice(chinese: bool) -> str:
    return NOTICE_ZH if chinese else NOTICE_EN


@dataclass(frozen=True)
class SafetyAssessment:
    red_flags: list[str]
    chinese: bool

    @property
    def prefix(self) -> str:
        return emergency_message(self.red_flags, self.chinese) if self.red_flags else ""

    @property
    def suffix(self) -> str:
        return notice(self.chinese)

    @property
    def notice(self) -> str:
        """The notice on its own, for a response field."""
        return self.suffix.strip("\n -")


def assess(user_texts: list[str]) -> SafetyAssessment:
    joined = "\n".join(user_texts)
    return SafetyAssessment(red_flags=detect_red_flags(joined), chinese=is_chinese(joined))


def fingerprint(text: str) -> str:
    """What logs get instead of message text: a short, non-reversible hash."""
    return sha256_text(text)[:12]
