"""PHI never reaches a log: a real CLI run writing a real log file, third-party loggers with their
own handlers, tracebacks, and records made without the record factory."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from medassist.data.phi import PHIFilter
from medassist.logs import configure_logging

IDENTIFIERS = ("Gregory House", "555-123-4567", "Jane Roe", "03/04/1961", "13812345678", "张伟")


@pytest.fixture
def logging_state():
    """configure_logging changes process-wide state: put it back after the test."""
    root = logging.getLogger()
    factory, handlers, level = logging.getLogRecordFactory(), list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    logging.setLogRecordFactory(factory)
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_run_logs_only_placeholders(tmp_path):
    """``medassist data build`` on a user's file in a folder named after the patient: the log file
    shows placeholders, and so does the training data it wrote."""
    folder = tmp_path / "Dr Gregory House 555-123-4567"
    folder.mkdir()
    source = folder / "notes.csv"
    source.write_text("text,label\n"
                      '"Mrs Jane Roe, DOB 03/04/1961, call 555-123-4567: chest pain on exertion",urgent\n'
                      '"患者张伟，电话13812345678，咳嗽三天",routine\n', encoding="utf-8")
    log_file, out = tmp_path / "logs" / "medassist.log", tmp_path / "built"
    env = {**os.environ, "MEDASSIST_LOG_FILE": str(log_file), "MEDASSIST_PHI_ENGINE": "rules"}
    subprocess.run([sys.executable, "-m", "medassist.cli", "data", "build", str(source), "--source", "custom",
                    "--out", str(out)], check=True, env=env, capture_output=True, text=True, timeout=120)
    logged = log_file.read_text(encoding="utf-8")
    assert "notes.csv: 2 custom records loaded" in logged
    assert "Dr [NAME] [PHONE]" in logged
    assert "PHI replaced in the training texts: DATE=1, NAME=2, PHONE=2" in logged
    trained = (out / "train.jsonl").read_text(encoding="utf-8")
    assert "chest pain on exertion" in trained and "咳嗽三天" in trained
    for value in IDENTIFIERS:
        assert value not in logged and value not in trained
    assert json.loads((out / "stats.json").read_text())["phi_scrubbed"] == {"DATE": 1, "NAME": 2, "PHONE": 2}


def test_keep_phi_is_an_explicit_choice(tmp_path):
    from medassist.cli import main

    source = tmp_path / "notes.csv"
    source.write_text('text,label\n"Mrs Jane Roe has chest pain",urgent\n', encoding="utf-8")
    main(["data", "build", str(source), "--source", "custom", "--out", str(tmp_path / "raw"), "--keep-phi"])
    assert "Jane Roe" in (tmp_path / "raw" / "train.jsonl").read_text()


def test_third_party_logger_with_its_own_handler(tmp_path, logging_state):
    """A library that brings its own handler and does not propagate (uvicorn, transformers) is
    covered even when its handler appears after the setup ran."""
    configure_logging(log_file=tmp_path / "root.log")
    library = logging.getLogger("some.library")
    own = logging.FileHandler(tmp_path / "library.log", encoding="utf-8")
    library.addHandler(own)
    library.propagate = False
    try:
        library.warning("request from %s (%s) failed", "Dr. Gregory House", "555-123-4567")
        try:
            raise ValueError("patient Jane Roe, DOB 03/04/1961")
        except ValueError:
            logging.getLogger("medassist.test").exception("could not parse the case of %s", "Mrs Jane Roe")
    finally:
        library.removeHandler(own)
        own.close()
    library_log = (tmp_path / "library.log").read_text(encoding="utf-8")
    root_log = (tmp_path / "root.log").read_text(encoding="utf-8")
    assert "request from Dr. [NAME] ([PHONE]) failed" in library_log
    assert "could not parse the case of Mrs [NAME]" in root_log
    assert "ValueError: patient [NAME], DOB [DATE]" in root_log  # the traceback too
    for value in IDENTIFIERS:
        assert value not in library_log and value not in root_log


def test_handler_filter_covers_records_made_without_the_factory(tmp_path):
    handler = logging.FileHandler(tmp_path / "h.log", encoding="utf-8")
    handler.addFilter(PHIFilter())
    record = logging.makeLogRecord({"msg": "mail %s", "args": ("jane.roe@example.org",), "levelno": logging.INFO})
    handler.handle(record)
    handler.close()
    assert (tmp_path / "h.log").read_text() == "mail [EMAIL]\n"


def test_formatters_that_unpack_args_still_work(capsys) -> None:
    """uvicorn's access formatter unpacks ``record.args`` itself: scrubbing keeps the tuple's shape
    (texts scrubbed, numbers kept), so access lines are written, not a '--- Logging error ---'."""
    import io

    from uvicorn.logging import AccessFormatter

    configure_logging()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    access = logging.getLogger("uvicorn.access.test")
    access.addHandler(handler)
    access.propagate, access.level = False, logging.INFO
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/x?name=John Smith", "1.1", 200)
    finally:
        access.removeHandler(handler)
    line = buffer.getvalue()
    assert '"GET /v1/x?name=[NAME] HTTP/1.1" 200' in line and "John Smith" not in line
    assert "Logging error" not in capsys.readouterr().err
