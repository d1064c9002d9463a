"""Class-balanced sampling (``balance: true`` on a recipe's data entry): equal per-pathology counts,
reproducible under the seed, and what the trainer's dataset actually holds."""

from __future__ import annotations

import csv
import json
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from medassist.data import class_balanced, label_of, load
from medassist.errors import MedassistError

SKEW = {"Pneumonia": 15, "GERD": 6, "Anaphylaxis": 3}  # 24 patients, the majority 62%


@pytest.fixture()
def skewed_csv(samples_dir: Path, tmp_path: Path) -> Path:
    """The bundled sample's first rows of three pathologies, skewed, with its knowledge base beside them."""
    folder = samples_dir / "ddxplus"
    out = tmp_path / "skewed"
    out.mkdir()
    for name in ("release_conditions.json", "release_evidences.json"):
        shutil.copy(folder / name, out / name)
    with (folder / "patients_sample.csv").open(newline="") as src, (out / "patients.csv").open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        taken: Counter[str] = Counter()
        for row in reader:
            if taken[row["PATHOLOGY"]] < SKEW.get(row["PATHOLOGY"], 0):
                taken[row["PATHOLOGY"]] += 1
                writer.writerow(row)
    assert taken == SKEW
    return out / "patients.csv"


def _pathology(patient) -> str:
    return label_of("ddxplus", patient)


def test_balanced_counts_are_equal_and_follow_the_seed(skewed_csv: Path) -> None:
    patients = load("ddxplus", skewed_csv).records
    chosen = class_balanced(patients, _pathology, len(patients), random.Random(7))
    assert Counter(map(_pathology, chosen)) == {"Anaphylaxis": 8, "GERD": 8, "Pneumonia": 8}  # 24 // 3 each
    # a rare pathology's patients are all used, each 2 or 3 times (8 = 3 x 2 + 2 drawn); the majority is subsampled
    anaphylaxis = Counter(p.id for p in chosen if p.pathology == "Anaphylaxis")
    assert len(anaphylaxis) == 3 and sorted(anaphylaxis.values()) == [2, 3, 3]
    assert len({p.id for p in chosen if p.pathology == "Pneumonia"}) == 8
    again = class_balanced(patients, _pathology, len(patients), random.Random(7))
    assert [p.id for p in again] == [p.id for p in chosen]
    other = class_balanced(patients, _pathology, len(patients), random.Random(8))
    assert [p.id for p in other] != [p.id for p in chosen]


def test_the_bundled_sample_balances_to_any_size(samples_dir: Path) -> None:
    patients = load("ddxplus", samples_dir / "ddxplus" / "patients_sample.csv").records
    chosen = class_balanced(patients, _pathology, 43, random.Random(0))
    counts = Counter(map(_pathology, chosen))
    assert len(counts) == 8 and set(counts.values()) == {5}  # 43 // 8; never more than asked for
    # asked for fewer than there are labels: one of each rather than none of some
    assert Counter(map(_pathology, class_balanced(patients, _pathology, 3, random.Random(0)))) == dict.fromkeys(
        counts, 1)


def _mixture(tiny_model_dir: Path, tmp_path: Path, entry: dict, name: str):
    from medassist.config import parse_config
    from medassist.models.hub import load_tokenizer
    from medassist.sft.config import SFTRunConfig, validate
    from medassist.sft.dataset import build_mixture
    from tests.fixtures.sft import RECIPE

    recipe = yaml.safe_load(RECIPE.read_text()) | {"data": [entry]}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(recipe))
    cfg = parse_config(SFTRunConfig, tmp_path / f"{name}.yaml",
                       ["--model-name-or-path", str(tiny_model_dir), "--output-dir", str(tmp_path / name)])
    validate(cfg, has_cuda=False)
    return build_mixture(cfg, load_tokenizer(cfg.model_name_or_path))


def _trained_pathologies(mixture) -> Counter[str]:
    """The pathology each training row teaches: the first condition of its target differential."""
    from medassist.data.answers.differential import parse_differential

    return Counter(parse_differential(row[0]["content"])[0][0] for row in mixture.train["completion"])


def test_a_balanced_recipe_entry_reaches_the_training_dataset(tiny_model_dir: Path, tmp_path: Path,
                                                               skewed_csv: Path) -> None:
    plain = _mixture(tiny_model_dir, tmp_path, {"kind": "ddxplus", "path": str(skewed_csv)}, "plain")
    entry = {"kind": "ddxplus", "path": str(skewed_csv), "balance": True}
    balanced = _mixture(tiny_model_dir, tmp_path, entry, "balanced")

    before = _trained_pathologies(plain)
    after = _trained_pathologies(balanced)
    assert before["Pneumonia"] > 3 * before["Anaphylaxis"]  # the skew, as the unbalanced run trains on it
    per_label = sum(before.values()) // 3
    assert after == dict.fromkeys(SKEW, per_label)  # same budget, every pathology the same share
    stats, plain_stats = balanced.stats["sources"]["ddxplus"], plain.stats["sources"]["ddxplus"]
    assert stats["balance"]["labels_before"] == dict(before.most_common())
    assert stats["balance"]["labels_after"] == dict.fromkeys(SKEW, per_label)
    assert stats["examples"] == 3 * per_label and stats["unique_examples"] < stats["examples"]
    # held out before balancing, decontaminated the same way: only the training side changes
    assert balanced.validation["completion"] == plain.validation["completion"]
    assert stats["removed_as_contaminated"] == plain_stats["removed_as_contaminated"]
    assert "balance" not in plain_stats
    again = _mixture(tiny_model_dir, tmp_path, entry, "again")
    assert again.train["prompt"] == balanced.train["prompt"]  # the seed fixes the resample and the order
    json.dumps(balanced.stats)  # the manifest takes the statistics as they are


def test_balance_is_refused_where_there_is_no_class_to_balance(tiny_model_dir: Path, tmp_path: Path,
                                                                samples_dir: Path) -> None:
    with pytest.raises(MedassistError, match=r"data\[0\]\.balance: only training sources with labels"):
        _mixture(tiny_model_dir, tmp_path, {"kind": "pubmed", "path": str(samples_dir / "pubmed_sample.jsonl"),
                                            "balance": True}, "pubmed")
