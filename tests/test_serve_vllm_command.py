"""What the gateway asks of vLLM, from the model and adapter it serves (the command is built,
vLLM is not started): the LoRA rank limit from the adapter's own r, the tool parser from the chat
template, the user's HF_HUB_OFFLINE passed on as it is; and `medassist serve --help` lists every
setting an operator can change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medassist.serve.config import ServeConfig
from medassist.serve.engines.vllm import VllmEngine


def engine(tiny_model_dir: Path, **settings) -> VllmEngine:
    return VllmEngine(ServeConfig(model=str(tiny_model_dir), engine="vllm", vllm_python=sys.executable, **settings))


@pytest.mark.parametrize(("r", "flag"), [(16, None), (24, "32"), (64, "64")])
def test_max_lora_rank_follows_the_adapter(tiny_model_dir: Path, tmp_path: Path, r: int, flag: str | None) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": r, "peft_type": "LORA"}))
    cmd = engine(tiny_model_dir, adapter=str(tmp_path)).command()
    if flag is None:
        assert "--max-lora-rank" not in cmd
    else:
        assert cmd[cmd.index("--max-lora-rank") + 1] == flag


def test_tool_parser_and_offline_setting(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = engine(tiny_model_dir).command()
    assert cmd[cmd.index("--tool-call-parser") + 1] == "pythonic"  # the tiny model's template has no tool format
    assert "--tool-call-parser" not in engine(tiny_model_dir, vllm_tool_call_parser="none").command()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert "HF_HUB_OFFLINE" not in engine(tiny_model_dir).environment()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert engine(tiny_model_dir).environment()["HF_HUB_OFFLINE"] == "0"


def test_serve_help_lists_the_settings() -> None:
    out = subprocess.run([sys.executable, "-m", "medassist.cli", "serve", "start", "--help"], capture_output=True,
                         text=True, check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    for line in ("--limits.max_concurrency 16", "--limits.request_timeout_s 120.0", "--api_keys (secret)",
                 "--served_model_name 'medassist'", "--vllm_tool_call_parser 'auto'"):
        assert line in out, line


def test_max_model_len_defaults_to_the_models_own(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A forced 1024 once cut a 7B model's sources; unset, vLLM gets the model's config.json context."""
    import shutil

    model = shutil.copytree(tiny_model_dir, tmp_path / "long-context")
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 4096}))
    settings = ServeConfig(model=str(model), engine="vllm", vllm_python=sys.executable)
    cmd = VllmEngine(settings).command()
    assert cmd[cmd.index("--max-model-len") + 1] == "4096" and settings.max_prompt_tokens == 4095
    cmd = engine(model, max_model_len=2048).command()
    assert cmd[cmd.index("--max-model-len") + 1] == "2048"
