"""Shared fixtures. Each part keeps its reusable fixtures in tests/fixtures/<part>.py.

Artefacts that several parts need (tiny model, tuned adapter, index, live server) are
session-scoped so the suite builds each once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Exact placeholder strings are asserted on the rules engine; the NER engine has its own tests.
os.environ.setdefault("MEDASSIST_PHI_ENGINE", "rules")

pytest_plugins = [f"tests.fixtures.{part}" for part in ("data", "model", "sft", "rag", "serve", "eval", "ui")]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDASSIST_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data; tests using them skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA} (set MEDASSIST_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Where tests leave artefacts worth looking at (screenshots, reports)."""
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    return out
