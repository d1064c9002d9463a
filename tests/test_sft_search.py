"""``medassist sft --search N`` on the tiny model: a real Optuna study in a real SQLite file, each
trial a real (few-step) QLoRA run; resuming, the report, the best recipe retraining, pruning."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from medassist.cli import main
from tests.fixtures.sft import QUICK, RECIPE, quick_config

# Trials of one or two steps, evaluated at every step (what the pruner compares), with plain LoRA
# (QLoRA's CPU kernels cost ~3x more a step; tests/test_sft_train.py covers them) and no generation
# probes (the metric is the eval loss): the three trials and the retraining take ~40 s of CPU.
LEAN = ["--load-in-4bit", "false", "--per-device-train-batch-size", "2", "--max-length", "128", "--eval-steps", "1",
        "--save-steps", "10", "--generation-eval-items", "0", "--report-to", "none"]
SPACE = ["--search.learning-rate", "5e-4,5e-3", "--search.lora-r", "4,8", "--search.lora-alpha", "8,16",
         "--search.max-steps", "1,2", *LEAN]


def _sft(*args: str) -> None:
    main(["sft", "--config", str(RECIPE), *QUICK, *args])


def test_search_resumes_reports_and_its_best_recipe_trains(tiny_model_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import optuna
    import yaml

    out = tmp_path / "search"
    common = ["--model-name-or-path", str(tiny_model_dir), "--output-dir", str(out), *SPACE]
    _sft("--search", "2", *common)
    first_manifest = (out / "trial-000" / "manifest.json").stat().st_mtime_ns
    _sft("--search", "3", *common)  # resumes the study: one more trial, the first two kept as they were
    assert (out / "trial-000" / "manifest.json").stat().st_mtime_ns == first_manifest

    with sqlite3.connect(out / "study.db") as db:
        states = [s for (s,) in db.execute("SELECT state FROM trials ORDER BY number")]
    assert len(states) == 3 and set(states) <= {"COMPLETE", "PRUNED"}
    study = optuna.load_study(study_name="medassist-sft", storage=f"sqlite:///{out / 'study.db'}")
    for trial in study.trials:
        manifest = json.loads((out / f"trial-{trial.number:03d}" / "manifest.json").read_text())
        assert manifest["kind"] == "sft"
        assert {k: manifest["config"][k] for k in trial.params} == trial.params  # the run trained what was sampled
        assert manifest["config"]["lora_r"] in (4, 8) and 1 <= manifest["config"]["max_steps"] <= 2
        assert trial.intermediate_values  # the pruning callback reported the eval loss

    report = json.loads((out / "search.json").read_text())
    assert [t["number"] for t in report["trials"]] == [0, 1, 2] and report["metric"] == "eval_loss"
    assert report["best"]["number"] == study.best_trial.number and report["best"]["value"] == study.best_value
    assert all(t["duration_s"] > 0 for t in report["trials"])
    table = (out / "search-report.md").read_text()
    assert "| trial | state | learning_rate | lora_r | lora_alpha | max_steps | eval_loss |" in table
    assert all(f"| {n} | {t.state.name.lower()} |" in table for n, t in enumerate(study.trials))
    assert (out / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "manifest.json").read_text())["kind"] == "sft-search"

    best_recipe = out / "best-recipe.yaml"
    recipe = yaml.safe_load(best_recipe.read_text())
    assert {k: recipe[k] for k in study.best_params} == study.best_params
    assert recipe["output_dir"] == str(out / "best")
    capsys.readouterr()
    main(["sft", "--config", str(best_recipe), "--max-steps", "1"])
    assert (out / "best" / "adapter_model.safetensors").is_file()
    trained = json.loads((out / "best" / "manifest.json").read_text())["config"]
    assert trained["learning_rate"] == study.best_params["learning_rate"] and trained["max_steps"] == 1

    # resuming with another search space would mix incomparable trials: refused, naming the key
    with pytest.raises(SystemExit):
        _sft("--search", "4", *common, "--search.prune-after-trials", "5")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "study.db" in err and "search" in err


def test_the_recipes_own_values_are_the_first_trial(tiny_model_dir: Path, tmp_path: Path) -> None:
    """When the space holds the recipe's values, trial 0 trains them (the baseline the sampled trials must
    beat, marked in the report); a resumed study does not run them again. SmolLM2's first search
    (2026-12-06) sampled four trials that all trailed the recipe: without this it could not have said so."""
    import optuna

    out = tmp_path / "search"
    recipe = {"learning_rate": 2e-3, "lora_r": 8, "lora_alpha": 16, "max_steps": 2}
    common = ["--model-name-or-path", str(tiny_model_dir), "--output-dir", str(out), *LEAN,
              "--learning-rate", "2e-3", "--lora-r", "8", "--lora-alpha", "16", "--max-steps", "2",
              "--search.learning-rate", "5e-4,5e-3", "--search.lora-r", "4,8", "--search.lora-alpha", "8,16",
              "--search.max-steps", "1,2"]
    _sft("--search", "1", *common)
    _sft("--search", "2", *common)  # resumed: one sampled trial, the baseline not queued again
    study = optuna.load_study(study_name="medassist-sft", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.user_attrs.get("baseline", False) for t in study.trials] == [True, False]
    assert study.trials[0].params == recipe and study.trials[1].params != recipe
    trained = json.loads((out / "trial-000" / "manifest.json").read_text())["config"]
    assert {k: trained[k] for k in recipe} == recipe
    table = (out / "search-report.md").read_text()
    assert "| 0 | complete (the recipe's values) |" in table and "| 1 | complete |" in table


def test_a_trial_behind_the_median_is_pruned_and_kept(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A real training run reports its eval loss at step 1; a finished trial with loss 0 at every step
    makes the median pruner stop it there. Its folder keeps the adapter and the manifest."""
    import optuna
    from optuna.trial import TrialState

    from medassist.sft.search import objective, open_study

    out = tmp_path / "search"
    cfg = quick_config(tiny_model_dir, out, *LEAN, "--search.prune-after-trials", "1", "--search.lora-r", "4",
                       "--search.lora-alpha", "8", "--search.max-steps", "null")
    study = open_study(cfg)
    study.add_trial(optuna.trial.create_trial(value=0.0, intermediate_values={1: 0.0, 2: 0.0, 3: 0.0}))
    study.optimize(objective(cfg), n_trials=1)

    trial = study.trials[1]
    assert trial.state == TrialState.PRUNED and trial.last_step == 1
    assert trial.value == trial.intermediate_values[1] > 0  # Optuna keeps the last reported loss
    report = json.loads((out / "trial-001" / "training_report.json").read_text())
    assert report["global_steps"] == 1 and report["max_steps"] == 3  # stopped at the first evaluation
    assert (out / "trial-001" / "adapter_model.safetensors").is_file()
    assert json.loads((out / "trial-001" / "manifest.json").read_text())["global_steps"] == 1


def test_pruning_callback_stops_training_only_before_the_last_step(tmp_path: Path) -> None:
    import optuna
    from transformers import TrainerControl, TrainerState

    from medassist.sft.search import PruningCallback

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.add_trial(optuna.trial.create_trial(value=1.0, intermediate_values={5: 1.0, 10: 1.0}))
    trial = study.ask()
    callback = PruningCallback(trial, "eval_loss")
    state, control = TrainerState(global_step=5, max_steps=10), TrainerControl()
    callback.on_evaluate(None, state, control, metrics={"eval_loss": 0.5})  # ahead of the median: goes on
    assert not control.should_training_stop and callback.pruned_at is None
    state.global_step = 10
    callback.on_evaluate(None, state, control, metrics={"eval_loss": 9.0})  # the closing evaluation: reported
    assert not control.should_training_stop and study.trials[1].intermediate_values == {5: 0.5, 10: 9.0}

    late = PruningCallback(study.ask(), "eval_loss")
    late.on_evaluate(None, TrainerState(global_step=5, max_steps=10), control, metrics={"eval_loss": 9.0})
    assert control.should_training_stop and late.pruned_at == 5


@pytest.mark.parametrize(("args", "key"), [
    (["--search", "0"], "search:"),
    (["--search", "2", "--search.learning-rate", "1e-2,1e-4"], "search.learning_rate"),
    (["--search", "2", "--search.learning-rate", "1e-3"], "search.learning_rate"),
    (["--search", "2", "--search.lora-r="], "search.lora_r"),
    (["--search", "2", "--search.max-steps", "30,10"], "search.max_steps"),
    (["--search", "2", "--search.metric", "accuracy"], "search.metric"),
])
def test_bad_search_settings_fail_in_one_line(tiny_model_dir: Path, tmp_path: Path, args: list[str], key: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _sft("--model-name-or-path", str(tiny_model_dir), "--output-dir", str(tmp_path / "o"), *args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and key in err and "\n" not in err
    assert not (tmp_path / "o").exists()  # refused before anything was written
