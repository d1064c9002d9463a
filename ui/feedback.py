"""Clinicians' thumbs up/down and comments on answers, in a local SQLite file.

The file and its table are created on first use. Free text (comment, question, answer) is
stored only after the PHI scrubber has run over it, so the database can be shared with the
people improving the model. ``export_csv`` writes the table for them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from medassist.data.phi import scrub
from medassist.errors import MedassistError
from medassist.io import atomic_write_text

ENV_FEEDBACK_DB = "MEDASSIST_FEEDBACK_DB"
DEFAULT_FEEDBACK_DB = "artifacts/ui/feedback.sqlite"


@dataclass
class FeedbackRow:
    consultation_id: str
    answer_id: str
    rating: int  # 1 thumbs up, 0 thumbs down (st.feedback's "thumbs" values)
    comment: str
    question: str
    answer: str
    model: str
    rag: bool
    k: int
    pmids: list[str]
    lang: str
    created: str = ""


_COLUMNS = [f.name for f in fields(FeedbackRow)]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    consultation_id TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (0, 1)),
    comment TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    model TEXT NOT NULL,
    rag INTEGER NOT NULL,
    k INTEGER NOT NULL,
    pmids TEXT NOT NULL,
    lang TEXT NOT NULL
)
"""


def default_path() -> Path:
    return Path(os.environ.get(ENV_FEEDBACK_DB) or DEFAULT_FEEDBACK_DB)


class FeedbackStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def _connect(self, create: bool) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.is_file():
            raise MedassistError(f"feedback database not found: {self.path}")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                if create:
                    conn.execute(_SCHEMA)
                yield conn
        except (sqlite3.DatabaseError, OSError) as exc:
            raise MedassistError(f"{self.path}: not a usable feedback database ({exc})") from exc

    def add(self, row: FeedbackRow) -> int:
        """Store one rating with its texts scrubbed of PHI; returns the row id."""
        if row.rating not in (0, 1):
            raise MedassistError(f"feedback rating must be 0 (down) or 1 (up), got {row.rating!r}")
        values = asdict(row) | {
            "created": row.created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "comment": scrub(row.comment), "question": scrub(row.question), "answer": scrub(row.answer),
            "rag": int(row.rag), "pmids": json.dumps(row.pmids),
        }
        with self._connect(create=True) as conn:
            cursor = conn.execute(
                f"INSERT INTO feedback ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [values[c] for c in _COLUMNS],
            )
            return int(cursor.lastrowid)

    def rows(self) -> list[dict[str, object]]:
        with self._connect(create=False) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id")]

    def export_csv(self, out: str | Path) -> int:
        """Write every row to ``out`` (atomically); returns the number of rows."""
        rows = self.rows()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["id", *_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out, buffer.getvalue())
        return len(rows)
