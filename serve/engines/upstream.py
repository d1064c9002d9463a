"""Forward generation to any OpenAI-compatible server (vLLM, another medassist, a hosted API).

Always streams from the upstream (``stream_options.include_usage`` for token counts), so the
gateway adds only the time to re-frame each chunk. Structured outputs are requested with
``response_format: json_schema``, which vLLM enforces while decoding. Errors that reach
clients never name the upstream's address (it is internal configuration); the log does.

Scoring (``score``) is one ``/completions`` call with ``echo`` and ``logprobs``, vLLM's way to
return the prompt's own log-probabilities. The prompt goes as token ids: the chat template's
rendering and the answer prefix, then the continuation, tokenized apart as the local engine's
scorer does (the served tokenizer's, so it needs one: the vllm engine loads it; a plain upstream
has none and answers 501).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from medassist.hub import load_tokenizer
from medassist.serve.engines.base import (
    OPTIONAL_FIELDS,
    READY,
    EngineError,
    EngineStatus,
    GenerationParams,
    Prompt,
    ScoreItem,
    StreamEvent,
)

log = logging.getLogger(__name__)


class UpstreamEngine:
    name = "upstream"
    structured_outputs = True
    # OpenAI's and vLLM's sampling fields; an upstream that does not know vLLM's (top_k, min_p,
    # repetition_penalty) answers 400, which reaches the client as a 400
    sampling_fields = frozenset(OPTIONAL_FIELDS)

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, *,
                 tokenizer_path: str | None = None, timeout_s: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.tokenizer_path = tokenizer_path
        self.tokenizer: Any = None
        self.on_failure: Callable[[], None] | None = None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def start(self) -> None:
        if self.tokenizer_path:
            self.tokenizer = load_tokenizer(self.tokenizer_path)
        if self.model is None:
            try:
                reply = await self.client.get("/models")
                reply.raise_for_status()
                self.model = reply.json()["data"][0]["id"]
            except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
                raise EngineError(f"upstream {self.base_url}/models gave no model to use: {exc}") from exc
        log.info("upstream engine: %s model=%s", self.base_url, self.model)

    async def stop(self) -> None:
        await self.client.aclose()

    def status(self) -> EngineStatus:
        """Always ready: a remote upstream's health is that server's own to report."""
        return READY

    def count_prompt_tokens(self, prompt: Prompt) -> int | None:
        if self.tokenizer is None:
            return None
        if isinstance(prompt, str):
            return len(self.tokenizer(prompt)["input_ids"])
        return len(self.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True,
                                                      return_dict=False))

    def _payload(self, prompt: Prompt, params: GenerationParams) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model, ("prompt" if isinstance(prompt, str) else "messages"): prompt,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.stop:
            payload["stop"] = params.stop
        if params.ignore_eos:
            payload["ignore_eos"] = True
        if params.seed is not None:
            payload["seed"] = params.seed
        payload.update({name: getattr(params, name) for name in params.set_fields()})
        if params.tools:
            payload.update({k: v for k, v in (("tool_choice", params.tool_choice),
                                              ("parallel_tool_calls", params.parallel_tool_calls)) if v is not None})
        if params.json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema", "json_schema": {"name": "response", "schema": params.json_schema},
            }
        return payload

    async def stream(self, prompt: Prompt, params: GenerationParams) -> AsyncIterator[StreamEvent]:
        finish, usage, done = None, {}, False
        raw = isinstance(prompt, str)  # /v1/completions: text chunks and OpenAI's older log-probability shape
        route = "/completions" if raw else "/chat/completions"
        try:
            async with self.client.stream("POST", route, json=self._payload(prompt, params)) as r:
                if r.status_code >= 400:
                    raise _upstream_error(r.status_code, (await r.aread()).decode("utf-8", "replace"))
                async for line in r.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":  # read on to the end: a response closed early loses its keep-alive
                        done = True
                        continue
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise EngineError(f"upstream error mid-stream: {chunk['error'].get('message')}")
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        finish = choice.get("finish_reason") or finish
                        delta = choice.get("delta") or {}
                        text = choice.get("text") if raw else delta.get("content")
                        calls = delta.get("tool_calls")
                        logprobs = [choice["logprobs"]] if raw and choice.get("logprobs") else (
                            (choice.get("logprobs") or {}).get("content"))
                        if text or logprobs or calls:
                            yield StreamEvent(text or "", logprobs=logprobs, tool_calls=calls)
            if not done:  # a body that ends without [DONE] was cut (the upstream died mid-answer)
                raise httpx.RemoteProtocolError("the stream ended before data: [DONE]")
        except httpx.TimeoutException as exc:
            log.warning("upstream %s timed out: %r", self.base_url, exc)
            raise EngineError("the model engine timed out", status=504) from exc
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed: %r", self.base_url, exc)
            raise EngineError(f"the model engine stopped answering ({exc.__class__.__name__}); retry shortly",
                              status=503) from exc
        yield StreamEvent("", finish or "stop", usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))


    async def score(self, items: list[ScoreItem]) -> list[float]:
        if self.tokenizer is None:
            raise EngineError("this engine cannot score continuations: the upstream's tokenizer is unknown "
                              "(its chat template renders the prompt)", status=501)

        def ids(text: str) -> list[int]:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

        heads = [ids(self.tokenizer.apply_chat_template(item.messages, add_generation_prompt=True, tokenize=False)
                     + item.answer_prefix) for item in items]
        tails = [ids(item.continuation) for item in items]
        # token ids, not text: the continuation's tokens are exactly the scored ones (vLLM's text
        # offsets add up decoded token strings, which do not map back onto the text); max_tokens 1:
        # the one generated token comes last and is not counted
        payload = {"model": self.model, "prompt": [h + t for h, t in zip(heads, tails, strict=True)],
                   "echo": True, "logprobs": 1, "max_tokens": 1, "temperature": 0.0}
        try:
            reply = await self.client.post("/completions", json=payload)
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed while scoring: %r", self.base_url, exc)
            raise EngineError(f"the model engine stopped answering ({exc.__class__.__name__}); retry shortly",
                              status=503) from exc
        if reply.status_code >= 400:
            raise _upstream_error(reply.status_code, reply.text)
        choices = sorted(reply.json().get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != len(items):
            raise EngineError(f"the upstream scored {len(choices)} of {len(items)} prompts")
        return [_span_logprob(choice.get("logprobs") or {}, len(head), len(head) + len(tail))
                for choice, head, tail in zip(choices, heads, tails, strict=True)]


def _span_logprob(logprobs: dict[str, Any], start: int, end: int) -> float:
    """The sum of the echoed prompt tokens' log-probabilities at positions ``[start, end)``."""
    values = logprobs.get("token_logprobs") or []
    span = values[start:end]
    if len(span) != end - start or any(v is None for v in span):
        raise EngineError("the upstream returned no prompt log-probabilities (it needs vLLM's echo + logprobs)")
    return float(sum(span))


def _upstream_error(status: int, body: str) -> EngineError:
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        try:
            message = str(json.loads(body).get("detail", body))
        except (ValueError, AttributeError):
            message = body[:300]
    # The client's own mistakes (400/413/422) stay client errors; the gateway's config or the
    # upstream's health problems (401/404/5xx) are a bad gateway.
    return EngineError(f"upstream rejected the request: {message}", status=400 if status in (400, 413, 422)
                       else 429 if status == 429 else 502)
