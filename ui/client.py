"""The UI's only door to medassist: the serve part's OpenAI-compatible API, through the official client.

Every transport or HTTP failure becomes one ``ApiError`` with a ``kind`` the page can explain
(unreachable, unauthorized, rate limited, timeout, rejected, server error), so the app never
shows a stack trace. The extra fields medassist adds to OpenAI's schema (``citations``,
``red_flags``) are read from the response and from the stream chunks.
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
class Candidate:
    """One row of the ranked differential."""

    condition: str
    probability: float
    rationale: str = ""
    citations: list[Reference] = field(default_factory=list)


@dataclass
class DiagnoseResult:
    """What ``/v1/diagnose`` answered: the ranked differential, red flags and the sources."""

    differential: list[Candidate]
    red_flags: list[str] = field(default_factory=list)
    citations: list[Reference] = field(default_factory=list)


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
    return ApiError("server", url, f"{status}: {detail}")


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

    def diagnose(self, case: str, *, model: str, rag: bool = True, k: int = 5, max_conditions: int = 5,
                 max_tokens: int | None = None) -> DiagnoseResult:
        """Ask ``/v1/diagnose`` for a ranked differential of a free-text case."""
        with api_errors(self.base_url):
            body = {"case": case, "model": model, "rag": rag, "k": k, "max_conditions": max_conditions}
            if max_tokens:
                body["max_tokens"] = max_tokens
            raw = self._client.post("/diagnose", cast_to=object, body=body)
        if not isinstance(raw, dict) or not isinstance(raw.get("differential"), list):
            raise ApiError("server", self.base_url, "/v1/diagnose answered without a 'differential' list")
        sources = {c.pmid: c for c in citations_of(raw.get("citations"))}
        differential = [
            Candidate(str(c["condition"]), float(c.get("probability") or 0.0), str(c.get("rationale") or ""),
                      [sources.get(str(p), Reference(str(p))) for p in c.get("citations") or []])
            for c in raw["differential"] if isinstance(c, dict) and c.get("condition")
        ]
        return DiagnoseResult(differential, list(raw.get("red_flags") or []), list(sources.values()))
