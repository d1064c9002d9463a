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
# Under pytest-xdist each worker (and each process it starts: training, servers) gets its share of the
# cores: two workers that each run torch's default of one thread per core thrash (OpenMP threads spin
# and wait for descheduled peers): a 30-step training took 29 s a step instead of 7.
if (workers := int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))) > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // workers)))

pytest_plugins = [f"tests.fixtures.{part}" for part in ("data", "model", "sft", "rag", "serve", "eval", "ui")]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDASSIST_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The minutes-long (``slow``) test files first: with ``--no-loadscope-reorder`` (``make test``)
    pytest-xdist hands out files in this order, so the longest (the demo) starts at once instead of
    finishing last."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each group stays


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
