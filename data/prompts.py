"""What every conversation shares: the system prompt, and how a patient case reads.

One source of truth, so the model is asked at inference exactly as it was trained. Each answer
format's own prompt, trained answer and parser are in ``medassist.data.answers``. They are kept
short on purpose: the embedded models train with 512-768-token sequences on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

SYSTEM_PROMPT = (
    "You are medassist, a decision-support assistant for clinicians. You are not a doctor and do not "
    "replace clinical judgement: state uncertainty, cite sources when given, and flag emergencies."
)


def chat_messages(user: str) -> list[dict[str, str]]:
    """A question as the model was trained on it: the shared system prompt, then the user turn."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def case_vignette(age: int | None, sex: str | None, chief_complaint: str, symptoms: Sequence[str] = (),
                  history: Sequence[str] = (), vitals: Sequence[str] = ()) -> str:
    """A patient case as the model reads it, in one format for everyone: DDXPlus patients become
    this text for training (``DDXPlusKB.vignette``), and the UI's case form and the demo write
    the same, so a case a clinician types looks like the cases the model learned from. ``sex``:
    DDXPlus's ``M``/``F`` or the form's ``male``/``female`` (anything else: "patient")."""
    code = {"m": "M", "male": "M", "f": "F", "female": "F"}.get((sex or "").strip().lower())
    adult = age is None or age >= 18
    noun = {"M": "man" if adult else "boy", "F": "woman" if adult else "girl"}.get(code or "", "patient")
    lines = [f"A {age}-year-old {noun}." if age is not None else f"A {noun}."]
    for label, items, joiner in (("Chief complaint", [chief_complaint], "; "), ("Symptoms", symptoms, "; "),
                                 ("History", history, "; "), ("Vitals", vitals, ", ")):
        kept = [item.strip().rstrip(".") for item in items if item and item.strip()]
        if kept:
            lines.append(f"{label}: {joiner.join(kept)}.")
    return "\n".join(lines)

