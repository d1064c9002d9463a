"""Where answers come from: an OpenAI-compatible endpoint, vLLM's offline batch API, or
transformers in-process. Each backend takes items holding chat ``messages`` and yields
``(item, answer)`` as answers complete, so the runner can log every one at once.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Protocol

from medassist.errors import MedassistError
from medassist.eval.suites import EvalItem
from medassist.models.hub import greedy_chat, load_model, load_tokenizer, tokenizer_source

log = logging.getLogger(__name__)

Answer = dict[str, Any]  # {"text": str, "citations": list[dict], "error": str | None, "latency_s": float}


class Backend(Protocol):
    name: str

    def answer(self, items: list[EvalItem]) -> Iterator[tuple[EvalItem, Answer]]: ...


@dataclass
class EndpointBackend:
    """Concurrent chat completions with the official ``openai`` client against any compatible server.

    ``rag`` is sent as medassist's ``extra_body`` field only when set, so plain vLLM or other
    servers are asked exactly the standard request. A request the server rejects (e.g. a prompt
    over its context) is logged as an answer with ``error`` and scored as unparseable.
    """

    base_url: str
    api_key: str = "EMPTY"
    model: str | None = None
    concurrency: int = 4
    max_tokens: int = 128
    rag: bool | None = None
    timeout_s: float = 300.0

    @property
    def name(self) -> str:
        return f"endpoint:{self.base_url}"

    def _client(self) -> Any:
        from openai import OpenAI

        return OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_s, max_retries=2)

    def resolve_model(self) -> str:
        """The model to ask: as configured, else the first one the server lists."""
        import openai

        if self.model:
            return self.model
        try:
            listed = [m.id for m in self._client().models.list().data]
        except openai.OpenAIError as exc:
            raise MedassistError(f"endpoint {self.base_url}: cannot list models ({exc}); pass --model-name") from exc
        if not listed:
            raise MedassistError(f"endpoint {self.base_url} lists no models; pass --model-name")
        self.model = listed[0]
        return self.model

    def _ask(self, client: Any, item: EvalItem) -> Answer:
        import openai

        started = time.perf_counter()
        extra = {"rag": self.rag} if self.rag is not None else None
        try:
            completion = client.chat.completions.create(
                model=self.model, messages=item.messages, max_tokens=self.max_tokens, temperature=0.0,
                extra_body=extra,
            )
        except openai.BadRequestError as exc:
            return {"text": "", "citations": [], "error": f"400: {exc.message}",
                    "latency_s": time.perf_counter() - started}
        except openai.OpenAIError as exc:
            raise MedassistError(f"endpoint {self.base_url}: request for item {item.id} failed: {exc}") from exc
        extras = completion.model_extra or {}
        return {"text": completion.choices[0].message.content or "", "citations": extras.get("citations") or [],
                "error": None, "latency_s": time.perf_counter() - started}

    def answer(self, items: list[EvalItem]) -> Iterator[tuple[EvalItem, Answer]]:
        self.resolve_model()
        client = self._client()
        pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency))
        try:
            futures = {pool.submit(self._ask, client, item): item for item in items}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class TransformersBackend:
    """Greedy batched ``generate`` in this process (the model's own chat template, left padding)."""

    model_path: str
    adapter: str | None = None
    batch_size: int = 8
    max_tokens: int = 128
    # (tokenizer, model), loaded on the first call: an interactive eval calls once per question
    _loaded: tuple[Any, Any] | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"transformers:{self.model_path}" + (f"+{self.adapter}" if self.adapter else "")

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            tokenizer = load_tokenizer(tokenizer_source(self.model_path, self.adapter))
            self._loaded = tokenizer, load_model(self.model_path, adapter=self.adapter)
        return self._loaded

    def answer(self, items: list[EvalItem]) -> Iterator[tuple[EvalItem, Answer]]:
        tokenizer, model = self._load()
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            started = time.perf_counter()
            texts = greedy_chat(model, tokenizer, [i.messages for i in batch], self.max_tokens)
            latency = (time.perf_counter() - started) / len(batch)
            for item, text in zip(batch, texts, strict=True):
                yield item, {"text": text.strip(), "citations": [], "error": None, "latency_s": latency}


@dataclass
class VLLMBackend:
    """vLLM's offline batch API (``vllm.LLM.chat``), used for ``--model`` when vLLM is importable."""

    model_path: str
    adapter: str | None = None
    max_tokens: int = 128
    _llm: Any = field(default=None, init=False, repr=False)  # started on the first call, kept for the next

    @property
    def name(self) -> str:
        return f"vllm:{self.model_path}" + (f"+{self.adapter}" if self.adapter else "")

    def answer(self, items: list[EvalItem]) -> Iterator[tuple[EvalItem, Answer]]:
        from vllm import LLM, SamplingParams
        from vllm.lora.request import LoRARequest

        if self._llm is None:
            self._llm = LLM(model=self.model_path, enable_lora=self.adapter is not None)
        llm = self._llm
        lora = LoRARequest("adapter", 1, self.adapter) if self.adapter else None
        started = time.perf_counter()
        outputs = llm.chat([i.messages for i in items], SamplingParams(temperature=0.0, max_tokens=self.max_tokens),
                           lora_request=lora)
        latency = (time.perf_counter() - started) / max(1, len(items))
        for item, output in zip(items, outputs, strict=True):
            yield item, {"text": output.outputs[0].text.strip(), "citations": [], "error": None, "latency_s": latency}


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def make_backend(
    *, model: str | None, adapter: str | None, endpoint: str | None, api_key: str, model_name: str | None,
    concurrency: int, max_tokens: int, rag: bool | None, engine: str = "auto", batch_size: int = 8,
) -> Backend:
    if (model is None) == (endpoint is None):
        raise MedassistError("give exactly one of --model PATH (in-process) or --endpoint URL (OpenAI-compatible)")
    if endpoint is not None:
        if adapter:
            raise MedassistError("--adapter applies to --model only; an endpoint serves its own adapter")
        return EndpointBackend(endpoint, api_key, model_name, concurrency, max_tokens, rag)
    if engine == "vllm" or (engine == "auto" and vllm_available()):
        return VLLMBackend(model, adapter, max_tokens)
    return TransformersBackend(model, adapter, batch_size=batch_size, max_tokens=max_tokens)
