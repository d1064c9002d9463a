"""Every TRL ``SFTConfig`` option is a recipe key: it reaches the real trainer, bad values fail first,
and ``medassist sft --help`` lists them with TRL's help text."""

from __future__ import annotations

from pathlib import Path

import pytest

from medassist.cli import main
from tests.fixtures.sft import RECIPE, sft_cli_error


def test_recipe_trl_options_reach_the_trainer(tiny_model_dir: Path, tmp_path: Path) -> None:
    from medassist.config import parse_config
    from medassist.models.hub import load_tokenizer
    from medassist.sft.config import SFTRunConfig
    from medassist.sft.dataset import build_mixture
    from medassist.sft.train import make_trainer

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.read_text() + "\nneftune_noise_alpha: 5\noptim: adafactor\n")
    cfg = parse_config(SFTRunConfig, recipe, [
        "--model-name-or-path", str(tiny_model_dir), "--output-dir", str(tmp_path / "out"),
        "--max-grad-norm", "0.25", "--lr-scheduler-kwargs", '{"num_cycles": 2}'])
    assert cfg.trl == {"neftune_noise_alpha": 5, "optim": "adafactor", "max_grad_norm": "0.25",
                       "lr_scheduler_kwargs": '{"num_cycles": 2}'}
    tokenizer = load_tokenizer(cfg.model_name_or_path)
    trainer, _ = make_trainer(cfg, build_mixture(cfg, tokenizer), tokenizer)
    args = trainer.args
    assert args.neftune_noise_alpha == 5.0 and args.optim == "adafactor"
    assert args.max_grad_norm == 0.25 and args.lr_scheduler_kwargs == {"num_cycles": 2}
    assert args.learning_rate == cfg.learning_rate  # medassist's own keys still set theirs
    assert type(trainer.optimizer or trainer.create_optimizer()).__name__ == "Adafactor"


def test_a_bad_trl_value_fails_before_training(tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir), "--optim", "adamw_typo")
    assert "--optim" in err and "invalid choice: 'adamw_typo'" in err and "adafactor" in err
    err = sft_cli_error(capsys, "--model-name-or-path", str(tiny_model_dir), "--neftune-noise-alpha", "loud")
    assert "neftune_noise_alpha" in err and "invalid float value: 'loud'" in err


def test_options_medassist_derives_are_not_trl_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """``use_cpu``/``completion_only_loss`` follow from the machine and the data: setting them would contradict it."""
    err = sft_cli_error(capsys, "--use-cpu", "false")
    assert "unknown config key(s) use_cpu" in err and "any option of TRL's SFTConfig" in err


def test_help_lists_trl_options(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["sft", "--help"], ["sft", "train", "--help"]):
        main(command)  # returns: --help is no error
        out = " ".join(capsys.readouterr().out.split())
        assert "--max_steps -1" in out and "--lora_r 16" in out  # medassist's own keys
        assert "--neftune-noise-alpha (None): If not None, activates NEFTune noise embeddings" in out
        assert "--optim ('adamw_torch_fused'): The optimizer to use" in out
        assert "grounded: False, partial: 0, balance: False}; balance: true resamples the source" in out  # entry keys
        assert "partial: N adds N partial-evidence variants" in out
