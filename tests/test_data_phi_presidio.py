"""The optional NER engine (Presidio + spaCy): skipped with a reason where ``medassist[phi]`` and its
spaCy pipeline are not installed; `make setup` installs both."""

from __future__ import annotations

from pathlib import Path

import pytest

from medassist.data.phi import scrub
from medassist.data.phi_eval import load_labelled, score
from medassist.data.phi_presidio import presidio_missing

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.skipif(bool(presidio_missing()), reason=f"PHI NER engine: {presidio_missing()}")


def test_names_without_any_cue_are_found():
    text = "Dawson was reviewed on the ward. Chidi Okonkwo has sickle cell disease, BP 120/80."
    cleaned = scrub(text, "presidio")
    assert "Dawson" not in cleaned and "Okonkwo" not in cleaned
    assert "sickle cell disease, BP 120/80." in cleaned


def test_eponyms_and_abbreviations_are_not_people():
    text = "Known Parkinson disease and Graves disease; SOB on exertion, WBC 12.5-15.0."
    assert scrub(text, "presidio") == text


@pytest.mark.parametrize("text", [
    "Positive Murphy's sign, known Barrett's oesophagus and Raynaud's phenomenon.",  # possessive eponyms
    "Airway Mallampati III; ulcer Forrest IIa on endoscopy.",  # a classification and its grade
    "Plotted on the Hartford nomogram; Berg Balance 38/56; Lester tool completed.",  # tools named after people
    # other languages' diseases and scales, a fluid, a grade inside the span, units and words that are no one
    "Escala de Glasgow 13, Killip II; score de Glasgow 14; Syndrome de Guillain-Barré; Morbus Crohn.",
    "Adrenaline 0.5 mg IM, then Hartmann's solution 1 L; Stage IIB; BP 120/80 mmHg, Cr 2.14 mg/dL.",
    "Transferred to Keats Ward, then Ward C; HbSS, HBsAg negative; Paciente de 70 años; Rift Valley fever.",
    # an eponym standing alone for a device, a test or a score, which the English model reads as a person
    "Doppler was normal. Foley was removed. Apgar was 9. Holter was unremarkable. Coombs was positive.",
    # found on MedQA vignettes: English words the model calls a person or a place, a lab table's results,
    # a people, a continent, a state after a compass word
    "Gait is cautious. Urinalysis: Glucose None, Ketones None, Nitrites Positive, Protein Trace, Color Yellow.",
    "A 22-year-old Caucasian G1 back from southeast Asia and Southern California; Hemoglobin A1c 6.7%; "
    "Vitamin B12 500 pg/mL; Heinz bodies; Charcot-Leyden crystals; Streptococcus mutans; Achilles tendon.",
    "Cefazolin Resistant, Vancomycin Resistant; travel to Central and South America; Rinne test; Thayer-Martin "
    "agar; a Jehovah's Witness; she lives in North Carolina.",
])
def test_eponyms_of_other_shapes_are_not_people(text):
    assert scrub(text, "presidio") == text


def test_an_eponyms_bearer_is_still_a_person():
    out = scrub("Mr Foley was seen by Dr Holter; Foley catheter out.", "presidio")
    assert out.startswith("Mr [NAME] was seen by ") and "Holter" not in out and out.endswith("; Foley catheter out.")


def test_names_with_particles_and_given_names_that_are_words_stay_names():
    text = ("NOK: van den Berg, Pieter. She lives with her son Will in Ballymena. Health worker Bridie Ward. "
            "Jürgen Müller, Morbus Crohn.")
    cleaned = scrub(text, "presidio")
    assert not any(part in cleaned for part in ("van den Berg", "Pieter", "Will", "Ballymena", "Bridie", "Jürgen",
                                                "Müller"))
    assert cleaned.endswith(", Morbus Crohn.")


@pytest.mark.parametrize("name", ["phi_labelled.txt", "phi_heldout.txt"])
def test_ner_adds_recall_without_touching_clinical_values(name):
    sentences = load_labelled(FIXTURES / name)
    rules, ner = score(sentences, "rules"), score(sentences, "presidio")
    assert ner["keep"]["changed"] == 0, ner["changed"]
    assert ner["kinds"]["NAME"]["recall"] >= rules["kinds"]["NAME"]["recall"]
    assert ner["overall"]["precision"] >= 0.90, ner["false_alarms"]


def test_cities_go_but_countries_and_states_stay():
    text = "Lives alone in Glasgow, moved from Texas; travelled to Kenya. Glasgow Coma Scale 9."
    assert scrub(text, "presidio") == ("Lives alone in [ADDRESS], moved from Texas; travelled to Kenya. "
                                       "Glasgow Coma Scale 9.")


def test_chinese_names_without_a_cue_and_everyday_words_that_start_with_a_surname():
    text = "刘德明因胸闷来诊。唐氏综合征患儿，白塞病，谢谢。责任护士赵敏交班。"
    cleaned = scrub(text, "presidio")
    assert "刘德明" not in cleaned and "赵敏" not in cleaned
    for word in ("唐氏综合征", "白塞病", "谢谢", "责任护士"):
        assert word in cleaned, cleaned


@pytest.mark.parametrize("name", ["phi_heldout2.txt", "phi_heldout3.txt", "phi_heldout4.txt"])
def test_blind_sets_load_and_ner_keeps_its_precision(name):
    """The sets written blind to the rules (their first scores are in the README). The bar here
    is the one a regression must not cross, not the target: recall is far below 0.98 on them."""
    sentences = load_labelled(FIXTURES / name)
    assert len(sentences) >= 250
    ner = score(sentences, "presidio")
    assert ner["overall"]["precision"] >= 0.95, ner["false_alarms"]
    assert ner["overall"]["recall"] >= score(sentences, "rules")["overall"]["recall"]
