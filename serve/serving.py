"""Serving logic behind the routes: limits, grounding, safety, generation, response assembly.

Routes stay thin (``routes.py``); everything a request goes through is here, in order:
model check → limits → red-flag check → retrieval + grounded prompt fitted to the context →
engine → citation filter → emergency message first, decision-support notice last.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import jsonschema

from medassist.data import prompts
from medassist.data.answers.citations import build_grounded_messages, extract_citations
from medassist.data.answers.differential import case_user_prompt, differential_schema
from medassist.data.attribution import ANSWER_PREFIX, attribute, condition_continuation, parse_vignette
from medassist.errors import MedassistError
from medassist.serve import safety
from medassist.serve.config import ServeConfig, resolve_max_model_len
from medassist.serve.control_tokens import ControlTokens
from medassist.serve.engines.base import (
    Engine,
    EngineError,
    Generation,
    GenerationParams,
    Prompt,
    ScoreItem,
    StreamEvent,
    generate,
)
from medassist.serve.knowledge import DiagnosticKB
from medassist.serve.metrics import Metrics
from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import (
    SEED_MAX,
    AssistantMessage,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChoiceLogprobs,
    ChunkChoice,
    Citation,
    Delta,
    DiagnoseRequest,
    DiagnoseResponse,
    ErrorInfo,
    ErrorResponse,
    EvidenceList,
    FindingsAttribution,
    ModelCard,
    RankedCondition,
    Usage,
    completion_id,
)
from medassist.serve.sources import CitationFilter, RetrievalService, to_citation

log = logging.getLogger("medassist.serve")

MIN_COMPLETION_TOKENS = 16
DONE = "[DONE]"  # the last event of every OpenAI stream
T = TypeVar("T")
R = TypeVar("R")


def parse_json_answer(text: str, schema: dict[str, Any]) -> Any:
    """The JSON object in a model answer, validated; ValueError saying what is wrong."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("no JSON object in the answer")
    try:
        # strict=False: raw control characters inside strings are accepted, as xgrammar lets a
        # model write them where JSON asks for escapes; rejecting them made valid-shaped answers fail
        value = json.loads(text[start : end + 1], strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at char {exc.pos})") from exc
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(root)"
        raise ValueError(f"schema violation at {where}: {exc.message}") from exc
    return value


@dataclass
class Prepared:
    """A request after checks and grounding: what the engine gets and what the reply carries."""

    messages: Prompt  # chat messages, or raw text for /v1/completions
    params: GenerationParams
    citations: list[Citation]
    safety: safety.SafetyAssessment
    grounded: bool
    prompt_tokens: int | None
    notice_inline: bool = True
    passages: list[Any] = dataclasses.field(default_factory=list)  # the sources in the prompt, best first

    @property
    def tail(self) -> str:
        """What ends the text: the decision-support notice, unless it goes in a field."""
        return self.safety.suffix if self.notice_inline else ""

    @property
    def notice_field(self) -> str | None:
        return None if self.notice_inline else self.safety.notice

    @property
    def allowed_pmids(self) -> set[str]:
        return {c.pmid for c in self.citations}

    def choice_params(self, index: int) -> GenerationParams:
        """Choice ``index``'s parameters: with a seed, each of ``n`` choices gets its own (seed + index),
        so sampled choices differ (on vLLM each is also reproducible; the local engine seeds a batch)."""
        seed = self.params.seed
        if index == 0 or seed is None:
            return self.params
        return dataclasses.replace(self.params, seed=seed + index if seed + index <= SEED_MAX else seed - index)


class Slot:
    """One request's claim on one of ``limits.max_concurrency`` generation slots.

    Admission and release live here and nowhere else: ``run`` and ``stream`` take the slot (or
    raise 429, or 503 while the engine cannot answer) and give it back as soon as the work ends,
    before the response's last byte leaves, so a client that sends its next request the moment it
    has read an answer is admitted. ``release`` is idempotent, and the route's dependency
    (``routes.generation_slot``) calls it once more when the response has ended in any way: a
    stream cancelled before its first chunk (Starlette does that under ASGI < 2.4 when the client
    has already gone) never runs its own ``finally``.
    """

    def __init__(self, service: ChatService) -> None:
        self.service, self.held = service, False

    def _take(self) -> None:
        self.service._acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.service._release()

    async def run(self, work: Callable[[R], Awaitable[T]], req: R) -> T:
        """``await work(req)`` holding the slot."""
        self._take()
        try:
            return await work(req)
        finally:
            self.release()

    async def stream(self, open_events: Callable[[R], Awaitable[AsyncIterator[str]]], req: R) -> AsyncIterator[str]:
        """The events of ``await open_events(req)`` (checks and grounding, whose errors are still
        HTTP errors), holding the slot until the last one has been produced."""
        self._take()
        return self._until_done(await open_events(req))

    async def _until_done(self, events: AsyncIterator[str]) -> AsyncIterator[str]:
        try:
            async for item in events:
                yield item
        finally:
            self.release()


class ChatService:
    def __init__(self, settings: ServeConfig, engine: Engine, retrieval: RetrievalService | None,
                 metrics: Metrics, ddx: DiagnosticKB | None = None) -> None:
        self.settings, self.engine, self.retrieval, self.metrics = settings, engine, retrieval, metrics
        # the knowledge base consultations are written in, loaded once (a bad one stops the start)
        self.ddx = ddx or DiagnosticKB.load(settings.ddx_kb, settings.ddx_patients)
        self.in_flight = 0

    # ---- admission -------------------------------------------------------------------------
    def slot(self) -> Slot:
        """An unheld claim on a generation slot, for one request (see ``Slot``)."""
        return Slot(self)

    def _acquire(self) -> None:
        engine = self.engine.status()
        if not engine.ready:
            self.metrics.rejected.labels("engine_unavailable").inc()
            raise GatewayError(503, f"{engine.detail}; retry later", type="server_error", code="engine_unavailable",
                               headers={"Retry-After": str(engine.retry_after_s)})
        limit = self.settings.limits.max_concurrency
        if self.in_flight >= limit:
            self.metrics.rejected.labels("max_concurrency").inc()
            raise GatewayError(429, f"server busy: {limit} requests in flight (limits.max_concurrency); retry later",
                               type="rate_limit_error", code="max_concurrency",
                               headers={"Retry-After": str(self.settings.limits.retry_after_s)})
        self.in_flight += 1
        self.metrics.in_flight.inc()

    def _release(self) -> None:
        self.in_flight -= 1
        self.metrics.in_flight.dec()

    def model_cards(self) -> dict[str, ModelCard]:
        """The served models by name: the chat models, and the index's encoder (``/v1/embeddings``)."""
        cards = {name: ModelCard(id=name, root=self.settings.model) for name in self.settings.model_names}
        if self.retrieval is not None:
            encoder = self.retrieval.embedding_model
            cards[encoder] = ModelCard(id=encoder, root=encoder, kind="embedding")
        return cards

    @cached_property
    def controls(self) -> ControlTokens:
        """Built at the first request, once the engine has loaded its tokenizer."""
        return ControlTokens(self.engine.tokenizer)

    def refuse_unsupported(self, params: GenerationParams) -> None:
        """A 400 naming the first field the engine cannot honour (never a silent default)."""
        refused = [name for name in params.set_fields() if name not in self.engine.sampling_fields]
        if refused:
            raise GatewayError(400, f"{refused[0]}: the {self.engine.name} engine cannot honour it (the vllm engine "
                               "can)", param=refused[0], code="unsupported_field")

    def _reject(self, limit: str, message: str, param: str) -> GatewayError:
        self.metrics.rejected.labels(limit).inc()
        return GatewayError(400, message, param=param, code=limit)

    # ---- preparation -----------------------------------------------------------------------
    async def prepare(self, req: ChatCompletionRequest, json_schema: dict[str, Any] | None = None,
                      query: str | None = None, default_max_tokens: int | None = None) -> Prepared:
        limits = self.settings.limits
        names = self.settings.model_names
        if req.model not in names:
            raise GatewayError(404, f"model {req.model!r} does not exist; available: {', '.join(names)}",
                               param="model", code="model_not_found")
        if len(req.messages) > limits.max_messages:
            raise self._reject("max_messages", f"{len(req.messages)} messages exceed limits.max_messages="
                               f"{limits.max_messages}", "messages")
        if req.n > limits.max_n:
            raise self._reject("max_n", f"n={req.n} exceeds limits.max_n={limits.max_n}", "n")
        # max_tokens is set once the prompt has been fitted to the context (below)
        params = sampling_params(req, max_tokens=1, json_schema=json_schema, logprobs=bool(req.logprobs),
                                 top_logprobs=req.top_logprobs or 0, tools=req.active_tools)
        if params.tools:
            choice = req.tool_choice
            params.tool_choice = choice.model_dump() if hasattr(choice, "model_dump") else choice
            params.parallel_tool_calls = req.parallel_tool_calls
        self.refuse_unsupported(params)
        asked = req.requested_max_tokens
        if asked is not None and asked > limits.max_tokens_cap:
            raise self._reject("max_tokens_cap", f"max_tokens={asked} exceeds limits.max_tokens_cap="
                               f"{limits.max_tokens_cap}", "max_tokens")
        grounded = req.model == names[0] and req.rag is not False
        if grounded and self.retrieval is None:
            if req.rag:
                raise GatewayError(400, "rag=true but this server has no index (start it with --index DIR)",
                                   param="rag", code="rag_unavailable")
            grounded = False
        user_texts = [m.text for m in req.messages if m.role == "user"]
        # the regexes and the tokenizer below read up to limits.max_body_bytes: off the event loop
        assessment = await asyncio.to_thread(safety.assess, user_texts)
        passages = []
        if grounded:
            started = time.perf_counter()
            passages = await self.retrieval.search(query or user_texts[-1], req.k or self.settings.rag_k,
                                                   self.settings.rag_mode)
            self.metrics.retrieval.observe(time.perf_counter() - started)
        messages, passages, prompt_tokens, max_tokens = await asyncio.to_thread(
            self._fit, req.messages, passages, grounded, asked, default_max_tokens)
        params.max_tokens = max_tokens
        for flag in assessment.red_flags:
            self.metrics.red_flags.labels(flag).inc()
        # a JSON answer never carries the notice in its text: it goes in the field
        inline = (req.notice or self.settings.notice) == "inline" and json_schema is None
        return Prepared(messages, params, [to_citation(p) for p in passages], assessment, grounded, prompt_tokens,
                        inline, passages)

    def _messages(self, chat: list[ChatMessage], passages: list[Any], grounded: bool) -> list[dict[str, Any]]:
        """The engine's messages; every text in them, retrieved or typed, has its control tokens
        neutralised here (``control_tokens``), the one place all prompt text passes. Grounded, the
        sources go with the latest user question; the tool calls and results after it follow it."""
        system = "\n".join(m.text for m in chat if m.role in ("system", "developer")) or prompts.SYSTEM_PROMPT
        turns = [m.for_engine() for m in chat if m.role not in ("system", "developer")]
        if not grounded:
            return self.controls.messages([{"role": "system", "content": system}, *turns])
        last_user = max(i for i, t in enumerate(turns) if t["role"] == "user")
        grounded_turns = build_grounded_messages(turns[last_user]["content"], passages,
                                                 history=turns[:last_user], system_prompt=system)
        return self.controls.messages([*grounded_turns, *turns[last_user + 1:]])

    def _fit(self, chat: list[ChatMessage], passages: list[Any], grounded: bool, asked: int | None,
             default: int | None = None):
        """Drop the weakest sources until prompt + completion fit the context (then 400).

        A prompt that cannot fit is tokenized twice (all sources, then none), not once per
        source count: a body near limits.max_body_bytes would otherwise be read k + 1 times.
        """
        s = self.settings
        wanted = asked or default or s.limits.default_max_tokens

        def attempt(n: int) -> tuple[tuple | None, int | None]:
            messages = self._messages(chat, passages[:n], grounded)
            tokens = self.engine.count_prompt_tokens(messages)
            if tokens is None:
                return (messages, passages[:n], None, wanted), None
            room = resolve_max_model_len(s) - tokens
            if tokens <= s.max_prompt_tokens and (room >= wanted or (asked is None and room >= MIN_COMPLETION_TOKENS)):
                return (messages, passages[:n], tokens, min(wanted, room)), tokens
            return None, tokens

        fitted, tokens = attempt(len(passages))
        if fitted is None and passages:
            bare, tokens = attempt(0)  # when the question alone does not fit, no number of sources will
            if bare is not None:
                fitted = next((f for n in range(len(passages) - 1, 0, -1) if (f := attempt(n)[0])), bare)
        if fitted is not None:
            return fitted
        self.metrics.rejected.labels("context_length").inc()
        raise GatewayError(400, f"the prompt is {tokens} tokens and max_tokens={wanted}: together they exceed the "
                           f"context of {resolve_max_model_len(s)} tokens (max_model_len; prompt limit "
                           f"{s.max_prompt_tokens}, limits.max_prompt_tokens)", param="messages",
                           code="context_length_exceeded")

    # ---- generation ------------------------------------------------------------------------
    def _log(self, route: str, req_id: str, prep: Prepared, usage: Usage, started: float, removed: int) -> None:
        last_user = prep.messages if isinstance(prep.messages, str) else next(
            m["content"] for m in reversed(prep.messages) if m["role"] == "user")
        log.info("%s id=%s grounded=%s sources=%d prompt_sha=%s red_flags=%s tokens=%d+%d removed_citations=%d "
                 "%.3fs", route, req_id, prep.grounded, len(prep.citations), safety.fingerprint(last_user),
                 ",".join(prep.safety.red_flags) or "-", usage.prompt_tokens, usage.completion_tokens, removed,
                 time.perf_counter() - started)

    def _count(self, usage: Usage, removed: int) -> None:
        self.metrics.prompt_tokens.inc(usage.prompt_tokens)
        self.metrics.completion_tokens.inc(usage.completion_tokens)
        self.metrics.citations_removed.inc(removed)

    async def _generate(self, prep: Prepared, params: GenerationParams) -> Generation:
        try:
            async with asyncio.timeout(self.settings.limits.request_timeout_s):
                return await generate(self.engine, prep.messages, params)
        except TimeoutError as exc:
            raise GatewayError(504, f"generation took longer than limits.request_timeout_s="
                               f"{self.settings.limits.request_timeout_s}s", type="timeout", code="timeout") from exc
        except EngineError as exc:
            raise GatewayError(exc.status, str(exc), type="server_error" if exc.status >= 500 else
                               "invalid_request_error", code="engine_error") from exc

    def _usage(self, prep: Prepared, prompt_tokens: int, completion_tokens: int) -> Usage:
        prompt = prompt_tokens or prep.prompt_tokens or 0
        return Usage(prompt_tokens=prompt, completion_tokens=completion_tokens,
                     total_tokens=prompt + completion_tokens)

    async def _structured(self, prep: Prepared, schema: dict[str, Any], index: int = 0):
        """Generate JSON valid against ``schema``: enforced by the engine, else validate and retry once."""
        attempts = 1 if self.engine.structured_outputs else 2
        error = ""
        for attempt in range(1, attempts + 1):
            gen = await self._generate(prep, prep.choice_params(index))
            try:
                return parse_json_answer(gen.text, schema), gen, attempt
            except ValueError as exc:
                error = str(exc)
                if gen.finish_reason == "length":
                    error += f" (the answer was cut at max_tokens={prep.params.max_tokens}: raise max_tokens)"
                # jsonschema's message quotes the model's text, which echoes the case: log only where it failed
                log.warning("structured answer attempt %d/%d invalid: %s%s", attempt, attempts,
                            str(exc).partition(": ")[0], " (cut off)" if gen.finish_reason == "length" else "")
        raise GatewayError(502, f"the model's answer did not match the requested JSON schema after {attempts} "
                           f"attempt(s): {error}", type="server_error", code="invalid_model_output")

    async def _answer(self, prep: Prepared, schema: dict[str, Any] | None,
                      index: int) -> tuple[str | None, Generation, int]:
        """One choice's text as the client gets it, its generation, and the citations removed from it."""
        if schema is not None:
            value, gen, _ = await self._structured(prep, schema, index)
            return json.dumps(value, ensure_ascii=False), gen, 0
        gen = await self._generate(prep, prep.choice_params(index))
        text, removed = gen.text, 0
        if prep.grounded:
            cite = CitationFilter(prep.allowed_pmids)
            text = cite.feed(text) + cite.flush()
            removed = cite.removed
        if gen.tool_calls:  # a step of an agent's loop: the notice ends the answer it leads to
            return (prep.safety.prefix + text) or None, gen, removed
        return prep.safety.prefix + text + prep.tail, gen, removed

    async def complete(self, req: ChatCompletionRequest) -> ChatCompletionResponse:
        started = time.perf_counter()
        schema = requested_schema(req)
        prep = await self.prepare(req, schema)
        answers = await all_of([self._answer(prep, schema, i) for i in range(req.n)])
        removed = sum(r for *_, r in answers)
        usage = self._usage(prep, answers[0][1].prompt_tokens, sum(gen.completion_tokens for _, gen, _ in answers))
        self._count(usage, removed)
        response = ChatCompletionResponse(
            model=req.model, usage=usage, citations=prep.citations, red_flags=prep.safety.red_flags,
            notice=prep.notice_field,
            choices=[{"index": i, "message": AssistantMessage(content=content, tool_calls=gen.tool_calls),
                      "finish_reason": "tool_calls" if gen.tool_calls else gen.finish_reason,
                      "logprobs": None if gen.logprobs is None else ChoiceLogprobs(content=gen.logprobs)}
                     for i, (content, gen, _) in enumerate(answers)],
        )
        self._log("chat", response.id, prep, usage, started, removed)
        return response

    async def open_stream(self, req: ChatCompletionRequest) -> AsyncIterator[str]:
        """Checks and grounding now (a failure is still an HTTP error), then the stream's events."""
        return self.stream(req, await self.prepare(req, requested_schema(req)))

    async def stream(self, req: ChatCompletionRequest, prep: Prepared) -> AsyncIterator[str]:
        """The data of server-sent events in OpenAI's chunk format (the ``n`` choices interleaved as
        their tokens come), ending with ``[DONE]``; the caller holds the concurrency slot."""
        started = time.perf_counter()
        req_id, created, n = completion_id(), int(time.time()), req.n
        include_usage = bool(req.stream_options and req.stream_options.include_usage)

        def event(index: int | None, delta: Delta | None = None, finish: str | None = None,
                  logprobs: list[dict[str, Any]] | None = None, **extra: Any) -> str:
            choices = [] if index is None else [ChunkChoice(
                index=index, delta=delta, finish_reason=finish,
                logprobs=None if logprobs is None else ChoiceLogprobs(content=logprobs))]
            chunk = ChatCompletionChunk(id=req_id, created=created, model=req.model, choices=choices, **extra)
            return chunk.model_dump_json(exclude_none=True)

        def closing(index: int, finish: str) -> str:
            return event(index, Delta(), finish, citations=prep.citations, red_flags=prep.safety.red_flags,
                         notice=prep.notice_field)

        if prep.params.json_schema is not None:  # validated JSON cannot be streamed token by token
            try:
                answers = await all_of([self._answer(prep, prep.params.json_schema, i) for i in range(n)])
            except GatewayError as exc:
                yield exc.body.model_dump_json()
                yield DONE
                return
            usage = self._usage(prep, answers[0][1].prompt_tokens, sum(gen.completion_tokens for _, gen, _ in answers))
            self._count(usage, 0)
            for i, (content, gen, _) in enumerate(answers):
                yield event(i, Delta(role="assistant", content=content))
                yield closing(i, gen.finish_reason)
            if include_usage:
                yield event(None, usage=usage)
            yield DONE
            self._log("chat.stream", req_id, prep, usage, started, 0)
            return
        for i in range(n):
            yield event(i, Delta(role="assistant", content=prep.safety.prefix))
        cites = [CitationFilter(prep.allowed_pmids) if prep.grounded else None for _ in range(n)]
        finish, completion_tokens, called = ["stop"] * n, [0] * n, [False] * n
        prompt_tokens, first = 0, True
        try:
            async with asyncio.timeout(self.settings.limits.request_timeout_s):
                streams = [self.engine.stream(prep.messages, prep.choice_params(i)) for i in range(n)]
                async for i, piece in interleave(streams):
                    if first:
                        self.metrics.ttft.observe(time.perf_counter() - started)
                        first = False
                    text = cites[i].feed(piece.text) if cites[i] else piece.text
                    if piece.tool_calls:
                        called[i] = True
                    if text or piece.logprobs or piece.tool_calls:
                        yield event(i, Delta(content=text or None, tool_calls=piece.tool_calls),
                                    logprobs=piece.logprobs)
                    if piece.finish_reason:
                        finish[i], completion_tokens[i] = piece.finish_reason, piece.completion_tokens
                        prompt_tokens = piece.prompt_tokens
        except (TimeoutError, EngineError) as exc:
            for line in stream_failure(exc, self.settings.limits.request_timeout_s):
                yield line
            return
        removed = sum(c.removed for c in cites if c)
        usage = self._usage(prep, prompt_tokens, sum(completion_tokens))
        self._count(usage, removed)
        for i, cite in enumerate(cites):
            tail = (cite.flush() if cite else "") + ("" if called[i] else prep.tail)
            if tail:
                yield event(i, Delta(content=tail))
            yield closing(i, "tool_calls" if called[i] else finish[i])
        if include_usage:
            yield event(None, usage=usage)
        yield DONE
        self._log("chat.stream", req_id, prep, usage, started, removed)

    async def diagnose(self, req: DiagnoseRequest) -> DiagnoseResponse:
        """A case (free text, or a consultation rendered as the vignette the model was trained on) as a
        ranked differential; each row with the knowledge base's severity, on request its findings
        attribution; for a consultation, the differential combined with the knowledge base's posterior
        and, on request, the next questions."""
        started = time.perf_counter()
        known = self.ddx.known(req.consultation) if req.consultation is not None else None
        case = self.ddx.vignette(req.consultation, known) if req.consultation is not None else req.case
        if req.attribution:
            try:
                parse_vignette(case)
            except MedassistError as exc:  # before any generation: the request cannot be answered as asked
                raise GatewayError(400, f"case: attribution needs a case in the case_vignette format "
                                   f"(or a consultation): {exc}", param="case", code="invalid_case") from exc
        chat = ChatCompletionRequest(
            model=req.model or self.settings.model_names[0],
            messages=[{"role": "user", "content": case_user_prompt(case)}],
            max_tokens=req.max_tokens, rag=req.rag, k=req.k,
        )
        # a consultation's differential is over its knowledge base's conditions: the ones its questions
        # separate and whose severity is known
        schema = differential_schema(req.max_conditions, self.ddx.kb.condition_names if known is not None else None)
        # retrieve for the case itself, not for the instruction wrapped around it; without max_tokens
        # the answer may use up to the cap, as decoding ends where the differential's JSON does
        prep = await self.prepare(chat, schema, query=case, default_max_tokens=self.settings.limits.max_tokens_cap)
        value, gen, attempts = await self._structured(prep, schema)
        allowed = prep.allowed_pmids
        differential = []
        for item in distinct_conditions(value["differential"]):
            severity = self.ddx.severity(item["condition"])
            differential.append(RankedCondition(
                condition=item["condition"], probability=item["probability"], rationale=item.get("rationale", ""),
                citations=sorted(allowed & set(_pmids(item))), severity=severity,
                must_not_miss=self.ddx.must_not_miss(severity)))
        if req.attribution:
            explained = await self._attribute(case, prep, [row.condition for row in differential])
            for row, attribution in zip(differential, explained, strict=True):
                row.attribution = attribution
        stated = [(r.condition, r.probability) for r in differential]
        combined = self.ddx.combined(known, stated) if known is not None else None
        questions = self.ddx.next_questions(known, stated, req.next_questions, req.language,
                                            req.consultation.skipped) if req.next_questions else []
        usage = self._usage(prep, gen.prompt_tokens, gen.completion_tokens)
        self._count(usage, 0)
        response = DiagnoseResponse(model=chat.model, case=case, differential=differential,
                                    combined_differential=combined, next_questions=questions,
                                    red_flags=prep.safety.red_flags, citations=prep.citations,
                                    notice=prep.safety.notice, attempts=attempts, usage=usage)
        self._log("diagnose", response.id, prep, usage, started, 0)
        return response

    async def _attribute(self, case: str, prep: Prepared, conditions: list[str]) -> list[FindingsAttribution]:
        """Leave-one-finding-out attribution (``data.attribution.attribute``) of each condition, scored by
        the engine on the prompt the answer was generated from (the same sources, only the case varies)."""
        loop = asyncio.get_running_loop()

        def prompt(vignette: str) -> list[dict[str, Any]]:
            user = ChatMessage(role="user", content=case_user_prompt(vignette))
            return self._messages([user], prep.passages, prep.grounded)

        def scorer(cases: list[str], names: list[str]) -> list[float]:
            # attribute() runs on a worker thread; the engine's coroutine runs on the event loop
            prompts = {v: prompt(v) for v in dict.fromkeys(cases)}
            items = [ScoreItem(prompts[v], ANSWER_PREFIX, condition_continuation(c)) for v, c in zip(cases, names,
                                                                                                   strict=True)]
            return asyncio.run_coroutine_threadsafe(self.engine.score(items), loop).result()

        try:
            async with asyncio.timeout(self.settings.limits.request_timeout_s):
                explained = await asyncio.to_thread(attribute, case, conditions, scorer)
        except TimeoutError as exc:
            raise GatewayError(504, f"attribution took longer than limits.request_timeout_s="
                               f"{self.settings.limits.request_timeout_s}s", type="timeout", code="timeout") from exc
        except EngineError as exc:
            if exc.status == 501:  # this engine cannot score: the request asked for what it cannot have
                raise GatewayError(501, f"attribution: {exc}", param="attribution",
                                   code="attribution_unavailable") from exc
            raise GatewayError(exc.status, f"attribution: {exc}", type="server_error" if exc.status >= 500 else
                               "invalid_request_error", code="engine_error") from exc
        return [FindingsAttribution.model_validate(c.to_dict()) for c in explained.conditions]

    def evidences(self) -> EvidenceList:
        return self.ddx.evidences()


def sampling_params(req: Any, **fields: Any) -> GenerationParams:
    """The sampling fields chat and text completions share, off where the request leaves them out."""
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or ())
    return GenerationParams(**{
        "temperature": req.temperature, "top_p": req.top_p, "stop": stop, "seed": req.seed,
        "ignore_eos": req.ignore_eos, "top_k": max(req.top_k or 0, 0), "min_p": req.min_p or 0.0,
        "repetition_penalty": req.repetition_penalty or 1.0, "presence_penalty": req.presence_penalty or 0.0,
        "frequency_penalty": req.frequency_penalty or 0.0, "logit_bias": req.logit_bias or {}, **fields})


def stream_failure(exc: Exception, timeout_s: float) -> list[str]:
    """The last events of a stream the engine could not finish: an OpenAI error object, then [DONE]."""
    message = (f"generation took longer than limits.request_timeout_s={timeout_s}s" if isinstance(exc, TimeoutError)
               else str(exc))
    err = ErrorResponse(error=ErrorInfo(message=message, type="server_error", code="engine_error"))
    return [err.model_dump_json(), DONE]


async def all_of(calls: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Results of ``calls`` run together (the ``n`` choices); the first failure cancels the others and
    is raised as itself, so an ``GatewayError`` still becomes its HTTP answer."""
    if len(calls) == 1:
        return [await calls[0]]
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def interleave(streams: list[AsyncIterator[StreamEvent]]) -> AsyncIterator[tuple[int, StreamEvent]]:
    """The events of several streams as they come, each with its stream's index; the first error
    ends them all (and is raised). One stream is passed through as it is."""
    if len(streams) == 1:
        async for item in streams[0]:
            yield 0, item
        return
    queue: asyncio.Queue[tuple[int, StreamEvent | Exception | None]] = asyncio.Queue()

    async def pump(index: int, stream: AsyncIterator[StreamEvent]) -> None:
        try:
            async for item in stream:
                await queue.put((index, item))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            await queue.put((index, exc))
        await queue.put((index, None))

    tasks = [asyncio.create_task(pump(i, s)) for i, s in enumerate(streams)]
    try:
        running = len(tasks)
        while running:
            index, item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield index, item
    finally:  # a client gone, a timeout or an error: stop the other generations too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def distinct_conditions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most probable first, each condition once (small models repeat names; the first, most probable,
    entry of a name stands, compared without case and surrounding space)."""
    seen: set[str] = set()
    kept = []
    for item in sorted(items, key=lambda d: -d["probability"]):
        name = " ".join(item["condition"].lower().split())
        if name not in seen:
            seen.add(name)
            kept.append(item)
    return kept


def _pmids(item: dict[str, Any]) -> list[str]:
    return extract_citations(item.get("rationale", ""))


def requested_schema(req: ChatCompletionRequest) -> dict[str, Any] | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "object"}
    return fmt.json_schema.schema_
