"""Answer extraction on a table of phrasings real models produce."""

import pytest

from medassist.data.answers.mcq import extract_choice
from medassist.data.answers.pubmedqa_decision import extract_yes_no_maybe

OPTIONS = {"A": "Chloramphenicol", "B": "Gentamicin", "C": "Ciprofloxacin", "D": "Ceftriaxone",
           "E": "Trimethoprim"}

PHRASINGS = [
    ("D", "D"),
    ("D.", "D"),
    ("(D)", "D"),
    ("D) Ceftriaxone", "D"),
    ("D. Ceftriaxone", "D"),
    ("**D**", "D"),
    ("Answer: D", "D"),
    ("Answer: D. Ceftriaxone", "D"),
    ("**Answer:** (D) Ceftriaxone", "D"),
    ("The answer is D.", "D"),
    ("the answer is d", "D"),
    ("The correct answer is (D) Ceftriaxone because it covers gonorrhea.", "D"),
    ("The correct option is D", "D"),
    ("Final answer - D", "D"),
    ("Based on the presentation, I would choose option D.", "D"),
    ("Disseminated gonococcal infection is treated with ceftriaxone.", "D"),
    ("Ceftriaxone", "D"),
    ("I think the best choice here is (D).", "D"),
    ("A 21-year-old man with urethritis and arthritis: treat with ceftriaxone", "D"),
    ("A", "A"),
    ("Answer: A", "A"),
    # unparseable: no letter, no option text, or a letter that is not an option
    ("", None),
    ("I am not sure.", None),
    ("The answer is a bacterial infection.", None),
    ("Answer: F", None),
    ("Either gentamicin or ciprofloxacin.", None),
    ("________________", None),
]


@pytest.mark.parametrize(("text", "expected"), PHRASINGS)
def test_extract_choice(text: str, expected: str | None) -> None:
    assert extract_choice(text, OPTIONS) == expected


def test_longest_option_text_wins_when_one_contains_another() -> None:
    options = {"A": "Angina", "B": "Unstable angina", "C": "Pericarditis"}
    assert extract_choice("This is unstable angina.", options) == "B"


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "yes"), ("No.", "no"), ("Maybe, the evidence is mixed.", "maybe"),
    ("Answer: no. Although yes in some subgroups", "no"), ("The study suggests yes.", "yes"),
    ("Unclear from the abstract", None),
])
def test_extract_yes_no_maybe(text: str, expected: str | None) -> None:
    assert extract_yes_no_maybe(text) == expected
