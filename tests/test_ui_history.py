"""Which turns of a long consultation the page sends (ui/history.py); the page against the real
gateway is tests/test_ui_app.py::test_a_40_exchange_consultation_is_trimmed_and_answered."""

from __future__ import annotations

import pytest

from medassist.errors import MedassistError
from medassist.ui.cli import streamlit_env
from medassist.ui.history import HistoryBudget, fit


def _history(exchanges: int) -> list[dict[str, str]]:
    return [m for i in range(exchanges) for m in ({"role": "user", "content": f"q{i:02d}" + "." * 46},
                                                  {"role": "assistant", "content": f"a{i:02d}" + "." * 96})]


def test_keeps_the_case_and_the_latest_exchanges_in_alternation():
    sent = fit(_history(40), "now?", HistoryBudget(max_messages=9, max_chars=100_000))
    assert [m["content"][:3] for m in sent.messages] == ["q00", "a00", "q37", "a37", "q38", "a38", "q39", "a39",
                                                         "now"]
    assert sent.omitted == 36
    roles = [m["role"] for m in sent.messages]
    assert roles == ["user", "assistant"] * 4 + ["user"]


def test_character_budget_and_short_consultations():
    sent = fit(_history(40), "now?", HistoryBudget(max_messages=64, max_chars=4 + 150 * 3))
    assert [m["content"][:3] for m in sent.messages] == ["q00", "a00", "q38", "a38", "q39", "a39", "now"]
    assert fit(_history(3), "now?", HistoryBudget()).omitted == 0
    too_small = fit(_history(3), "now?", HistoryBudget(max_chars=10))
    assert too_small.messages == [{"role": "user", "content": "now?"}] and too_small.omitted == 3


def test_budget_from_the_ui_command(monkeypatch):
    env = streamlit_env("http://127.0.0.1:8000", None, 60.0, HistoryBudget(20, 3000))
    for name, value in env.items():
        if name.startswith("MEDASSIST_UI_HISTORY"):
            monkeypatch.setenv(name, value)
    assert HistoryBudget.from_env() == HistoryBudget(20, 3000)
    monkeypatch.setenv("MEDASSIST_UI_HISTORY_CHARS", "lots")
    with pytest.raises(MedassistError, match="MEDASSIST_UI_HISTORY_CHARS='lots': expected a whole number"):
        HistoryBudget.from_env()
