"""What of a long consultation goes to the server with the next question.

The gateway refuses more than ``limits.max_messages`` messages (64 by default) and prompts longer
than its context, so a consultation sent whole stops working after 32 exchanges, and much sooner
on a small context. The first exchange holds the case every later question is about and the
latest exchanges hold what the question follows from: those are kept and the middle is left out
first, whole exchanges at a time so user and assistant still alternate (some chat templates
insist). The page has no tokenizer, so the budget is counted in messages and characters; when
the server still refuses for length (its context is smaller than the budget assumed), the page
halves the budget and asks again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medassist.errors import MedassistError

if TYPE_CHECKING:  # the openai client behind them is slow to import; `medassist ui --help` needs none of it
    from medassist.ui.client import ApiClient, ChatStream

ENV_MAX_MESSAGES = "MEDASSIST_UI_HISTORY_MESSAGES"
ENV_MAX_CHARS = "MEDASSIST_UI_HISTORY_CHARS"
# the server's refusals that a shorter history can cure (serve/serving.py's error codes)
LENGTH_REFUSALS = ("max_messages", "context_length_exceeded")


@dataclass(frozen=True)
class HistoryBudget:
    max_messages: int = 32  # the question included; half the gateway's default limit of 64
    max_chars: int = 6000  # about 1,500 English tokens of history and question

    @classmethod
    def from_env(cls) -> HistoryBudget:
        """The budget ``medassist ui --history-messages/--history-chars`` passed on."""
        values = {}
        for field, name in (("max_messages", ENV_MAX_MESSAGES), ("max_chars", ENV_MAX_CHARS)):
            raw = os.environ.get(name)
            if raw is None:
                continue
            if not raw.isdigit() or int(raw) < 1:
                raise MedassistError(f"{name}={raw!r}: expected a whole number of at least 1")
            values[field] = int(raw)
        return cls(**values)

    def halved(self) -> HistoryBudget:
        return HistoryBudget(max(1, self.max_messages // 2), max(1, self.max_chars // 2))


@dataclass
class Fitted:
    messages: list[dict[str, str]]  # what is sent: kept exchanges, then the question
    omitted: int  # earlier exchanges left out


def fit(history: list[dict[str, str]], question: str, budget: HistoryBudget) -> Fitted:
    """The first exchange and then the latest ones, as many as the budget holds after the question."""
    exchanges = [history[i:i + 2] for i in range(0, len(history), 2)]
    used = [1, len(question)]

    def take(exchange: list[dict[str, str]]) -> bool:
        size = sum(len(m["content"]) for m in exchange)
        if used[0] + len(exchange) > budget.max_messages or used[1] + size > budget.max_chars:
            return False
        used[0] += len(exchange)
        used[1] += size
        return True

    first = exchanges[:1] if exchanges and take(exchanges[0]) else []
    latest: list[list[dict[str, str]]] = []
    for exchange in reversed(exchanges[1:]):
        if not take(exchange):
            break
        latest.insert(0, exchange)
    kept = [m for exchange in first + latest for m in exchange]
    return Fitted([*kept, {"role": "user", "content": question}], len(exchanges) - len(first) - len(latest))


def ask(client: ApiClient, history: list[dict[str, str]], question: str, budget: HistoryBudget,
        **params) -> tuple[ChatStream, int]:
    """Start the answer with as much history as the server takes; returns it and the exchanges left out."""
    from medassist.ui.client import ApiError  # with the openai client; the caller has loaded it already

    while True:
        fitted = fit(history, question, budget)
        try:
            return client.chat(fitted.messages, **params), fitted.omitted
        except ApiError as err:
            if err.code not in LENGTH_REFUSALS:
                raise
            tighter = _tighter(history, question, budget, fitted.omitted)
            if tighter is None:
                raise
            budget = tighter


def _tighter(history: list[dict[str, str]], question: str, budget: HistoryBudget,
             omitted: int) -> HistoryBudget | None:
    """The first halving of ``budget`` that leaves out more than ``omitted`` exchanges; None once
    halving can leave out nothing more."""
    while budget != (smaller := budget.halved()):
        budget = smaller
        if fit(history, question, budget).omitted > omitted:
            return budget
    return None
