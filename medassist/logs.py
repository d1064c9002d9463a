"""The one logging setup of every entry point (``medassist`` CLI, demo, bench, the Streamlit page).

Nothing a user types may reach a log in the clear, whichever library logs it. Two hooks, so no
record slips past:

- a log-record factory scrubs each record as it is created, for every logger, including the
  ones that bring their own handlers and do not propagate (uvicorn, transformers, streamlit);
- ``PHIFilter`` sits on every handler configured here and on every handler already attached to
  any logger, for records made without the factory (``logging.makeLogRecord``) or after a library
  replaced it. A record is scrubbed once: the filter skips records the factory already scrubbed.

``MEDASSIST_LOG_FILE`` adds a file handler (same format, same filter).

Each line carries the request id of the gateway request it was logged under (``REQUEST_ID``,
set by ``medassist.serve.request_id``; ``-`` outside a request), so an operator can follow one
request through the gateway, retrieval and the engine, and match it with a client's error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from medassist.data.phi import PHIFilter, scrub_record

ENV_LOG_FILE = "MEDASSIST_LOG_FILE"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
REQUEST_ID: ContextVar[str] = ContextVar("medassist_request_id", default="-")


def formatter() -> logging.Formatter:
    """``FORMAT``, with ``-`` for records made before the factory was installed."""
    return logging.Formatter(FORMAT, defaults={"request_id": "-"})


def _scrubbing_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return scrub_record(record)

    factory.phi_scrubbing = True  # type: ignore[attr-defined]
    return factory


def filter_all_handlers() -> None:
    """Put ``PHIFilter`` on every handler of every logger that exists now."""
    loggers = [logging.getLogger(), *(obj for obj in logging.Logger.manager.loggerDict.values()
                                      if isinstance(obj, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, PHIFilter) for f in handler.filters):
                handler.addFilter(PHIFilter())


def configure_logging(level: int = logging.WARNING, log_file: str | Path | None = None) -> None:
    """Root handler(s) at ``level``, medassist at INFO, PHI scrubbed everywhere. Idempotent
    (the Streamlit page runs it on every rerun)."""
    if not getattr(logging.getLogRecordFactory(), "phi_scrubbing", False):
        logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter())
        root.addHandler(handler)
        root.setLevel(level)
    log_file = log_file or os.environ.get(ENV_LOG_FILE)
    if log_file and not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == Path(log_file).resolve()
                            for h in root.handlers):
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(formatter())
        root.addHandler(handler)
    logging.getLogger("medassist").setLevel(logging.INFO)
    logging.captureWarnings(True)  # warnings quote arguments too: route them through the same scrub
    filter_all_handlers()
