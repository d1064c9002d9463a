"""In-process transformers engine: base + PEFT adapter or a merged folder, on CPU or GPU.

Concurrent requests are gathered while they keep arriving (a burst over HTTP spreads over tens
of milliseconds), then generated together as one left-padded batch (requests with the same
sampling settings share a batch). A request with a JSON schema is decoded under it
(``grammar.py``, llguidance), as vLLM does. Generation runs on a worker thread, never on the
event loop, and so do tokenizing a prompt and compiling a schema; a ``BaseStreamer`` hands each
step's tokens to the waiting requests, so every request streams even inside a batch. A request
whose client went away is stopped at the next step by a per-row stopping criterion. A batch that
fails before its first token is retried request by request, so one bad request fails alone.

Scoring (``score``: continuations' log-probabilities, for ``/v1/diagnose``'s attribution) runs the
prefix-cached ``medassist.condition_scorer.ConditionScorer`` on the same model, on a worker thread;
one lock holds the model for a generation batch or a scoring call, never both at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from medassist.hub import load_model, load_tokenizer, tokenizer_source
from medassist.serve.config import ServeConfig
from medassist.serve.engines.base import (
    READY,
    EngineError,
    EngineStatus,
    GenerationParams,
    Prompt,
    ScoreItem,
    StreamEvent,
)

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Job:
    prompt_ids: list[int]
    params: GenerationParams
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue
    tokens: list[int] = field(default_factory=list)
    generated: int = 0  # tokens sampled, EOS included (as vLLM counts completion tokens)
    sent: str = ""
    done: bool = False
    cancelled: bool = False
    matcher: Any = None  # the schema's llguidance matcher when the answer must be JSON

    @property
    def batch_key(self) -> tuple:
        """Requests share a batch when ``generate`` would treat them alike."""
        p = self.params
        sampled = p.temperature > 0
        return (p.temperature, p.top_p if sampled else 1.0, p.top_k if sampled else 0, p.min_p if sampled else 0.0,
                p.repetition_penalty, p.ignore_eos)

    def emit(self, event: StreamEvent | Exception) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)


class _BatchStreamer:
    """Receives one token per row per step from ``generate`` and streams text to each job."""

    def __init__(self, jobs: list[_Job], tokenizer: Any, eos_ids: set[int]) -> None:
        self.jobs, self.tokenizer, self.eos_ids = jobs, tokenizer, eos_ids
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt ids
            self.prompt_seen = True
            return
        for job, token in zip(self.jobs, value.tolist(), strict=True):
            if not job.done:
                self._advance(job, token)

    def _advance(self, job: _Job, token: int) -> None:
        job.generated += 1
        if token in self.eos_ids:
            self._finish(job, "stop", self._text(job))
            return
        job.tokens.append(token)
        text = self._text(job)
        for stop in job.params.stop:
            if stop in text:
                self._finish(job, "stop", text[: text.index(stop)])
                return
        if len(job.tokens) >= job.params.max_tokens:
            self._finish(job, "length", text)
            return
        hold = max((len(s) - 1 for s in job.params.stop), default=0)
        ready = text[: len(text) - hold] if hold else text
        if ready.endswith("\ufffd"):  # an unfinished multi-byte character
            return
        if len(ready) > len(job.sent) and ready.startswith(job.sent):
            job.emit(StreamEvent(ready[len(job.sent) :]))
            job.sent = ready

    def _text(self, job: _Job) -> str:
        return self.tokenizer.decode(job.tokens, skip_special_tokens=True)

    def _finish(self, job: _Job, reason: str, text: str) -> None:
        job.done = True
        rest = text[len(job.sent) :] if text.startswith(job.sent) else ""
        job.emit(StreamEvent(rest, reason, len(job.prompt_ids), job.generated))

    def end(self) -> None:
        for job in self.jobs:
            if not job.done:
                self._finish(job, "length", self._text(job))


class _RowsDone:
    """Per-row stopping: a row stops at its own max_tokens, stop string or disconnect."""

    def __init__(self, jobs: list[_Job], prompt_len: int) -> None:
        self.jobs, self.prompt_len = jobs, prompt_len

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch  # heavy: loaded with the model, not when the gateway's modules are imported

        generated = input_ids.shape[1] - self.prompt_len
        return torch.tensor(
            [j.done or j.cancelled or generated >= j.params.max_tokens for j in self.jobs],
            dtype=torch.bool, device=input_ids.device,
        )


class LocalEngine:
    name = "local"
    # transformers' generate has these; penalties by presence/frequency, logit_bias, log-probabilities and
    # tool calling are vLLM's (the gateway refuses them here with a 400 naming the field)
    sampling_fields = frozenset({"top_k", "min_p", "repetition_penalty"})

    def __init__(self, settings: ServeConfig) -> None:
        self.settings = settings
        self.structured_outputs = settings.local_grammar
        self.model: Any = None
        self.tokenizer: Any = None
        self._pending: deque[_Job] = deque()
        self._wake = threading.Condition()
        self._closing = False
        self._worker: threading.Thread | None = None
        self._model_lock = threading.Lock()  # a generation batch or a scoring call, one at a time
        self._scorer: Any = None
        self.on_failure: Callable[[], None] | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self._load)
        self._worker = threading.Thread(target=self._run, name="medassist-local-engine", daemon=True)
        self._worker.start()

    def _load(self) -> None:
        # grammar imports torch, transformers and llguidance: loaded with the model, on the engine's thread
        from medassist.serve.engines.grammar import SchemaGrammars

        adapter = self.settings.adapter
        self.tokenizer = load_tokenizer(tokenizer_source(self.settings.model, adapter))
        self.tokenizer.padding_side = "left"
        self.model = load_model(self.settings.model, adapter=adapter)
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = {self.tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.grammars = SchemaGrammars(self.tokenizer, self.model.config.vocab_size, self.eos_ids)
        log.info("local engine ready: model=%s adapter=%s", self.settings.model, adapter)

    async def stop(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join, 30)

    def status(self) -> EngineStatus:
        if self._worker is not None and not self._worker.is_alive() and not self._closing:
            return EngineStatus("failed", "the local generation worker stopped; see the server log")
        return READY

    def _encode(self, prompt: Prompt) -> list[int]:
        if isinstance(prompt, str):  # raw text, with the tokenizer's BOS where it adds one (as vLLM does)
            return list(self.tokenizer(prompt)["input_ids"])
        ids = self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True,
                                                 return_dict=False)
        return list(ids["input_ids"] if isinstance(ids, dict) else ids)

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        return len(self._encode(prompt))

    def _inputs(self, messages: Prompt, params: GenerationParams) -> tuple[list[int], Any]:
        """The prompt's ids and the schema's matcher, if any (run on a worker thread)."""
        constrained = params.json_schema is not None and self.structured_outputs
        return self._encode(messages), self.grammars.matcher(params.json_schema) if constrained else None

    async def stream(self, messages: Prompt, params: GenerationParams) -> AsyncIterator[StreamEvent]:
        prompt_ids, matcher = await asyncio.to_thread(self._inputs, messages, params)
        job = _Job(prompt_ids, params, asyncio.get_running_loop(), asyncio.Queue(), matcher=matcher)
        with self._wake:
            self._pending.append(job)
            self._wake.notify()
        try:
            while True:
                event = await job.events.get()
                if isinstance(event, Exception):
                    raise EngineError(f"local generation failed: {event}", status=500) from event
                yield event
                if event.finish_reason:
                    return
        finally:
            job.cancelled = True

    async def score(self, items: list[ScoreItem]) -> list[float]:
        return await asyncio.to_thread(self._score, items)

    def _score(self, items: list[ScoreItem]) -> list[float]:
        from medassist.condition_scorer import ConditionScorer

        def ids(text: str) -> list[int]:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

        prompts = [ids(self.tokenizer.apply_chat_template(item.messages, add_generation_prompt=True, tokenize=False)
                       + item.answer_prefix) for item in items]
        continuations = [ids(item.continuation) for item in items]
        with self._model_lock:
            if self._scorer is None:  # keeps the cache of the last case it scored: the next one may share it
                self._scorer = ConditionScorer(self.model, self.tokenizer)
            return self._scorer.score_ids(prompts, continuations)

    def _next_batch(self) -> list[_Job] | None:
        with self._wake:
            while not self._pending and not self._closing:
                self._wake.wait()
            if self._closing and not self._pending:
                return None
        self._gather()
        with self._wake:
            first = self._pending[0]
            batch = [j for j in self._pending if j.batch_key == first.batch_key][: self.settings.local_max_batch]
            for job in batch:
                self._pending.remove(job)
        return [j for j in batch if not j.cancelled]

    def _gather(self) -> None:
        """Wait until no request arrived for ``local_batch_wait_ms`` (or the batch is full, or
        ``local_batch_max_wait_ms`` passed): a burst that straggles in becomes one batch, instead
        of one batch plus a queue that waits for all of it to finish."""
        s = self.settings
        deadline = time.monotonic() + s.local_batch_max_wait_ms / 1000
        seen = 0
        while True:
            with self._wake:
                waiting = len(self._pending)
            if waiting == seen or waiting >= s.local_max_batch or time.monotonic() >= deadline:
                return
            seen = waiting
            time.sleep(max(0.0, min(s.local_batch_wait_ms / 1000, deadline - time.monotonic())))

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                if batch:
                    self._serve(batch)
        except BaseException:  # not restarted: status() says failed, and the server stops
            log.exception("the local generation worker died")
            if self.on_failure is not None:
                self.on_failure()

    def _serve(self, jobs: list[_Job]) -> None:
        """Generate a batch, keep serving whatever happens. A batch that fails before any row has
        a token is retried one request at a time, so only the request that breaks it gets the
        error; once tokens have streamed a retry would repeat them, so every row gets the error."""
        log.debug("generating a batch of %d request(s)", len(jobs))
        try:
            self._generate(jobs)
        except Exception as exc:
            if len(jobs) > 1 and not any(j.generated for j in jobs):
                log.warning("a batch of %d failed before its first token (%s): retrying its requests one by one",
                            len(jobs), exc.__class__.__name__)
                for job in jobs:
                    if not job.cancelled:
                        self._serve([job])
                return
            log.exception("local engine batch of %d failed", len(jobs))
            for job in jobs:
                if not job.done:
                    job.done = True
                    job.emit(exc)

    def _generate(self, jobs: list[_Job]) -> None:
        import torch  # torch and transformers are heavy: loaded with the model, never at module import
        from transformers import LogitsProcessorList, StoppingCriteriaList

        from medassist.serve.engines.grammar import GrammarMask

        enc = self.tokenizer.pad({"input_ids": [j.prompt_ids for j in jobs]}, padding=True, return_tensors="pt")
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        params = jobs[0].params
        # explicit values: the model's generation_config may carry its own (top_k=50 is common)
        sampling: dict[str, Any] = {"do_sample": False, "repetition_penalty": params.repetition_penalty}
        if params.temperature > 0:
            sampling.update(do_sample=True, temperature=params.temperature, top_p=params.top_p,
                            top_k=params.top_k, min_p=params.min_p or None)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        if params.ignore_eos:  # EOS is masked until every row has its max_tokens
            sampling["min_new_tokens"] = max(j.params.max_tokens for j in jobs)
        streamer = _BatchStreamer(jobs, self.tokenizer, self.eos_ids)
        prompt_len = enc["input_ids"].shape[1]
        grammar = [GrammarMask(jobs, prompt_len)] if any(j.matcher is not None for j in jobs) else []
        with self._model_lock, torch.inference_mode():
            self.model.generate(
                **enc,
                max_new_tokens=max(j.params.max_tokens for j in jobs),
                streamer=streamer,
                logits_processor=LogitsProcessorList(grammar),
                stopping_criteria=StoppingCriteriaList([_RowsDone(jobs, prompt_len)]),
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling,
            )
        streamer.end()
