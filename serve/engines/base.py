"""The engine interface the gateway talks to: a prompt in, text (whole or streamed) out.

A prompt is chat messages (the chat template renders them) or, for ``/v1/completions``, raw
text the model continues as it is (``Prompt``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Prompt = list[dict[str, Any]] | str


@dataclass
class GenerationParams:
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    ignore_eos: bool = False
    json_schema: dict[str, Any] | None = None  # honoured only by engines with structured outputs
    # the fields below are off at these values; an engine that cannot honour one lists it out of
    # its ``sampling_fields`` and the gateway answers a request that sets it with a 400 naming it
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[str, float] = field(default_factory=dict)
    logprobs: bool = False
    top_logprobs: int = 0
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI's tool definitions, when active
    tool_choice: str | dict[str, Any] | None = None  # with tools: "auto", "required" or a named function
    parallel_tool_calls: bool | None = None
    echo: bool = False  # raw-text prompts: the completion starts with the prompt (and its log-probabilities)

    def set_fields(self) -> list[str]:
        """The optional fields this request turns on (not at their off values)."""
        off = GenerationParams(max_tokens=self.max_tokens)
        return [name for name in OPTIONAL_FIELDS if getattr(self, name) != getattr(off, name)]


OPTIONAL_FIELDS = ("top_k", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty", "logit_bias",
                   "logprobs", "top_logprobs", "tools", "echo")


@dataclass
class StreamEvent:
    """One streamed piece; the last one carries the finish reason and token counts. ``logprobs``:
    OpenAI's ``logprobs.content`` entries of the piece's tokens, when they were asked for."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # OpenAI's partial calls: {index, id?, function: {name?, arguments}}


@dataclass
class Generation:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # whole calls: {id, type, function: {name, arguments}}


def join_tool_calls(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole tool calls from streamed partial ones (by ``index``: the id and name come once, the
    arguments in pieces)."""
    calls: dict[int, dict[str, Any]] = {}
    for part in parts:
        call = calls.setdefault(part.get("index", 0), {"id": "", "type": "function",
                                                        "function": {"name": "", "arguments": ""}})
        call["id"] = part.get("id") or call["id"]
        function = part.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""
    return [calls[i] for i in sorted(calls)]


@dataclass(frozen=True)
class ScoreItem:
    """A continuation to score: the chat ``messages`` rendered by the model's chat template (with the
    generation prompt), then ``answer_prefix`` (context, not scored), then ``continuation``, whose
    tokens' log-probabilities are summed (teacher-forced: no generation)."""

    messages: list[dict[str, Any]]
    answer_prefix: str
    continuation: str


@dataclass(frozen=True)
class EngineStatus:
    """Whether the engine can answer now: ``/health`` reports it and admission refuses requests
    (503) while it cannot. ``detail`` is for clients, so it never names an internal address."""

    state: Literal["ready", "starting", "restarting", "failed"] = "ready"
    detail: str = ""
    restarts: int = 0
    retry_after_s: int = 1

    @property
    def ready(self) -> bool:
        return self.state == "ready"


READY = EngineStatus()


class EngineError(Exception):
    """The engine could not produce an answer (upstream down, bad upstream reply)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class Engine(Protocol):
    name: str
    structured_outputs: bool  # True: json_schema is enforced while decoding
    sampling_fields: frozenset[str]  # the OPTIONAL_FIELDS of GenerationParams it honours
    tokenizer: Any  # the served model's tokenizer once started, None when unknown (its control tokens)
    # Set by `medassist serve`; the engine calls it (from any thread) once it cannot recover by itself, and
    # the server then exits for a supervisor to act. An upstream that is down is not that: it may come back.
    on_failure: Callable[[], None] | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> EngineStatus: ...

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        """Prompt length in tokens (after the chat template), or None when unknown (the upstream checks)."""
        ...

    def stream(self, prompt: Prompt, params: GenerationParams) -> AsyncIterator[StreamEvent]: ...

    async def score(self, items: list[ScoreItem]) -> list[float]:
        """Each item's continuation log-probability (nats), in order (``/v1/diagnose``'s attribution);
        an ``EngineError`` with status 501 where the engine cannot score."""
        ...


async def generate(engine: Engine, messages: Prompt, params: GenerationParams) -> Generation:
    """Collect a stream into one answer (every engine streams; non-streaming is this)."""
    parts: list[str] = []
    logprobs: list[dict[str, Any]] | None = [] if params.logprobs else None
    calls: list[dict[str, Any]] = []
    last = StreamEvent("")
    async for event in engine.stream(messages, params):
        parts.append(event.text)
        if logprobs is not None and event.logprobs:
            logprobs.extend(event.logprobs)
        calls.extend(event.tool_calls or ())
        last = event
    return Generation("".join(parts), last.finish_reason or "stop", last.prompt_tokens, last.completion_tokens,
                      logprobs, join_tool_calls(calls) or None)
