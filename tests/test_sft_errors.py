"""Recipes that cannot work fail before training, with one ``error:`` line saying what to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from medassist.cli import main
from tests.fixtures.sft import RECIPE, sft_cli_error


def test_unknown_key(capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--max-stepz", "5")
    assert "max_stepz" in err and "max_steps" in err


def test_unknown_key_in_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(RECIPE.read_text() + "\nlora_rank: 8\n")
    with pytest.raises(SystemExit):
        main(["sft", "--config", str(recipe)])
    err = capsys.readouterr().err
    assert str(recipe) in err and "lora_rank" in err


def test_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--model-name-or-path", str(tmp_path / "no-model"), "--output-dir", str(tmp_path / "o"))
    assert "no-model" in err and "medassist model init" in err


def test_missing_dataset(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {tiny_model_dir}\ndata:\n  - {{kind: medqa, path: {tmp_path}/missing.jsonl}}\n")
    with pytest.raises(SystemExit):
        main(["sft", "--config", str(recipe)])
    err = capsys.readouterr().err
    assert "data[0].path" in err and "missing.jsonl" in err


def test_gpu_only_options_on_cpu(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the CPU refusal; this machine has a GPU")
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir),
                        "--attn-implementation", "flash_attention_2")
    assert "flash_attention_2" in err and "needs a CUDA GPU" in err


def test_bf16_follows_the_cpu(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bf16 is refused only on a CPU that would emulate it; auto picks what this machine computes natively."""
    import torch

    from medassist.models.hub import native_bf16
    from medassist.sft.config import SFTRunConfig, resolve_bf16

    if torch.cuda.is_available():
        pytest.skip("checks the CPU rule; this machine has a GPU")
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert native_bf16(cuda=False) is native
    assert resolve_bf16(SFTRunConfig(bf16=None), has_cuda=False) is native
    assert resolve_bf16(SFTRunConfig(bf16=False), has_cuda=False) is False
    if native:
        pytest.skip("this CPU has AVX512-BF16/AMX, so bf16: true is allowed here (trained in test_sft_train)")
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir), "--bf16", "true")
    assert "bf16: true" in err and "neither AVX512-BF16 nor AMX" in err


def test_bad_value_type(capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--load-in-4bit", "maybe")
    assert "load_in_4bit" in err and "cannot read 'maybe' as bool" in err
    err = sft_cli_error(capsys, "--quantization", "3bit")
    assert "quantization" in err and "4bit" in err


def test_old_key_names_still_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Recipes written before the keys took TRL/PEFT's names keep working for one release, with a warning."""
    from medassist.config import parse_config
    from medassist.sft.config import SFTRunConfig

    recipe = tmp_path / "old.yaml"
    recipe.write_text("model: some/model\nquantization: none\nlora:\n  r: 8\n  target_modules: [q_proj]\n")
    with caplog.at_level("WARNING", logger="medassist.config"):
        cfg = parse_config(SFTRunConfig, recipe, ["--lora.alpha", "4"])
    assert (cfg.model_name_or_path, cfg.load_in_4bit, cfg.lora_r, cfg.lora_alpha, cfg.lora_target_modules) == (
        "some/model", False, 8, 4, ["q_proj"])
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 5  # one per old key, once (not again for the YAML-only check)
    assert any(f"{recipe}: model is deprecated, use model_name_or_path" in w for w in warnings)
    assert any("command line: lora.alpha is deprecated, use lora_alpha" in w for w in warnings)


def test_merge_needs_an_adapter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["sft", "merge", "--adapter", str(tmp_path), "--out", str(tmp_path / "merged")])
    assert exit_info.value.code == 2
    assert "adapter_config.json" in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()


def test_resume_without_checkpoint(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir), "--output-dir", str(tmp_path / "fresh"),
                 "--resume-from-checkpoint", "last")
    assert "checkpoint" in err and "fresh" in err


def test_full_finetuning_of_4bit_weights(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir), "--method", "full")
    assert "method: full" in err and "--load-in-4bit false" in err
