"""Text-generation engines behind one interface (``Engine``): local transformers, an
OpenAI-compatible upstream, or a vLLM server the gateway starts itself."""

from __future__ import annotations

from medassist.serve.config import ServeConfig
from medassist.serve.engines.base import Engine, GenerationParams, StreamEvent

__all__ = ["Engine", "GenerationParams", "StreamEvent", "build_engine"]


def build_engine(settings: ServeConfig) -> Engine:
    """The engine named by ``settings.engine`` (heavy imports happen here, not at module load)."""
    if settings.engine == "local":
        from medassist.serve.engines.local import LocalEngine

        return LocalEngine(settings)
    if settings.engine == "upstream":
        from medassist.serve.engines.upstream import UpstreamEngine

        return UpstreamEngine(settings.upstream, settings.upstream_model, settings.upstream_api_key,
                              tokenizer_path=None, timeout_s=settings.limits.request_timeout_s)
    from medassist.serve.engines.vllm import VllmEngine

    return VllmEngine(settings)
