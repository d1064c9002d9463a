"""Shared plumbing: YAML configs with overrides, crash-safe writes, manifests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from medassist.config import parse_config, to_dict
from medassist.errors import MedassistError
from medassist.io import atomic_directory, atomic_write_json
from medassist.manifest import write_manifest


@dataclass
class LoraSection:
    r: int = 8
    targets: list[str] = field(default_factory=lambda: ["q_proj"])


@dataclass
class Recipe:
    model: str = "artifacts/base-tiny"
    max_steps: int = 10
    learning_rate: float = 1e-3
    packing: bool = False
    output_dir: Path | None = None
    quantization: Literal["4bit", "none"] = "4bit"
    lora: LoraSection = field(default_factory=LoraSection)


def test_yaml_then_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("max_steps: 50\nlora:\n  r: 16\n")
    cfg = parse_config(Recipe, recipe, ["--max-steps", "7", "--packing", "--lora.targets=q_proj,v_proj",
                                        "--output-dir", "out"])
    assert cfg.max_steps == 7 and cfg.packing is True
    assert cfg.lora == LoraSection(r=16, targets=["q_proj", "v_proj"])
    assert cfg.output_dir == Path("out")
    assert to_dict(cfg)["output_dir"] == "out"


def test_unknown_yaml_key_names_file_and_valid_keys(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("max_step: 5\n")
    with pytest.raises(MedassistError, match=r"bad.yaml: unknown config key\(s\) max_step; valid keys: .*max_steps"):
        parse_config(Recipe, recipe)


def test_unknown_override_and_bad_type():
    with pytest.raises(MedassistError, match="unknown config key"):
        parse_config(Recipe, None, ["--learning-rat", "1"])
    with pytest.raises(MedassistError, match=r"max_steps: cannot read 'many' as int"):
        parse_config(Recipe, None, ["--max-steps", "many"])


def test_none_is_a_choice_or_a_missing_value_by_field_type():
    """``--quantization none`` once became None (and then 4-bit); "none" is only null where None is allowed."""
    assert parse_config(Recipe, None, ["--quantization", "none"]).quantization == "none"
    assert parse_config(Recipe, None, ["--output-dir", "null"]).output_dir is None
    with pytest.raises(MedassistError, match=r"max_steps: cannot read 'none' as int"):
        parse_config(Recipe, None, ["--max-steps", "none"])


def test_missing_config_file(tmp_path):
    with pytest.raises(MedassistError, match="config file not found"):
        parse_config(Recipe, tmp_path / "nope.yaml")


def test_atomic_directory_keeps_old_on_failure(tmp_path):
    target = tmp_path / "index"
    with atomic_directory(target) as tmp:
        (tmp / "v").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "v").write_text("2")
        raise RuntimeError("killed halfway")
    assert (target / "v").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["index"], "no temp leftovers"


def test_manifest_hashes_data(tmp_path):
    data = tmp_path / "d.jsonl"
    atomic_write_json(data, {"a": 1})
    path = write_manifest(tmp_path / "run", "test", {"k": 1}, seed=3, data_files=[data])
    manifest = json.loads(path.read_text())
    assert manifest["seed"] == 3 and manifest["config"] == {"k": 1}
    assert len(manifest["data_sha256"][str(data)]) == 64
    assert manifest["versions"]["torch"].startswith("2.")
