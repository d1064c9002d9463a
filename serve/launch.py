"""Start a server as a subprocess and wait until it answers: ``medassist serve`` for tests, benchmarks
and the demo (``run_gateway``), and any other server a test needs (``running``: the Streamlit page)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from medassist.ports import free_port


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str
    log_path: Path
    process: subprocess.Popen

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


def _answers_200(reply: httpx.Response) -> bool:
    return reply.status_code == 200


@contextlib.contextmanager
def running(cmd: list[str], health_url: str, log_path: Path, *, name: str, env: dict[str, str] | None = None,
            ready_timeout_s: float = 180.0, healthy: Callable[[httpx.Response], bool] = _answers_200,
            own_group: bool = False) -> Iterator[subprocess.Popen]:
    """``cmd`` in a subprocess writing to ``log_path``, yielded once ``health_url`` answers as ``healthy``
    says (RuntimeError with the log's tail if it exits first or takes longer than ``ready_timeout_s``).
    At exit SIGTERM, graceful, to it (to its whole process group with ``own_group``), SIGKILL after 60 s."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=own_group)

    def signal_it(sig: int) -> None:
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if healthy(httpx.get(health_url, timeout=2)):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready in {ready_timeout_s}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        if proc.poll() is None:
            signal_it(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                signal_it(signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def run_gateway(args: list[str], log_path: Path, api_key: str | None = None,
                ready_timeout_s: float = 180.0) -> Iterator[LiveServer]:
    """``medassist serve ARGS --port P``; ready when /health answers; SIGTERM (graceful) at exit."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false"}
    env.pop("MEDASSIST_API_KEYS", None)
    if api_key:
        env["MEDASSIST_API_KEYS"] = api_key
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "medassist.cli", "serve", *args, "--port", str(port)]
    with running(cmd, f"{url}/health", log_path, name="gateway", env=env, ready_timeout_s=ready_timeout_s) as proc:
        yield LiveServer(url, api_key or "", log_path, proc)
