"""Serve settings: shipped configs parse, unsafe binds are refused, keys come from the environment."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["serve-vllm.yaml", "serve-local.yaml"])
def test_shipped_configs_parse(name: str) -> None:
    from pathlib import Path

    from medassist.config import parse_config
    from medassist.serve.config import ServeConfig

    settings = parse_config(ServeConfig, Path(__file__).resolve().parents[1] / "configs" / name)
    assert settings.host == "127.0.0.1" and settings.limits.max_concurrency == 16


def test_settings_refuse_public_bind_without_keys(monkeypatch) -> None:
    from medassist.errors import MedassistError
    from medassist.serve.config import ServeConfig

    monkeypatch.delenv("MEDASSIST_API_KEYS", raising=False)
    with pytest.raises(MedassistError, match="MEDASSIST_API_KEYS"):
        ServeConfig(host="0.0.0.0")
    monkeypatch.setenv("MEDASSIST_API_KEYS", "a, b")
    assert ServeConfig(host="0.0.0.0").api_keys == ["a", "b"]
    with pytest.raises(MedassistError, match="--upstream"):
        ServeConfig(engine="upstream")


@pytest.mark.parametrize(("override", "message"), [
    (["--port", "70000"], r"port: 70000 is out of range; expected a number in \[1, 65535\]"),
    (["--limits.max-concurrency", "0"], r"limits.max_concurrency: 0 is out of range; expected a number >= 1"),
    (["--limits.request-timeout-s", "-1"], r"limits.request_timeout_s: -1.0 is out of range"),
])
def test_out_of_range_settings_are_refused(override: list[str], message: str) -> None:
    from medassist.config import parse_config
    from medassist.errors import MedassistError
    from medassist.serve.config import ServeConfig

    with pytest.raises(MedassistError, match=message):
        parse_config(ServeConfig, None, override)
