"""The philter engines (philter-lite's filters with the project's rules, alone and with Presidio):
skipped with a reason where ``medassist[phi]`` or its spaCy pipeline is not installed; `make setup`
installs both. The bars on the labelled sets compare engines measured in the same run, or are the
issue's targets; the figures themselves are in the README."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medassist.data.phi import engine_missing, find_phi, resolve_engine, scrub
from medassist.data.phi_eval import load_labelled, score

FIXTURES = Path(__file__).parent / "fixtures"
MISSING = engine_missing("philter+presidio")

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"PHI engine philter+presidio: {MISSING}")


@functools.cache
def report(name: str, engine: str) -> dict:
    return score(load_labelled(FIXTURES / name), engine)


def test_auto_keeps_presidio_and_philter_is_opt_in():
    """The choice the README explains: on the blind set Presidio made the fewest errors, counted alike."""
    assert resolve_engine("auto") == "presidio"
    assert resolve_engine("philter+presidio") == "philter+presidio"


@pytest.mark.parametrize("engine", ["philter", "philter+presidio"])
def test_names_no_cue_lexicon_or_model_knows_are_removed(engine):
    """Philter's catch-all: a word that is not in its dictionary goes, accents and hyphens included."""
    cleaned = scrub("Thandiwe Mbeki-Nakamura attended; spoke to Ekow at the pharmacy. "
                    "Zoë Fernández-Ortega seen with Nguyễn Văn Thắng. Referral from SHAUGHNESSY, Dermot.", engine)
    for part in ("Thandiwe", "Mbeki", "Nakamura", "Ekow", "Zo", "Fern", "ndez", "Ortega", "Nguy", "Văn", "Thắng",
                 "SHAUGHNESSY", "Dermot"):
        assert part not in cleaned, cleaned
    assert "attended; spoke to [NAME] at the pharmacy." in cleaned and "Referral from [NAME]" in cleaned


@pytest.mark.parametrize("text", [
    "Known Guillain-Barré syndrome, Kayser-Fleischer rings, Lewy body dementia and Hashimoto thyroiditis.",
    "Apgar 8 and 9, Gleason 4+3, CURB-65 2, HLA-B27 positive, anti-CCP raised, COVID-19 negative.",
    "HbA1c 58 mmol/mol, creatinine 186 μmol/L, TSH 0.01 mU/L, Hb 98 g/L, WBC 12.5-15.0.",
    "MMSE 18/30, GCS 14/15, BP 142/91, platelets 150-400, INR 2.0-3.0, cited PMID 12345678.",
    "Seen in clinic today. Kind regards, safeguarding team notified. DNACPR in place.",
    "Husband rang the ward; mobilised with a frame, tolerating diet, resus status discussed.",
    "Behçet病，Graves病，血压120/80mmHg。",
])
def test_clinical_text_stays(text):
    assert scrub(text, "philter") == text


def test_numbers_are_left_to_the_rules():
    assert scrub("LIU Xiaoming admitted 12/03/2024, MRN 00123456, MMSE 18/30.", "philter") == \
        "[NAME] admitted [DATE], MRN [ID], MMSE 18/30."


def test_chinese_names_come_from_jieba_under_philter_with_presidio():
    text = "刘德明因胸闷来诊，血压120/80mmHg。"
    assert scrub(text, "philter") == text  # Philter reads English only
    assert scrub(text, "philter+presidio") == "[NAME]因胸闷来诊，血压120/80mmHg。"


@pytest.mark.parametrize("name", ["phi_labelled.txt", "phi_heldout.txt", "phi_heldout2.txt"])
def test_development_sets(name):
    """The sets written before this engine (each looked at while it was built): philter+presidio
    finds at least what Presidio finds, at precision >= 0.95 and with at most 2% of clinical
    values changed (or one) (all 0 on the set the rules were written against)."""
    presidio, both = report(name, "presidio"), report(name, "philter+presidio")
    assert both["overall"]["recall"] >= presidio["overall"]["recall"], both["misses"]
    assert both["overall"]["precision"] >= 0.95, both["false_alarms"]
    assert both["keep"]["changed"] <= max(1, 0.02 * both["keep"]["values"]), both["changed"]
    if name == "phi_labelled.txt":
        assert both["keep"]["changed"] == 0 and both["overall"]["recall"] == 1.0
    philter = report(name, "philter")
    assert philter["overall"]["precision"] >= 0.95, philter["false_alarms"]
    assert philter["overall"]["recall"] >= report(name, "rules")["overall"]["recall"], philter["misses"]


@pytest.mark.parametrize("name", ["phi_heldout3.txt", "phi_heldout4.txt"])
def test_blind_set(name):
    """Held-out 3, scored once per engine when this engine was done, and held-out 4, written after it
    (first scores in the README): philter+presidio finds no less than either engine alone in the same
    run (Philter alone reads no Chinese, so since jieba's names improved it may find less than Presidio),
    and the philter engines do not fall far below their precision there (3: 0.903, 0.884; 4: 0.905,
    0.893) or change many more clinical values (3: 25, 35 of 443; 4: 35, 39 of 787). The misses are
    not printed: the sets stay blind to whoever runs this."""
    presidio, philter, both = (report(name, engine) for engine in ("presidio", "philter", "philter+presidio"))
    assert both["overall"]["recall"] >= max(philter["overall"]["recall"], presidio["overall"]["recall"])
    assert philter["overall"]["precision"] >= 0.88 and both["overall"]["precision"] >= 0.86
    assert both["keep"]["changed"] <= 0.10 * both["keep"]["values"]
    assert philter["keep"]["changed"] <= both["keep"]["changed"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_never_raises_and_never_grows(text):
    found = find_phi(text, "philter+presidio")
    assert all(0 <= f.start < f.end <= len(text) for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    cleaned = scrub(text, "philter+presidio")
    assert scrub(cleaned, "philter+presidio") == cleaned
