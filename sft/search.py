"""``medassist sft --search N``: an Optuna study over learning rate, LoRA r/alpha and max_steps.

Each trial is a normal ``medassist sft`` run (``sft/train.py``'s ``train``) with the sampled values
in the recipe (the first trial: the recipe's own values, the baseline the sampled ones must beat); a
``TrainerCallback`` reports the metric at every evaluation and the median pruner
stops the trials that trail the others. The output folder (``output_dir``)::

    study.db            Optuna's SQLite storage: re-running the command resumes the study
    trial-000/ ...      one folder per trial: adapter, training_report.json, manifest.json, runs/
    best-recipe.yaml    the recipe with the best trial's values (`medassist sft --config` trains it as is)
    search.json, search-report.md, search.png   every trial (values, state, duration) and a plot
    manifest.json       the search's own: recipe, search space, versions, data hashes

Trials run in this process, one after another: the pruning callback holds the live Optuna trial,
and a trial on the tiny model costs seconds where a fresh process would spend ~10 s importing
torch/transformers/TRL. Memory is released between trials (Optuna's ``gc_after_trial``; the CUDA
cache too). A process killed outright is covered by the storage: the next run loads the study, the
heartbeat marks the dead trial failed and re-runs its values once, and ``MaxTrialsCallback`` stops
at N finished (complete or pruned) trials in all.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from tqdm.auto import tqdm
from transformers import TrainerCallback

from medassist.config import to_dict
from medassist.errors import MedassistError
from medassist.io import atomic_write_text
from medassist.manifest import write_manifest
from medassist.sft.config import SEARCH_METRICS, SFTRunConfig, validate_search
from medassist.sft.search_report import write_report
from medassist.sft.train import train

log = logging.getLogger(__name__)

STUDY_NAME = "medassist-sft"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class PruningCallback(TrainerCallback):
    """Reports ``metric`` to the Optuna trial at every evaluation and, when the pruner says the
    trial trails the others, stops training there. The run then saves and writes its report and
    manifest like any other (so a pruned trial is kept), and the objective raises ``TrialPruned``."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_at: int | None = None
        self.last: float | None = None  # the latest evaluation's metric: the run's closing one at the end

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # type: ignore[no-untyped-def]
        if not metrics or self.metric not in metrics:
            return
        self.last = float(metrics[self.metric])
        self.trial.report(self.last, state.global_step)
        # the closing evaluation of a finished run is reported, not pruned: the run is already complete
        if state.global_step < state.max_steps and self.trial.should_prune():
            self.pruned_at = state.global_step
            control.should_training_stop = True


def suggest(trial: optuna.Trial, cfg: SFTRunConfig) -> dict[str, Any]:
    """The trial's values for the recipe keys the search space covers."""
    space = cfg.search
    params: dict[str, Any] = {"learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True)}
    if cfg.method == "lora":
        params["lora_r"] = trial.suggest_categorical("lora_r", space.lora_r)
        params["lora_alpha"] = trial.suggest_categorical("lora_alpha", space.lora_alpha)
    if space.max_steps is not None:
        params["max_steps"] = trial.suggest_int("max_steps", *space.max_steps)
    return params


def recipe_values(cfg: SFTRunConfig) -> dict[str, Any] | None:
    """The recipe's own values of the searched keys, when the search space holds them (else None): the
    search runs them first, so its report says whether any sampled trial beat the recipe as given."""
    space = cfg.search
    values: dict[str, Any] = {"learning_rate": cfg.learning_rate}
    inside = space.learning_rate[0] <= cfg.learning_rate <= space.learning_rate[1]
    if cfg.method == "lora":
        values |= {"lora_r": cfg.lora_r, "lora_alpha": cfg.lora_alpha}
        inside = inside and cfg.lora_r in space.lora_r and cfg.lora_alpha in space.lora_alpha
    if space.max_steps is not None:
        values["max_steps"] = cfg.max_steps
        inside = inside and space.max_steps[0] <= cfg.max_steps <= space.max_steps[1]
    return values if inside else None


def trial_config(cfg: SFTRunConfig, params: dict[str, Any], output_dir: Path) -> SFTRunConfig:
    """The recipe with a trial's values, writing to ``output_dir`` (the search's recipe is left as it was)."""
    trial_cfg = copy.deepcopy(cfg)
    for key, value in params.items():
        setattr(trial_cfg, key, value)
    trial_cfg.output_dir = str(output_dir)
    return trial_cfg


def recipe_dict(cfg: SFTRunConfig) -> dict[str, Any]:
    """The recipe as plain YAML/JSON values (a repeated flag's list type is not YAML-safe)."""
    return json.loads(json.dumps(to_dict(cfg)))


def open_study(cfg: SFTRunConfig) -> optuna.Study:
    """The study in ``output_dir/study.db``, created or loaded; a study started with another recipe
    is refused, since its trials would not be comparable (and Optuna cannot change a choice list)."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    space = cfg.search
    with warnings.catch_warnings():  # Optuna marks the heartbeat experimental: a warning per run says nothing to act on
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = RDBStorage(f"sqlite:///{(out / 'study.db').resolve()}", heartbeat_interval=20, grace_period=60,
                             heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    study = optuna.create_study(
        storage=storage, study_name=STUDY_NAME, load_if_exists=True, direction=SEARCH_METRICS[space.metric],
        pruner=optuna.pruners.MedianPruner(n_startup_trials=space.prune_after_trials,
                                           n_warmup_steps=space.prune_warmup_steps),
    )
    # Seeded, yet a resumed run must not draw the values it drew before the kill: the seed moves on
    # by the trials already in the study (a run repeats only when the whole search is repeated).
    seed = (cfg.seed if space.seed is None else space.seed) + len(study.trials)
    study.sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=space.startup_trials)
    recipe = {k: v for k, v in recipe_dict(cfg).items() if k != "output_dir"}
    stored = study.user_attrs.get("recipe")
    if stored is None:
        study.set_user_attr("recipe", recipe)
    elif stored != recipe:
        changed = sorted(k for k in recipe.keys() | stored.keys() if recipe.get(k) != stored.get(k))
        raise MedassistError(f"{out / 'study.db'}: this search was started with other values of "
                             f"{', '.join(changed)}; resume it with the same recipe and flags, or use a new "
                             "--output-dir")
    return study


def objective(cfg: SFTRunConfig) -> Callable[[optuna.Trial], float]:
    """One trial: sample, train in ``trial-NNN``, return the metric of its closing evaluation (as the
    trainer computed it; ``training_report.json`` rounds)."""
    metric = cfg.search.metric
    out = Path(cfg.output_dir)

    def run(trial: optuna.Trial) -> float:
        params = suggest(trial, cfg)
        trial_dir = out / f"trial-{trial.number:03d}"
        trial.set_user_attr("output_dir", trial_dir.name)
        log.info("trial %d: %s -> %s", trial.number, params, trial_dir)
        pruning = PruningCallback(trial, metric)
        try:
            train(trial_config(cfg, params, trial_dir), callbacks=[pruning])
        finally:
            _release_cuda_cache()
        if pruning.pruned_at is not None:
            raise optuna.TrialPruned(f"trial {trial.number}: {metric} trails the median at step {pruning.pruned_at}")
        if pruning.last is None:
            final = json.loads((trial_dir / "training_report.json").read_text())["final_eval"]
            raise MedassistError(f"search.metric: the run reported no {metric} (its closing evaluation: "
                                 f"{', '.join(final) or 'none'}); see {trial_dir / 'training_report.json'}")
        return pruning.last

    return run


def _release_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def write_best_recipe(cfg: SFTRunConfig, study: optuna.Study) -> Path:
    """``best-recipe.yaml``: the search's recipe with the best trial's values, training into ``best/``."""
    out = Path(cfg.output_dir)
    best = study.best_trial
    recipe = recipe_dict(trial_config(cfg, best.params, out / "best"))
    header = (f"# The best of {len(study.trials)} trials of `medassist sft --search` in {out} (study.db): trial "
              f"{best.number}, {cfg.search.metric} {best.value:.4g}.\n# Train it: medassist sft --config "
              f"{out / 'best-recipe.yaml'}\n")
    return atomic_write_text(out / "best-recipe.yaml", header + yaml.safe_dump(recipe, sort_keys=False))


def search(cfg: SFTRunConfig, n_trials: int) -> Path:
    """Run (or resume) the study up to ``n_trials`` finished trials; write the report and the best
    recipe and return the recipe's path."""
    validate_search(cfg, n_trials)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise MedassistError("search: trials run one after another in one process; start it without "
                             "accelerate launch / torchrun")
    # Optuna's messages ("Trial 3 pruned.", the best so far) through medassist's handlers: stderr,
    # MEDASSIST_LOG_FILE, PHI-scrubbed, like the rest of the run's log
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    study = open_study(cfg)
    out = Path(cfg.output_dir)
    baseline = recipe_values(cfg)
    if baseline is None:
        log.info("the recipe's own values lie outside the search space: no baseline trial")
    else:  # runs next unless a trial with these values exists (a resumed study enqueues it once)
        study.enqueue_trial(baseline, user_attrs={"baseline": True}, skip_if_exists=True)
    done = len(study.get_trials(deepcopy=False, states=FINISHED))
    if done:
        log.info("resuming the study in %s: %d of %d trials finished", out / "study.db", done, n_trials)
    if done < n_trials:
        # our own bar (stderr), not Optuna's: that one copies Optuna's log lines to stdout, past the PHI filter
        with tqdm(total=n_trials, initial=done, desc="search", unit="trial") as bar:

            def progress(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
                bar.update(trial.state in FINISHED)
                if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                    bar.set_postfix({f"best {cfg.search.metric}": f"{study.best_value:.4g}"})

            study.optimize(objective(cfg), n_trials=n_trials - done, gc_after_trial=True,
                           callbacks=[MaxTrialsCallback(n_trials, states=FINISHED), progress])
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        write_report(study, cfg, None)
        raise MedassistError(f"search: none of the {len(study.trials)} trials completed (all pruned or failed); "
                             f"see {out / 'search-report.md'}; widen the ranges or raise --search.prune-after-trials")
    recipe = write_best_recipe(cfg, study)
    write_report(study, cfg, recipe)
    write_manifest(out, "sft-search", to_dict(cfg), seed=cfg.seed, data_files=[s.path for s in cfg.data],
                   n_trials=n_trials, best_trial=study.best_trial.number, best_value=study.best_value,
                   best_params=study.best_params)
    log.info("best: trial %d, %s %.4g, %s; recipe %s", study.best_trial.number, cfg.search.metric,
             study.best_value, study.best_params, recipe)
    return recipe
