"""The labelled PHI set through every place text is kept: the gateway's log, the UI's exports and
the feedback database. No identifier from the set may appear in any of them.

The sentences go to a real gateway on loopback (the session's, local engine) as chat questions,
grounded and not, as cases for ``/v1/diagnose`` (short answers, so some fail validation and
are logged as such) and inside rejected requests; then into a consultation exported as Markdown
and WhatsApp text, and into the SQLite feedback store and its CSV export. Every artefact is read
back and searched for every labelled identifier.

The set is ``tests/fixtures/phi_labelled.txt``, the one the rules were written against, so this is
a check that each path applies the scrubber, not a measure of the scrubber on unseen text
(``medassist data phi-eval`` on ``tests/fixtures/phi_heldout.txt`` is that measure).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from medassist.data.phi_eval import Sentence, load_labelled
from medassist.serve.protocol import MODEL_GROUNDED, MODEL_PLAIN
from medassist.ui.export import consultation_markdown, consultation_whatsapp
from medassist.ui.feedback import FeedbackRow, FeedbackStore
from medassist.ui.session import Consultation, Turn

LABELLED = Path(__file__).parent / "fixtures" / "phi_labelled.txt"


@pytest.fixture(scope="module")
def sentences() -> list[Sentence]:
    return load_labelled(LABELLED)


def identifiers(sentences: list[Sentence]) -> set[str]:
    """Every labelled identifier's text; those under 4 characters (an age, "Jo") would match by
    chance in any log, so they are left to the per-kind scores of ``phi-eval``."""
    spans = {s.text[f.start:f.end].strip() for s in sentences for f in s.phi}
    return {span for span in spans if len(span) >= 4}


def leaked(found_in: str, names: set[str]) -> list[str]:
    """The identifiers that stand in ``found_in`` as themselves, not glued to ASCII letters or digits:
    request ids and hashes are hex, so a ZIP such as 90210 turns up inside one by chance (a CI run
    failed on it); an identifier a path failed to scrub is bounded by spaces, punctuation,
    quotes or CJK text."""
    return sorted(name for name in names
                  if re.search(rf"(?<![0-9A-Za-z]){re.escape(name)}(?![0-9A-Za-z])", found_in))


def test_no_labelled_identifier_reaches_a_log_an_export_or_the_database(live_server, sentences, tmp_path) -> None:
    names = identifiers(sentences)
    assert len(sentences) >= 200 and len(names) >= 150
    headers = {"Authorization": f"Bearer {live_server.api_key}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=120) as http:
        for i, sentence in enumerate(sentences):
            reply = http.post("/chat/completions", json={
                "model": MODEL_GROUNDED if i % 2 else MODEL_PLAIN, "max_tokens": 1,
                "messages": [{"role": "user", "content": sentence.text}]})
            assert reply.status_code == 200, reply.text
        for sentence in sentences[:4]:  # 40 tokens cannot hold a differential: answers fail validation
            http.post("/diagnose", json={"case": sentence.text, "max_tokens": 40, "rag": False})
        for sentence in sentences[4:8]:  # rejected requests: a bad role, an unknown field
            assert http.post("/chat/completions", json={
                "model": MODEL_PLAIN, "messages": [{"role": "doctor", "content": sentence.text}]}).status_code == 400
            assert http.post("/chat/completions", json={
                "model": MODEL_PLAIN, "note": sentence.text,
                "messages": [{"role": "user", "content": "hi"}]}).status_code == 400
    log = live_server.log_path.read_text(errors="replace")
    assert "prompt_sha=" in log  # the requests were logged, by hash
    assert leaked(log, names) == []

    consultation = Consultation(case_text=sentences[0].text)
    for sentence in sentences:
        consultation.turns += [Turn("user", sentence.text), Turn("assistant", f"Noted: {sentence.text}")]
    exports = {"consultation.md": consultation_markdown(consultation),
               "consultation.txt": consultation_whatsapp(consultation)}
    for name, text in exports.items():
        (tmp_path / name).write_text(text)
        assert leaked(text, names) == [], name

    store = FeedbackStore(tmp_path / "feedback.sqlite")
    for sentence in sentences:
        store.add(FeedbackRow(consultation_id=consultation.id, answer_id="a1", rating=0, comment=sentence.text,
                              question=sentence.text, answer=f"Noted: {sentence.text}", model=MODEL_GROUNDED,
                              rag=True, k=5, pmids=[], lang="en"))
    assert store.export_csv(tmp_path / "feedback.csv") == len(sentences)
    with sqlite3.connect(tmp_path / "feedback.sqlite") as conn:
        stored = "\n".join(str(value) for row in conn.execute("SELECT * FROM feedback") for value in row)
    for name, text in (("database rows", stored), ("feedback.csv", (tmp_path / "feedback.csv").read_text()),
                       ("database file", (tmp_path / "feedback.sqlite").read_bytes().decode("utf-8", "replace"))):
        assert leaked(text, names) == [], name
