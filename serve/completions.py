"""``/v1/completions``: raw text in, its continuation out, for evaluation harnesses
(lm-evaluation-harness' ``local-completions`` scores MedQA options with ``echo`` and ``logprobs``).

The prompt reaches the model as it is: no chat template, no retrieval, no citation filter, and the
decision-support notice goes in the ``notice`` field rather than into text a harness scores. Red
flags in the prompt are still detected and reported. Admission, limits, ``n`` and streaming are
the chat route's (``serving.ChatService``). A list of prompts gives ``n`` choices per prompt,
indexed prompt by prompt, as OpenAI does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from medassist.serve import safety
from medassist.serve.config import resolve_max_model_len
from medassist.serve.engines.base import EngineError, Generation
from medassist.serve.openai_errors import GatewayError
from medassist.serve.protocol import (
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    Usage,
)
from medassist.serve.serving import (
    DONE,
    ChatService,
    Prepared,
    all_of,
    interleave,
    sampling_params,
    stream_failure,
)


def join_logprobs(parts: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """One choice's log-probabilities from its chunks (each a dict of parallel lists)."""
    if not parts:
        return None
    keys = ("tokens", "token_logprobs", "top_logprobs", "text_offset")
    return {key: [item for part in parts for item in part.get(key) or ()] for key in keys}


class Completions:
    def __init__(self, service: ChatService) -> None:
        self.service = service

    async def prepare(self, req: CompletionRequest) -> list[Prepared]:
        """One ``Prepared`` per prompt; every check before any generation."""
        s, service = self.service.settings, self.service
        if req.model not in s.model_names:
            raise GatewayError(404, f"model {req.model!r} does not exist; available: {', '.join(s.model_names)}",
                               param="model", code="model_not_found")
        if req.n * len(req.prompts) > s.limits.max_n:
            raise service._reject("max_n", f"{len(req.prompts)} prompt(s) x n={req.n} exceed limits.max_n="
                                  f"{s.limits.max_n} choices", "n")
        if req.max_tokens > s.limits.max_tokens_cap:
            raise service._reject("max_tokens_cap", f"max_tokens={req.max_tokens} exceeds limits.max_tokens_cap="
                                  f"{s.limits.max_tokens_cap}", "max_tokens")
        params = sampling_params(req, max_tokens=req.max_tokens, logprobs=req.logprobs is not None,
                                 top_logprobs=req.logprobs or 0, echo=req.echo)
        service.refuse_unsupported(params)
        assessment = await asyncio.to_thread(safety.assess, req.prompts)
        prepared = []
        for prompt in req.prompts:
            tokens = await asyncio.to_thread(service.engine.count_prompt_tokens, prompt)
            if tokens is not None and tokens + req.max_tokens > resolve_max_model_len(s):
                service.metrics.rejected.labels("context_length").inc()
                raise GatewayError(400, f"the prompt is {tokens} tokens and max_tokens={req.max_tokens}: together they "
                                   f"exceed the context of {resolve_max_model_len(s)} tokens (max_model_len)",
                                   param="prompt", code="context_length_exceeded")
            prepared.append(Prepared(prompt, params, [], assessment, False, tokens, notice_inline=False))
        for flag in assessment.red_flags:
            service.metrics.red_flags.labels(flag).inc()
        return prepared

    def _usage(self, preps: list[Prepared], gens: list[Generation], n: int) -> Usage:
        prompt = sum(g.prompt_tokens or p.prompt_tokens or 0 for p, g in zip(preps, gens[::n], strict=True))
        completion = sum(g.completion_tokens for g in gens)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)

    async def complete(self, req: CompletionRequest) -> CompletionResponse:
        started = time.perf_counter()
        preps = await self.prepare(req)
        gens = await all_of([self.service._generate(p, p.choice_params(i)) for p in preps for i in range(req.n)])
        usage = self._usage(preps, gens, req.n)
        self.service._count(usage, 0)
        response = CompletionResponse(
            model=req.model, usage=usage, red_flags=preps[0].safety.red_flags, notice=preps[0].safety.notice,
            choices=[CompletionChoice(index=i, text=g.text, logprobs=join_logprobs(g.logprobs),
                                      finish_reason=g.finish_reason) for i, g in enumerate(gens)])
        self.service._log("completions", response.id, preps[0], usage, started, 0)
        return response

    async def open_stream(self, req: CompletionRequest) -> AsyncIterator[str]:
        """Checks now (a failure is still an HTTP error), then the stream's events."""
        return self.stream(req, await self.prepare(req))

    async def stream(self, req: CompletionRequest, preps: list[Prepared]) -> AsyncIterator[str]:
        """The data of server-sent ``text_completion`` chunks, the choices interleaved as their
        tokens come, ending with ``[DONE]``."""
        started = time.perf_counter()
        head = CompletionResponse(model=req.model, choices=[])
        completion_tokens: dict[int, int] = {}
        prompt_tokens: dict[int, int] = {}

        def event(**fields: Any) -> str:
            chunk = head.model_copy(update=fields)
            return chunk.model_dump_json(exclude_none=True)

        streams = [self.service.engine.stream(p.messages, p.choice_params(i)) for p in preps for i in range(req.n)]
        try:
            async with asyncio.timeout(self.service.settings.limits.request_timeout_s):
                async for index, piece in interleave(streams):
                    if piece.text or piece.logprobs or piece.finish_reason:
                        choice = CompletionChoice(index=index, text=piece.text, logprobs=join_logprobs(piece.logprobs),
                                                  finish_reason=piece.finish_reason)
                        yield event(choices=[choice])
                    if piece.finish_reason:
                        completion_tokens[index] = piece.completion_tokens
                        prompt_tokens[index // req.n] = piece.prompt_tokens
        except (TimeoutError, EngineError) as exc:  # the stream has begun: it ends with an error event
            for line in stream_failure(exc, self.service.settings.limits.request_timeout_s):
                yield line
            return
        prompt = sum(prompt_tokens.get(i) or p.prompt_tokens or 0 for i, p in enumerate(preps))
        completion = sum(completion_tokens.values())
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
        self.service._count(usage, 0)
        yield event(choices=[], red_flags=preps[0].safety.red_flags, notice=preps[0].safety.notice,
                    usage=usage if req.stream_options and req.stream_options.include_usage else None)
        yield DONE
        self.service._log("completions.stream", head.id, preps[0], usage, started, 0)
