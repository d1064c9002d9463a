"""The UI's only door to medassist: the serve part's OpenAI-compatible API, through the official client.

Every transport or HTTP failure becomes one ``ApiError`` with a ``kind`` the page can explain
(unreachable, unauthorized, rate limited, timeout, rejected, server error), so the app never
shows a stack trace. The extra fields medassist adds to OpenAI's schema (``citations``,
``red_flags``) are read from the response and from the stream chunks; ``/v1/diagnose`` and
``/v1/diagnose/evidences`` (medassist's own routes) are read into the typed rows below, so the
page never handles raw JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from medassist import client_env

DEFAULT_API_URL = "http://127.0.0.1:8000"
ENV_TIMEOUT = "MEDASSIST_UI_TIMEOUT"

ErrorKind = Literal["unreachable", "unauthorized", "rate_limited", "timeout", "rejected", "server"]


class ApiError(Exception):
    """A failed call, classified so the page can say what to do about it."""

    def __init__(self, kind: ErrorKind, url: str, detail: str = "", retry_after: str | None = None,
                 code: str | None = None):
        super().__init__(f"{kind}: {url} {detail}".strip())
        self.kind = kind
        self.url = url
        self.detail = detail
        self.retry_after = retry_after
        self.code = code  # the OpenAI error object's code, e.g. context_length_exceeded


@dataclass
class Reference:
    """A PubMed abstract the answer was grounded on (the wire's ``citations`` entry), as the page links it."""

    pmid: str
    title: str = ""
    snippet: str = ""
    score: float | None = None
    year: int | str | None = None

    @property
    def url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Reference:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names and v is not None} | {"pmid": str(raw["pmid"])})


@dataclass
class FindingWeight:
    """One case finding's pull on a condition (the wire's ``attribution.for/against`` entry): how much
    the condition's log-score drops when the finding is left out (nats; < 0: the finding lowers it)."""

    label: str  # the finding in words: "fever", "age 34", "female sex"
    weight: float
    kind: str = ""  # age, sex, chief_complaint, symptom, history, vitals
    negative: bool = False  # the finding states an absence ("no wheeze")

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> FindingWeight:
        return cls(str(raw.get("label") or raw.get("text") or "?"), float(raw.get("weight") or 0.0),
                   str(raw.get("kind") or ""), bool(raw.get("negative")))


@dataclass
class Explanation:
    """Why one condition is listed: the findings for and against it, strongest first, and the sentence
    that says so ("fever and cough raise Pneumonia")."""

    supporting: list[FindingWeight] = field(default_factory=list)
    opposing: list[FindingWeight] = field(default_factory=list)
    sentence: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Explanation | None:
        if not isinstance(raw, dict):
            return None
        rows = {side: [FindingWeight.parse(f) for f in raw.get(side) or [] if isinstance(f, dict)]
                for side in ("for", "against")}
        return cls(rows["for"], rows["against"], str(raw.get("explanation") or ""))


@dataclass
class Candidate:
    """One row of the ranked differential; ``severity`` (1 most severe .. 5) and ``must_not_miss``
    (severity <= 2) when the condition is in the server's knowledge base."""

    condition: str
    probability: float
    rationale: str = ""
    citations: list[Reference] = field(default_factory=list)
    severity: int | None = None
    must_not_miss: bool = False
    explanation: Explanation | None = None  # the wire's ``attribution``, when asked for


@dataclass
class Choice:
    """One answer a categorical or multi-choice question offers: the KB's value code and its words."""

    value: Any
    label: str


def choices_of(raw: Any) -> list[Choice]:
    return [Choice(o.get("value"), str(o.get("label", o.get("value")))) for o in raw or [] if isinstance(o, dict)]


@dataclass
class Question:
    """A question of the server's knowledge base (``GET /v1/diagnose/evidences``): binary ("B",
    answered [true]/[false]), categorical or numeric ("C", one value) or multi-choice ("M", values)."""

    code: str
    question: str
    type: str
    options: list[Choice] = field(default_factory=list)
    default: Any = None  # the answer that means "no" / "nowhere"
    question_fr: str | None = None
    is_antecedent: bool = False
    parent: str | None = None  # the question this one follows up
    chief_complaint: bool = False  # offered as the consultation's starting complaint

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Question:
        return cls(str(raw["code"]), str(raw.get("question") or raw["code"]), str(raw.get("type") or "B"),
                   choices_of(raw.get("options")), raw.get("default"), raw.get("question_fr"),
                   bool(raw.get("is_antecedent")), raw.get("parent"), bool(raw.get("chief_complaint")))


@dataclass
class Split:
    """How one condition's probability would move with the answer to a suggested question."""

    condition: str
    if_yes: float
    if_no: float
    red_flag: bool = False


@dataclass
class NextQuestion:
    """A suggested question, in the request's language, and what its answer would separate."""

    code: str
    question: str
    type: str
    options: list[Choice] = field(default_factory=list)
    score: float = 0.0  # expected (red-flag weighted) information gain, bits
    p_yes: float = 0.0
    separates: list[Split] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> NextQuestion:
        splits = [Split(str(s["condition"]), float(s.get("if_yes") or 0.0), float(s.get("if_no") or 0.0),
                        bool(s.get("red_flag"))) for s in raw.get("separates") or [] if isinstance(s, dict)]
        return cls(str(raw["code"]), str(raw.get("question") or raw["code"]), str(raw.get("type") or "B"),
                   choices_of(raw.get("options")), float(raw.get("score") or 0.0), float(raw.get("p_yes") or 0.0),
                   splits)


@dataclass
class ConsultationState:
    """A case known in part, in the knowledge base's codes, as ``/v1/diagnose`` takes it."""

    chief_complaint: str
    age: int | None = None
    sex: str | None = None  # "M" | "F"
    answers: dict[str, list[Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # asked but not answered: unknown, not "no"

    def to_wire(self) -> dict[str, Any]:
        return {"age": self.age, "sex": self.sex, "chief_complaint": self.chief_complaint,
                "answers": self.answers, "skipped": self.skipped}


@dataclass
class CombinedCondition:
    """A row of a consultation's combined differential: the mixture and the two shares it mixes."""

    condition: str
    probability: float
    model: float
    knowledge_base: float
    must_not_miss: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> CombinedCondition:
        return cls(str(raw["condition"]), float(raw.get("probability") or 0.0), float(raw.get("model") or 0.0),
                   float(raw.get("knowledge_base") or 0.0), bool(raw.get("must_not_miss")))


@dataclass
class DiagnoseResult:
    """What ``/v1/diagnose`` answered: the ranked differential, red flags, the sources, the vignette
    the model read and, for a consultation, the differential combined with the knowledge base's
    posterior and the suggested next questions."""

    differential: list[Candidate]
    red_flags: list[str] = field(default_factory=list)
    citations: list[Reference] = field(default_factory=list)
    case: str = ""
    next_questions: list[NextQuestion] = field(default_factory=list)
    combined: list[CombinedCondition] = field(default_factory=list)


@dataclass
class ModelInfo:
    """A served model; ``details`` keeps whatever version fields the server adds (root, adapter...)."""

    id: str
    details: dict[str, Any] = field(default_factory=dict)


def citations_of(raw: Any) -> list[Reference]:
    return [Reference.parse(c) for c in raw or [] if isinstance(c, dict) and c.get("pmid")]


class ChatStream:
    """Iterates over the answer's text deltas; afterwards holds the citations and red flags.

    medassist puts ``citations`` and ``red_flags`` on the final chunk; they are read from any
    chunk that carries them, so a server sending them earlier works too.
    """

    def __init__(self, chunks: Iterator[Any], url: str):
        self._chunks = chunks
        self._url = url
        self.citations: list[Reference] = []
        self.red_flags: list[str] = []
        self.model: str | None = None

    def __iter__(self) -> Iterator[str]:
        with api_errors(self._url):
            for chunk in self._chunks:
                extra = chunk.model_extra or {}
                if extra.get("citations"):
                    self.citations = citations_of(extra["citations"])
                if extra.get("red_flags"):
                    self.red_flags = list(extra["red_flags"])
                self.model = chunk.model or self.model
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content


@contextlib.contextmanager
def api_errors(url: str) -> Iterator[None]:
    """Turn the openai client's exceptions into ``ApiError`` for the page to explain."""
    try:
        yield
    except openai.APITimeoutError as exc:
        raise ApiError("timeout", url) from exc
    except openai.APIConnectionError as exc:
        raise ApiError("unreachable", url, str(exc.__cause__ or exc)) from exc
    except openai.APIStatusError as exc:
        raise _status_error(exc, url) from exc
    except openai.APIError as exc:  # e.g. an error event inside a stream
        raise ApiError("server", url, exc.message) from exc


def _status_error(exc: openai.APIStatusError, url: str) -> ApiError:
    detail, code = exc.message, None
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        detail = str(error.get("message") or body.get("message") or detail)
        code = str(error["code"]) if error.get("code") else None
    status = exc.status_code
    if status in (401, 403):
        return ApiError("unauthorized", url, detail)
    if status == 429:
        return ApiError("rate_limited", url, detail, exc.response.headers.get("retry-after"))
    if status in (408, 504):
        return ApiError("timeout", url, detail)
    if 400 <= status < 500:
        return ApiError("rejected", url, f"{status}: {detail}", code=code)
    return ApiError("server", url, f"{status}: {detail}", code=code)


ATTRIBUTION_UNAVAILABLE = "attribution_unavailable"  # the gateway's 501 code: its engine cannot score


def settings_from_env() -> tuple[str, str | None, float]:
    """API URL, key and timeout as the operator set them (``medassist ui`` and its environment)."""
    return client_env.api_url(DEFAULT_API_URL), client_env.api_key(), float(os.environ.get(ENV_TIMEOUT, "60"))


class ApiClient:
    """Thin wrapper over ``openai.OpenAI`` pointed at a medassist server."""

    def __init__(self, base_url: str = DEFAULT_API_URL, api_key: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = openai.OpenAI(
            base_url=f"{self.base_url}/v1",
            # The server without keys ignores this; the openai client insists on one.
            api_key=api_key or "none",
            timeout=timeout,
            max_retries=0,  # the page reports failures at once; the user decides to retry
        )

    def health(self) -> dict[str, Any]:
        """``/health`` (outside ``/v1``): engine name and whether a retrieval index is loaded."""
        with api_errors(self.base_url):
            raw = self._client.get(f"{self.base_url}/health", cast_to=object)
        return raw if isinstance(raw, dict) else {}

    def models(self) -> list[ModelInfo]:
        """The chat models (the retrieval encoder, listed for /v1/embeddings, is not one to talk to)."""
        with api_errors(self.base_url):
            listing = self._client.models.list()
            return [ModelInfo(m.id, dict(m.model_extra or {})) for m in listing.data
                    if (m.model_extra or {}).get("kind") != "embedding"]

    def chat(
        self, messages: list[dict[str, str]], *, model: str, rag: bool = True, k: int = 5,
        temperature: float = 0.2, max_tokens: int | None = None,
    ) -> ChatStream:
        with api_errors(self.base_url):
            chunks = self._client.chat.completions.create(
                model=model, messages=messages, stream=True, temperature=temperature,
                max_tokens=max_tokens, extra_body={"rag": rag, "k": k},
            )
        return ChatStream(iter(chunks), self.base_url)

    def evidences(self) -> list[Question]:
        """The server knowledge base's questions, from which the page builds its guided consultation."""
        with api_errors(self.base_url):
            raw = self._client.get("/diagnose/evidences", cast_to=object)
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
            raise ApiError("server", self.base_url, "/v1/diagnose/evidences answered without a 'data' list")
        return [Question.parse(q) for q in raw["data"] if isinstance(q, dict) and q.get("code")]

    def diagnose(self, case: str | None = None, *, model: str, consultation: ConsultationState | None = None,
                 next_questions: int = 0, language: str = "en", attribution: bool = False, rag: bool = True,
                 k: int = 5, max_conditions: int = 5, max_tokens: int | None = None) -> DiagnoseResult:
        """Ask ``/v1/diagnose`` for a ranked differential of a free-text ``case`` or of a ``consultation``
        in progress (then with ``next_questions`` suggestions); ``attribution`` adds each condition's
        findings for and against."""
        body: dict[str, Any] = {"model": model, "rag": rag, "k": k, "max_conditions": max_conditions}
        if consultation is not None:
            body |= {"consultation": consultation.to_wire(), "next_questions": next_questions, "language": language}
        else:
            body["case"] = case
        if attribution:
            body["attribution"] = True
        if max_tokens:
            body["max_tokens"] = max_tokens
        with api_errors(self.base_url):
            raw = self._client.post("/diagnose", cast_to=object, body=body)
        if not isinstance(raw, dict) or not isinstance(raw.get("differential"), list):
            raise ApiError("server", self.base_url, "/v1/diagnose answered without a 'differential' list")
        sources = {c.pmid: c for c in citations_of(raw.get("citations"))}
        differential = [
            Candidate(str(c["condition"]), float(c.get("probability") or 0.0), str(c.get("rationale") or ""),
                      [sources.get(str(p), Reference(str(p))) for p in c.get("citations") or []],
                      c.get("severity"), bool(c.get("must_not_miss")), Explanation.parse(c.get("attribution")))
            for c in raw["differential"] if isinstance(c, dict) and c.get("condition")
        ]
        suggestions = [NextQuestion.parse(q) for q in raw.get("next_questions") or [] if isinstance(q, dict)
                       and q.get("code")]
        combined = [CombinedCondition.parse(row) for row in raw.get("combined_differential") or []
                    if isinstance(row, dict) and row.get("condition")]
        return DiagnoseResult(differential, list(raw.get("red_flags") or []), list(sources.values()),
                              str(raw.get("case") or case or ""), suggestions, combined)
