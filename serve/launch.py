"""Start ``medassist serve`` as a subprocess and wait until it answers (tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def run_gateway(args: list[str], log_path: Path, api_key: str | None = None,
                ready_timeout_s: float = 180.0) -> Iterator[LiveServer]:
    """``medassist serve ARGS --port P``; ready when /health answers; SIGTERM (graceful) at exit."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false"}
    env.pop("MEDASSIST_API_KEYS", None)
    if api_key:
        env["MEDASSIST_API_KEYS"] = api_key
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "medassist.cli", "serve", *args, "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway not ready in {ready_timeout_s}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield LiveServer(url, api_key or "", log_path, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
