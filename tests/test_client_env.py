"""Clients read MEDASSIST_API_URL / MEDASSIST_API_KEY, else the OpenAI SDK's OPENAI_BASE_URL /
OPENAI_API_KEY; the eval CLI reaches a key-protected gateway with OPENAI_API_KEY alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medassist import client_env
from medassist.data import SAMPLES


@pytest.mark.parametrize(("env", "url", "key"), [
    ({}, "http://127.0.0.1:8000", None),
    ({"OPENAI_BASE_URL": "http://gw:9000/v1/", "OPENAI_API_KEY": "sk-1"}, "http://gw:9000", "sk-1"),
    ({"OPENAI_BASE_URL": "http://gw:9000/v1", "MEDASSIST_API_URL": "http://ours:8000", "OPENAI_API_KEY": "sk-1",
      "MEDASSIST_API_KEY": "ours"}, "http://ours:8000", "ours"),
])
def test_medassist_names_first_then_openais(monkeypatch, env, url, key) -> None:
    for name in ("MEDASSIST_API_URL", "MEDASSIST_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert client_env.api_url("http://127.0.0.1:8000") == url and client_env.api_key() == key


def test_eval_reaches_a_keyed_gateway_with_openai_api_key(live_server, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEDASSIST_API_KEY"} | {"OPENAI_API_KEY": live_server.api_key}
    proc = subprocess.run([sys.executable, "-m", "medassist.cli", "eval", "medqa", "--endpoint", live_server.base_url,
                           "--data", str(SAMPLES / "medqa_sample.jsonl"), "--out", str(tmp_path / "run"), "--limit",
                           "1", "--max-tokens", "4"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "report.json").read_text())["n_items"] == 1
