"""What one consultation holds: the chat turns, the last structured-case differential and the
guided consultation (questions asked, answers, the differential after each).

Kept in Streamlit's session state (one per browser session); exports and feedback read it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from medassist.data.prompts import case_vignette
from medassist.ui.client import ConsultationState, DiagnoseResult, NextQuestion, Reference


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    content: str
    citations: list[Reference] = field(default_factory=list)
    red_flags: list[str] = field(default_factory=list)
    model: str | None = None
    rag: bool = True
    k: int = 5  # sources asked for when this answer was produced
    omitted: int = 0  # earlier exchanges not sent with its question (ui/history.py)
    id: str = field(default_factory=_new_id)


@dataclass
class Asked:
    """One suggested question and what became of it: answered (``values`` in the KB's codes, ``answer``
    in words) or skipped (``values`` None)."""

    code: str
    question: str
    values: list[Any] | None
    answer: str = ""
    top_before: str = ""  # the leading condition when it was asked, and after the answer
    top_after: str = ""

    @property
    def skipped(self) -> bool:
        return self.values is None


@dataclass
class Guided:
    """A guided consultation: the partial case sent to ``/v1/diagnose``, the questions asked in order,
    and the latest answer (its differential, red flags and next suggestions)."""

    state: ConsultationState
    complaint: str  # the chief complaint in words, as the clinician chose it
    asked: list[Asked] = field(default_factory=list)
    result: DiagnoseResult | None = None

    @property
    def skipped(self) -> set[str]:
        return {a.code for a in self.asked if a.skipped}

    @property
    def answered(self) -> list[Asked]:
        return [a for a in self.asked if not a.skipped]

    def suggestions(self) -> list[NextQuestion]:
        """The server's suggestions less those skipped since it was asked (it leaves out the ones
        skipped before: ``ConsultationState.skipped``)."""
        if self.result is None:
            return []
        return [q for q in self.result.next_questions if q.code not in self.skipped]


@dataclass
class Consultation:
    turns: list[Turn] = field(default_factory=list)
    diagnosis: DiagnoseResult | None = None
    case_text: str = ""
    guided: Guided | None = None
    id: str = field(default_factory=_new_id)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M %Z"))

    def api_messages(self) -> list[dict[str, str]]:
        """The conversation as OpenAI chat messages (the server adds its own system prompt)."""
        return [{"role": turn.role, "content": turn.content} for turn in self.turns]

    def question_for(self, answer_id: str) -> str:
        """The user message an assistant turn answered."""
        previous = ""
        for turn in self.turns:
            if turn.id == answer_id:
                return previous
            if turn.role == "user":
                previous = turn.content
        return previous

    @property
    def empty(self) -> bool:
        return not self.turns and self.diagnosis is None and self.guided is None


@dataclass
class Case:
    """The structured case form; ``text`` is the vignette sent to ``/v1/diagnose``, in the format
    of the training cases and in English (the language the model is tuned on, whatever the
    interface language)."""

    chief_complaint: str
    age: int | None = None
    sex: str | None = None  # "female" | "male" | "other"
    symptoms: str = ""
    history: str = ""
    temp_c: float | None = None
    heart_rate: int | None = None
    blood_pressure: str = ""
    resp_rate: int | None = None
    spo2: int | None = None

    @property
    def text(self) -> str:
        vitals = [f"{name} {value}{unit}" for name, value, unit in (
            ("temperature", self.temp_c, " °C"), ("heart rate", self.heart_rate, "/min"),
            ("blood pressure", self.blood_pressure.strip() or None, " mmHg"),
            ("respiratory rate", self.resp_rate, "/min"), ("SpO2", self.spo2, "%"),
        ) if value is not None]
        return case_vignette(self.age, self.sex, self.chief_complaint, [self.symptoms], [self.history], vitals)
