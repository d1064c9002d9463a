"""Text-generation engines behind one interface (``Engine``): local transformers, an
OpenAI-compatible upstream, or a vLLM server the gateway starts itself."""

from __future__ import annotations

from medassist.serve.config import ServeConfig
from medassist.serve.engines.base import Engine, GenerationParams, StreamEvent
from medassist.serve.engines.local import LocalEngine
from medassist.serve.engines.upstream import UpstreamEngine
from medassist.serve.engines.vllm import VllmEngine

__all__ = ["Engine", "GenerationParams", "StreamEvent", "build_engine"]


def build_engine(settings: ServeConfig) -> Engine:
    """The engine named by ``settings.engine`` (torch and transformers load when the local engine starts)."""
    if settings.engine == "local":
        return LocalEngine(settings)
    if settings.engine == "upstream":
        return UpstreamEngine(settings.upstream, settings.upstream_model, settings.upstream_api_key,
                              tokenizer_path=None, timeout_s=settings.limits.request_timeout_s)
    return VllmEngine(settings)
