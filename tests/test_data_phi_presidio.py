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


@pytest.mark.parametrize("name", ["phi_labelled.txt", "phi_heldout.txt"])
def test_ner_adds_recall_without_touching_clinical_values(name):
    sentences = load_labelled(FIXTURES / name)
    rules, ner = score(sentences, "rules"), score(sentences, "presidio")
    assert ner["keep"]["changed"] == 0, ner["changed"]
    assert ner["kinds"]["NAME"]["recall"] >= rules["kinds"]["NAME"]["recall"]
    assert ner["overall"]["precision"] >= 0.90, ner["false_alarms"]
