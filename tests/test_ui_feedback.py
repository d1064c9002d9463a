"""The feedback store on a real SQLite file, and ``medassist ui export-feedback``."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from medassist.cli import main
from medassist.errors import MedassistError
from medassist.ui.feedback import FeedbackRow, FeedbackStore


def _row(**kw) -> FeedbackRow:
    values = dict(consultation_id="c1", answer_id="a1", rating=1, comment="", question="fever?",
                  answer="Consider sepsis [123].", model="medassist", rag=True, k=5, pmids=["123"], lang="en")
    return FeedbackRow(**(values | kw))


def test_created_on_first_use_and_phi_scrubbed(tmp_path):
    db = tmp_path / "nested" / "feedback.sqlite"
    store = FeedbackStore(db)
    assert not db.exists()
    store.add(_row(comment="call me on 555-123-4567 or jane@clinic.org", question="MRN 1234567, fever?"))
    store.add(_row(answer_id="a2", rating=0))
    raw = sqlite3.connect(db).execute("SELECT comment, question, rating, pmids FROM feedback ORDER BY id").fetchall()
    assert raw[0][2:] == (1, '["123"]') and raw[1][2] == 0
    stored_text = " ".join(raw[0][:2])
    assert "555-123-4567" not in stored_text and "jane@clinic.org" not in stored_text and "1234567" not in stored_text
    assert "fever?" in stored_text


def test_names_dates_and_chinese_identifiers_never_reach_the_database(tmp_path):
    db = tmp_path / "feedback.sqlite"
    FeedbackStore(db).add(_row(comment="pt james miller, DOB 15-Mar-1961, lives at 42 Elm Street",
                               question="患者张伟，电话13812345678，身份证110105196103150021，胸痛",
                               answer="A 92-year-old: BP 120/80, INR 2.0-3.0"))
    comment, question, answer = sqlite3.connect(db).execute("SELECT comment, question, answer FROM feedback").fetchone()
    assert comment == "pt [NAME], DOB [DATE], lives at [ADDRESS]"
    assert question == "患者[NAME]，电话[PHONE]，身份证[ID]，胸痛"
    assert answer == "A [AGE]-year-old: BP 120/80, INR 2.0-3.0"


def test_export_csv_and_cli(tmp_path, capsys):
    db, out = tmp_path / "fb.sqlite", tmp_path / "out" / "fb.csv"
    store = FeedbackStore(db)
    store.add(_row(comment="too vague"))
    store.add(_row(answer_id="a2", rating=0, rag=False, pmids=[]))
    main(["ui", "export-feedback", "--db", str(db), "--out", str(out)])
    assert "wrote 2 feedback rows" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [(r["answer_id"], r["rating"], r["rag"], r["comment"]) for r in rows] == [
        ("a1", "1", "1", "too vague"), ("a2", "0", "0", "")]
    assert rows[0]["created"].endswith("Z") and rows[0]["model"] == "medassist"


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    with pytest.raises(MedassistError, match="rating must be 0"):
        FeedbackStore(tmp_path / "fb.sqlite").add(_row(rating=5))
    not_db = tmp_path / "notes.sqlite"
    not_db.write_text("this is not sqlite " * 100)
    with pytest.raises(MedassistError, match="notes.sqlite: not a usable feedback database"):
        FeedbackStore(not_db).add(_row())
    with pytest.raises(SystemExit) as exit_info:
        main(["ui", "export-feedback", "--db", str(tmp_path / "missing.sqlite"), "--out", str(tmp_path / "x.csv")])
    assert exit_info.value.code == 2
    assert "feedback database not found" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_ui_command_rejects_a_url_it_cannot_use(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ui", "--api", "localhost:8000"])
    assert exit_info.value.code == 2
    assert "--api: expected an http(s) URL" in capsys.readouterr().err
