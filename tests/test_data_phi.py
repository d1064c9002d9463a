"""PHI scrubber: a table of identifiers that must go and clinical text that must stay."""

from __future__ import annotations

import logging

import pytest

from medassist.data.phi import PHIFilter, scrub, scrub_with_counts


@pytest.mark.parametrize(("text", "expected"), [
    ("Write to jane.doe+clinic@hospital.org today", "Write to [EMAIL] today"),
    ("see https://portal.example.com/p?id=1&u=a@b.c", "see [URL]"),
    ("records at www.example.org/patient", "records at [URL]"),
    ("Call 555-123-4567 or (020) 7946 0958", "Call [PHONE] or [PHONE]"),
    ("mobile +44 7700 900123", "mobile [PHONE]"),
    ("MRN: 00123456 admitted", "[MRN] admitted"),
    ("patient id AB-99812-X", "[MRN]"),
    ("SSN 123-45-6789", "[MRN]"),
    ("Seen 12/03/2024, again 2024-03-19", "Seen [DATE], again [DATE]"),
    ("born 3 March 1961 and reviewed March 3rd, 2024", "born [DATE] and reviewed [DATE]"),
    ("Dr. Gregory House and Mrs Smith", "Dr. [NAME] and Mrs [NAME]"),
    ("Prof. Ada Lovelace", "Prof. [NAME]"),
    ("Hello, my name is John Carter.", "Hello, my name is [NAME]."),
    ("account 123456789", "account [ID]"),
])
def test_identifiers_are_replaced(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize("text", [
    "BP 120/80, HR 112/min, temperature 38.5 C, pH 7.10, range 100-200 mg",
    "A 45-year-old man with crushing chest pain for 40 minutes; troponin 0.8 ng/mL",
    "Cited [99000001] and PMID 12345678",
    "Take 2 tablets every 8 hours for 5 days",
])
def test_clinical_text_is_kept(text):
    assert scrub(text) == text


def test_counts_by_kind():
    _, counts = scrub_with_counts("Dr. Who, who@tardis.org, 555-123-4567, 01/02/2020, 01/02/2021")
    assert counts == {"NAME": 1, "EMAIL": 1, "PHONE": 1, "DATE": 2}


def test_logging_filter_scrubs_messages(caplog):
    logger = logging.getLogger("medassist.test.phi")
    phi_filter = PHIFilter()
    logger.addFilter(phi_filter)
    try:
        with caplog.at_level(logging.INFO, logger="medassist.test.phi"):
            logger.info("user %s wrote: %s", "jane@x.org", "call me at 555-123-4567")
    finally:
        logger.removeFilter(phi_filter)
    assert caplog.messages == ["user [EMAIL] wrote: call me at [PHONE]"]


def test_scrub_cli_file_and_stdin(tmp_path, capsys, monkeypatch):
    import io

    from medassist.cli import main

    source = tmp_path / "notes.txt"
    source.write_text("Seen by Dr. Grey on 04/05/2025, call 555-123-4567.\n")
    out = tmp_path / "clean.txt"
    main(["data", "scrub", str(source), "--out", str(out)])
    assert out.read_text() == "Seen by Dr. [NAME] on [DATE], call [PHONE].\n"
    assert "scrubbed: DATE=1, NAME=1, PHONE=1" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("mail me: a.b@c.org"))
    main(["data", "scrub"])
    assert capsys.readouterr().out == "mail me: [EMAIL]"
