"""What one consultation holds: the chat turns and the last structured-case differential.

Kept in Streamlit's session state (one per browser session); exports and feedback read it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from medassist.data.prompts import case_vignette
from medassist.ui.client import DiagnoseResult, Reference


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
class Consultation:
    turns: list[Turn] = field(default_factory=list)
    diagnosis: DiagnoseResult | None = None
    case_text: str = ""
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
        return not self.turns and self.diagnosis is None


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
