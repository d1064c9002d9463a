"""The WhatsApp formatter and the consultation exports (pure functions, no server)."""

from __future__ import annotations

import re

from medassist.ui.client import (
    Candidate,
    CombinedCondition,
    ConsultationState,
    DiagnoseResult,
    Explanation,
    FindingWeight,
    Reference,
)
from medassist.ui.export import consultation_markdown, consultation_whatsapp, markdown_to_whatsapp
from medassist.ui.session import Asked, Case, Consultation, Guided, Turn


def test_inline_markup_becomes_whatsapp_markers():
    out = markdown_to_whatsapp("Give **aspirin**, *not* ~~warfarin~~; check `INR`.")
    assert out == "Give *aspirin*, _not_ ~warfarin~; check ```INR```.\n"


def test_blocks_headings_lists_quotes_code_links():
    md = (
        "# Plan\n\nIntro line\nsecond line\n\n- first **item**\n- second\n  - nested\n\n3. three\n4. four\n\n"
        "> quoted text\n\n```\nBP 90/60\nHR 120\n```\n\nSee [PubMed](https://pubmed.ncbi.nlm.nih.gov/1/) "
        "and https://x.org\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert markdown_to_whatsapp(md).split("\n") == [
        "*Plan*", "", "Intro line", "second line", "",
        "• first *item*", "• second", "  • nested", "",
        "3. three", "4. four", "",
        "> quoted text", "",
        "```BP 90/60", "HR 120```", "",
        "See PubMed (https://pubmed.ncbi.nlm.nih.gov/1/) and https://x.org", "",
        "──────────", "",
        "*a | b*", "• 1 | 2", "",
    ]


def test_bold_inside_heading_is_not_doubled_and_plain_text_is_untouched():
    assert markdown_to_whatsapp("## **Red** flags _now_") == "*Red flags _now_*\n"
    assert markdown_to_whatsapp("plain words, 发热 3 天") == "plain words, 发热 3 天\n"


def _consultation() -> Consultation:
    cite = Reference("12345", "Sepsis in adults", "Early antibiotics...", 0.9, 2019)
    c = Consultation(turns=[
        Turn("user", "Fever and confusion, what next?"),
        Turn("assistant", "Consider **sepsis** [12345].", [cite], ["sepsis signs"], "medassist"),
        Turn("user", "And without sources?"),
        Turn("assistant", "No idea.", [], [], "medassist"),
    ])
    c.case_text = Case("fever", 70, "female", temp_c=39.1, heart_rate=120, blood_pressure="85/50").text
    c.diagnosis = DiagnoseResult([Candidate("Sepsis", 0.7, "hypotension and fever", [cite]),
                             Candidate("Pneumonia", 0.2)], ["sepsis signs"], [cite])
    return c


def test_consultation_markdown_and_whatsapp():
    c = _consultation()
    md = consultation_markdown(c, "en")
    assert "[PMID 12345](https://pubmed.ncbi.nlm.nih.gov/12345/)" in md
    assert "No supporting source found." in md
    assert "1. **Sepsis** (70%): hypotension and fever" in md
    assert "> A 70-year-old woman.\n> Chief complaint: fever.\n> Vitals: temperature 39.1 °C, heart rate 120/min, " \
           "blood pressure 85/50 mmHg." in md  # the training cases' format, quoted line by line
    wa = consultation_whatsapp(c, "en")
    assert "**" not in wa and "[PMID" not in wa
    assert "*Clinician*" in wa and "*Red flags: possible emergency*: sepsis signs" in wa
    assert "Consider *sepsis* [12345]." in wa
    assert "• PMID 12345 (https://pubmed.ncbi.nlm.nih.gov/12345/) Sepsis in adults (2019)" in wa
    assert "1. *Sepsis* (70%): hypotension and fever" in wa
    assert "_Decision support only" not in wa  # the notice is a quote, not italics
    assert wa.count("> Decision support only") == 1


def test_consultation_export_in_chinese():
    wa = consultation_whatsapp(_consultation(), "zh")
    assert "*医生*" in wa and "仅为决策支持" in wa and "*鉴别诊断*" in wa


def test_exports_are_scrubbed_unless_raw_is_asked_for():
    c = Consultation(turns=[
        Turn("user", "Mrs Jane Roe, DOB 03/04/1961, MRN 00123456, call 555-123-4567: BP 150/95, INR 2.0-3.0"),
        Turn("assistant", "For Mrs Jane Roe consider **hypertensive urgency**.", [], [], "medassist"),
    ])
    c.case_text = "患者张伟，电话13812345678，胸痛"
    c.diagnosis = DiagnoseResult([Candidate("Parkinson disease", 0.6, "tremor noted by Dr. Gregory House")], [], [])
    md = consultation_markdown(c, "en")
    for value in ("Jane Roe", "03/04/1961", "00123456", "555-123-4567", "张伟", "13812345678", "Gregory House",
                  c.started):
        assert value not in md
    assert "Mrs [NAME], DOB [DATE], MRN [ID], call [PHONE]: BP 150/95, INR 2.0-3.0" in md
    assert "1. **Parkinson disease** (60%): tremor noted by Dr. [NAME]" in md
    assert "患者[NAME]，电话[PHONE]，胸痛" in md
    assert "Jane Roe" not in consultation_whatsapp(c, "en")
    raw = consultation_markdown(c, "en", scrub_phi=False)
    assert "Mrs Jane Roe, DOB 03/04/1961" in raw and "13812345678" in raw
    assert "555-123-4567" in consultation_whatsapp(c, "en", scrub_phi=False)


def _guided(age: int = 59) -> Consultation:
    why = Explanation([FindingWeight("swollen calf", 1.234)], [FindingWeight("fever", -0.4)],
                      "swollen calf raises Pulmonary embolism; fever lowers Pulmonary embolism")
    result = DiagnoseResult(
        [Candidate("Pulmonary embolism", 0.7, "", [], 2, True, why), Candidate("Pneumonia", 0.3, severity=3)],
        ["dyspnoea"], [], f"A {age}-year-old man.\nChief complaint: a swollen or painful calf.\n"
                         "Symptoms: shortness of breath.",
        combined=[CombinedCondition("Pulmonary embolism", 0.62, 0.7, 0.54, True),
                  CombinedCondition("Pneumonia", 0.31, 0.3, 0.32)])
    guided = Guided(ConsultationState("E_22", age, "M", {"E_4": [True], "E_1": [False]}),
                    "Swollen or painful calf", result=result)
    guided.asked = [Asked("E_4", "Are you short of breath?", [True], "yes", "Pneumonia", "Pulmonary embolism"),
                    Asked("E_30", "Do you smoke cigarettes?", None),
                    Asked("E_1", "Do you have a fever?", [False], "no", "Pulmonary embolism", "Pulmonary embolism")]
    return Consultation(guided=guided)


def test_guided_consultation_export_keeps_the_questions_and_the_explanations():
    md = consultation_markdown(_guided(), "en")
    assert "## Guided consultation" in md
    assert "age 59 · male, chief complaint: Swollen or painful calf" in md
    assert ("**Questions asked: 2 answered, 1 skipped**\n\n1. Are you short of breath? **yes**\n"
            "2. Do you smoke cigarettes? _skipped_\n3. Do you have a fever? **no**") in md
    assert "> A 59-year-old man.\n> Chief complaint: a swollen or painful calf." in md
    assert "**Red flags: possible emergency**: dyspnoea" in md
    assert ("1. **Pulmonary embolism** (70%) \u26a0 must not miss (2/5)\n   - For: swollen calf +1.23\n"
            "   - Against: fever \u22120.40\n   - _swollen calf raises Pulmonary embolism; fever lowers "
            "Pulmonary embolism_\n2. **Pneumonia** (30%)\n") in md
    assert ("### Model + knowledge base\n\nThe model's differential mixed with" in md
            and "1. **Pulmonary embolism** 62% (Model 70%, Knowledge base 54%) \u26a0 must not miss\n"
            "2. **Pneumonia** 31% (Model 30%, Knowledge base 32%)" in md)
    wa = consultation_whatsapp(_guided(), "en")
    assert "*Questions asked: 2 answered, 1 skipped*" in wa and "2. Do you smoke cigarettes? _skipped_" in wa
    assert "• For: swollen calf +1.23" in wa
    assert "*引导问诊*" in consultation_whatsapp(_guided(), "zh")


def test_guided_export_scrubs_an_age_over_89():
    md = consultation_markdown(_guided(age=93), "en")
    # the age as a number of its own: the export's random consultation id may hold the digits "93"
    age = re.compile(r"(?<![0-9A-Za-z])93(?![0-9A-Za-z])")
    assert not age.search(md), md
    assert age.search(consultation_markdown(_guided(age=93), "en", scrub_phi=False))
