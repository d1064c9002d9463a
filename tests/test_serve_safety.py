"""Red-flag detector: every urgent phrasing escalates, no non-urgent control does (en + zh)."""

from __future__ import annotations

import pytest

from medassist.serve.safety import assess, detect_red_flags, emergency_message, fingerprint

URGENT = [
    ("crushing chest pain radiating to my left arm", "cardiac_chest_pain"),
    ("chest pain and I'm sweating a lot", "cardiac_chest_pain"),
    ("58M with chest pressure, diaphoretic and clammy", "cardiac_chest_pain"),
    ("chest tightness spreading to the jaw for 20 minutes", "cardiac_chest_pain"),
    ("胸痛，出了一身冷汗", "cardiac_chest_pain"),
    ("胸口压榨样疼痛，放射到左臂", "cardiac_chest_pain"),
    ("my father's face is drooping and his speech is slurred", "stroke_signs"),
    ("sudden weakness on the right side of her body", "stroke_signs"),
    ("she suddenly can't speak and her smile is uneven", "stroke_signs"),
    ("口角歪斜，说话含糊不清", "stroke_signs"),
    ("突然一侧肢体无力", "stroke_signs"),
    ("worst headache of my life, came on in seconds", "thunderclap_headache"),
    ("突发剧烈头痛，伴呕吐", "thunderclap_headache"),
    ("stung by a bee and now my throat is closing", "anaphylaxis"),
    ("I think I am having anaphylaxis after the injection", "anaphylaxis"),
    ("ate peanuts, tongue is swelling and hives everywhere", "anaphylaxis"),
    ("吃了虾以后喉咙肿，嘴唇肿", "anaphylaxis"),
    ("I want to kill myself", "suicidal_ideation"),
    ("I have been thinking about suicide every day", "suicidal_ideation"),
    ("honestly everyone would be better off dead without me", "suicidal_ideation"),
    ("我不想活了", "suicidal_ideation"),
    ("最近总想自杀", "suicidal_ideation"),
    ("fever of 39.5 and now he is confused", "sepsis_signs"),
    ("high fever, low blood pressure and mottled skin", "sepsis_signs"),
    ("发高烧，神志不清，血压很低", "sepsis_signs"),
    ("heavy bleeding from a cut that won't stop", "severe_bleeding"),
    ("the bleeding will not stop after 20 minutes of pressure", "severe_bleeding"),
    ("vomiting blood since this morning", "severe_bleeding"),
    ("伤口血流不止", "severe_bleeding"),
    ("今天早上吐血了", "severe_bleeding"),
    ("my child can't breathe and her lips are turning blue", "respiratory_distress"),
    ("喘不上气，嘴唇发紫", "respiratory_distress"),
    ("my grandmother is unresponsive on the floor", "unresponsive_or_seizure"),
    ("seizure lasting more than 5 minutes", "unresponsive_or_seizure"),
    ("孩子抽搐不止", "unresponsive_or_seizure"),
]

CONTROLS = [
    "mild sore throat and runny nose for two days",
    "what is the first-line treatment for hypertension?",
    "patient denies chest pain or sweating",
    "no chest pain, no shortness of breath, just a dry cough",
    "I sweat a lot when I exercise at the gym",
    "chest pain when I press on my rib after a fall last week, no other symptoms",
    "what are the risk factors for stroke?",
    "explain the mechanism of anaphylaxis in immunology",
    "history of peanut allergy, currently well, asking about travel",
    "low-grade fever and a mild cough",
    "my knee hurts after running",
    "what does a high HbA1c mean?",
    "small nosebleed that stopped after five minutes",
    "occasional headache in the afternoon, relieved by rest",
    "itchy rash on my forearm after gardening",
    "how should metformin be dosed in renal impairment?",
    "dry skin in winter",
    "my baby has a mild diaper rash",
    "recommended vaccines for adults over 65",
    "what is the differential for chronic cough?",
    "feeling tired after night shifts",
    "denies suicidal ideation, mood is good",
    "轻微咳嗽三天",
    "高血压的一线治疗是什么？",
    "没有胸痛，也没有出汗",
    "运动后出汗很多",
    "膝盖跑步后有点疼",
    "低烧，轻微咳嗽",
    "皮肤干燥发痒",
    "糖尿病患者如何控制饮食？",
    "偶尔头痛，休息后缓解",
    "否认自杀念头，睡眠良好",
]


def test_sets_are_large_enough() -> None:
    assert len(URGENT) >= 30 and len(CONTROLS) >= 30
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text, _ in URGENT) >= 10


@pytest.mark.parametrize(("text", "flag"), URGENT)
def test_every_urgent_phrasing_escalates(text: str, flag: str) -> None:
    assert flag in detect_red_flags(text)


@pytest.mark.parametrize("text", CONTROLS)
def test_no_false_alarm_on_controls(text: str) -> None:
    assert detect_red_flags(text) == []


def test_emergency_message_matches_language() -> None:
    zh = assess(["胸痛，出了一身冷汗"])
    assert zh.chinese and zh.prefix.startswith("⚠️") and "120" in zh.prefix
    en = assess(["crushing chest pain radiating to my left arm"])
    assert not en.chinese and "emergency department" in en.prefix and "decision support" in en.suffix
    assert emergency_message(["suicidal_ideation"], chinese=False).startswith("⚠️ Possible emergency")


def test_fingerprint_does_not_contain_text() -> None:
    fp = fingerprint("John Smith, MRN 123456, chest pain")
    assert len(fp) == 12 and "Smith" not in fp and fp == fingerprint("John Smith, MRN 123456, chest pain")

