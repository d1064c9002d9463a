"""The gateway's one config object: YAML (``configs/serve-*.yaml``) + ``--key value`` overrides.

API keys also come from ``MEDASSIST_API_KEYS`` (comma-separated) so secrets stay out of files.
Without keys the gateway refuses to bind anywhere but loopback.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Literal

from medassist.config import SECRET, bounds
from medassist.errors import MedassistError
from medassist.hub import context_length
from medassist.serve.protocol import MODEL_GROUNDED, NoticePlacement

EngineName = Literal["local", "vllm", "upstream"]


@dataclass
class Limits:
    """Per-request limits; each rejection is a 400 (429 for concurrency) naming the limit."""

    max_body_bytes: int = field(default=1_000_000, metadata=bounds(1))
    max_messages: int = field(default=64, metadata=bounds(1))
    # None: max_model_len minus one completion token
    max_prompt_tokens: int | None = field(default=None, metadata=bounds(1))
    max_tokens_cap: int = field(default=512, metadata=bounds(1))
    default_max_tokens: int = field(default=256, metadata=bounds(1))
    max_concurrency: int = field(default=16, metadata=bounds(1))  # requests; a request with n choices holds one slot
    max_n: int = field(default=8, metadata=bounds(1))  # choices per request (each is one more generation)
    retry_after_s: int = field(default=1, metadata=bounds(0))
    request_timeout_s: float = field(default=120.0, metadata=bounds(0.001))
    shutdown_grace_s: float = field(default=30.0, metadata=bounds(0))


@dataclass
class ServeConfig:
    model: str = "artifacts/base-tiny"
    adapter: str | None = None
    index: str | None = None
    engine: EngineName = "vllm"
    upstream: str | None = None  # OpenAI-compatible base URL, e.g. http://host:8000/v1
    upstream_model: str | None = None  # model name the upstream serves (default: its first model)
    upstream_api_key: str | None = field(default=None, repr=False, metadata=SECRET)
    host: str = "127.0.0.1"
    port: int = field(default=8000, metadata=bounds(1, 65535))
    api_keys: list[str] = field(default_factory=list, repr=False, metadata=SECRET)
    # /docs and /redoc: off, as FastAPI's pages load their scripts from a CDN (unreachable in an
    # air-gapped network); /openapi.json is always served (behind the key when keys are set)
    docs: bool = False
    # the model names clients ask for: this one is grounded on the index, "<name>-norag" is not
    served_model_name: str = MODEL_GROUNDED
    # where the decision-support notice goes: "inline" ends every answer's text with it (a person
    # reads it), "field" puts it in the response's `notice` field (programs parse the text);
    # a request's `notice` overrides it. The emergency message of a red flag always leads the text.
    notice: NoticePlacement = "inline"
    # browser origins allowed to call the API (CORS), e.g. ["https://intranet.example.org"]; none by default
    cors_origins: list[str] = field(default_factory=list)
    # the context (prompt + answer) in tokens; None: the model's own (config.json), as vLLM does
    # (see resolve_max_model_len); a 7B model's sources need more than a CPU demo's 1024-2048
    max_model_len: int | None = field(default=None, metadata=bounds(16))
    # /v1/diagnose consultations: the DDXPlus knowledge base (release_conditions.json +
    # release_evidences.json) whose codes a consultation uses, and the patients (DDXPlus CSV) that fit
    # the next-question policy's likelihoods (null: the knowledge base's links alone); the defaults
    # are the packaged samples (a checkout's path, or the installed package's copy)
    ddx_kb: str = "data/samples/ddxplus"
    ddx_patients: str | None = "data/samples/ddxplus/patients_sample.csv"
    rag_k: int = field(default=5, metadata=bounds(1))
    rag_mode: str = "hybrid"
    # local engine: requests arriving together are generated as one padded batch; gathering ends
    # after local_batch_wait_ms without a new request, or at local_batch_max_wait_ms
    local_max_batch: int = field(default=16, metadata=bounds(1))
    local_batch_wait_ms: float = field(default=20.0, metadata=bounds(0))
    local_batch_max_wait_ms: float = field(default=100.0, metadata=bounds(0))
    # local engine: JSON answers decoded under their schema (llguidance); false: validate, retry once
    local_grammar: bool = True
    # vllm engine: the subprocess started from its own environment
    vllm_python: str | None = None  # default: .venv-vllm/bin/python beside the repo
    vllm_port: int = field(default=0, metadata=bounds(0, 65535))  # 0: a free loopback port
    vllm_kvcache_gib: int = field(default=1, metadata=bounds(1))
    vllm_startup_timeout_s: float = field(default=600.0, metadata=bounds(1))
    # a vLLM that exits on its own is restarted after 1, 2, 4 ... (at most 30) x vllm_restart_backoff_s;
    # after vllm_max_restarts in a row without a stable run (10 minutes), the gateway exits with code 4
    # so its supervisor (systemd, Kubernetes) takes over
    vllm_max_restarts: int = field(default=5, metadata=bounds(0))
    vllm_restart_backoff_s: float = field(default=1.0, metadata=bounds(0))
    # tool calls on vLLM: "auto" picks the parser from the chat template (engines/vllm.py), "none"
    # turns tool calls off, any other value is vLLM's --tool-call-parser (with auto tool choice)
    vllm_tool_call_parser: str = "auto"
    vllm_extra_args: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        env_keys = os.environ.get("MEDASSIST_API_KEYS", "")
        self.api_keys = [*self.api_keys, *(k.strip() for k in env_keys.split(",") if k.strip())]
        if self.engine == "upstream" and not self.upstream:
            raise MedassistError("engine 'upstream' needs --upstream URL (an OpenAI-compatible base URL)")
        if not self.api_keys and not is_loopback(self.host):
            raise MedassistError(
                f"host {self.host!r} is not loopback and no API key is set: set MEDASSIST_API_KEYS "
                "(or api_keys in the config) before exposing the server"
            )
        if not self.served_model_name.strip() or "/" in self.served_model_name:
            raise MedassistError(f"served_model_name {self.served_model_name!r}: expected a non-empty name "
                                 "without '/'")
        if self.limits.default_max_tokens > self.limits.max_tokens_cap:
            raise MedassistError("limits.default_max_tokens must not exceed limits.max_tokens_cap")

    @property
    def model_names(self) -> tuple[str, str]:
        """(grounded, ungrounded) model names."""
        return self.served_model_name, f"{self.served_model_name}-norag"

    @property
    def max_prompt_tokens(self) -> int:
        return self.limits.max_prompt_tokens or resolve_max_model_len(self) - 1


# an upstream server's context is not known from here: what the gateway assumes unless told
UPSTREAM_DEFAULT_CONTEXT = 4096


def resolve_max_model_len(settings: ServeConfig) -> int:
    """``max_model_len: null`` becomes the served model's own context window (what vLLM would use),
    recorded in the settings so the gateway's limits and vLLM's ``--max-model-len`` agree."""
    if settings.max_model_len is None:
        known = None if settings.engine == "upstream" else context_length(settings.model)
        settings.max_model_len = known or UPSTREAM_DEFAULT_CONTEXT
    return settings.max_model_len


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
