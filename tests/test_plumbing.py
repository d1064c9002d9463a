"""Shared plumbing: YAML configs with overrides, crash-safe writes, manifests."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_list_flags_keep_json_and_repeat():
    """``--vllm-extra-args={"a":1,"b":2}`` once became two broken arguments: commas split only outside
    brackets and quotes; a flag given twice is a list; a JSON list is read whole."""
    flag = '--override-generation-config={"temperature":0.6,"top_p":0.9}'
    assert parse_config(Recipe, None, [f"--lora.targets={flag}"]).lora.targets == [flag]
    assert parse_config(Recipe, None, ["--lora.targets", "q_proj", "--lora.targets", "v_proj"]).lora.targets == [
        "q_proj", "v_proj"]
    assert parse_config(Recipe, None, ['--lora.targets=["a,b", "c"]']).lora.targets == ["a,b", "c"]


def test_missing_config_file(tmp_path):
    with pytest.raises(MedassistError, match="config file not found"):
        parse_config(Recipe, tmp_path / "nope.yaml")


def _artefact(tmp: Path, version: str) -> None:
    (tmp / "v").write_text(version)
    write_manifest(tmp, "test", {"version": version})


def test_atomic_directory_keeps_old_on_failure(tmp_path):
    target = tmp_path / "index"
    with atomic_directory(target) as tmp:
        _artefact(tmp, "1")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "v").write_text("2")
        raise RuntimeError("killed halfway")
    assert (target / "v").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["index"], "no temp leftovers"


def test_atomic_directory_refuses_what_medassist_did_not_write(tmp_path):
    """``--out ~`` by mistake must not delete the home folder: only an artefact (its manifest.json),
    an empty folder or a missing path is replaced, unless forced."""
    target = tmp_path / "notes"
    target.mkdir()
    (target / "thesis.txt").write_text("years of work")
    (tmp_path / "file").write_text("a file")
    for path in (target, tmp_path / "file"):
        with pytest.raises(MedassistError, match=f"{path} exists and is .*refusing to replace it.*--force"), \
                atomic_directory(path) as tmp:
            _artefact(tmp, "new")
    assert (target / "thesis.txt").read_text() == "years of work" and (tmp_path / "file").read_text() == "a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "notes"], "nothing built, nothing moved"

    (tmp_path / "empty").mkdir()
    with atomic_directory(tmp_path / "empty") as tmp:
        _artefact(tmp, "1")
    with atomic_directory(target, force=True) as tmp:
        _artefact(tmp, "forced")
    assert (target / "v").read_text() == "forced" and not (target / "thesis.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "notes"]


def test_cli_output_folder_needs_force_to_replace_other_files(tmp_path, capsys):
    from medassist.cli import main
    from medassist.data import SAMPLES

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    build = ["data", "build", str(SAMPLES / "medqa_sample.jsonl"), "--source", "medqa", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        main(build)
    assert exit_info.value.code == 2 and "refusing to replace it" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    main([*build, "--force"])
    assert (out / "train.jsonl").is_file() and not (out / "keep.txt").exists()
    main(build)  # now a medassist artefact: replaced without --force
    assert json.loads((out / "manifest.json").read_text())["kind"] == "data-build"


READER = """
import os, sys, time
path, stop = sys.argv[1], time.monotonic() + float(sys.argv[2])
checks = misses = 0
print("ready", flush=True)
while time.monotonic() < stop:
    checks += 1
    misses += not os.path.isfile(os.path.join(path, "manifest.json"))
print(checks, misses, flush=True)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the one-step swap is Linux's renameat2(RENAME_EXCHANGE)")
def test_atomic_directory_replaces_an_artefact_without_a_gap(tmp_path):
    """A reader in another process (a gateway loading the index, a second run) never finds the folder
    missing while it is replaced, and the old copy is gone afterwards."""
    target = tmp_path / "index"
    with atomic_directory(target) as tmp:
        _artefact(tmp, "0")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(target), "4"], stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    replaced = 0
    while reader.poll() is None and replaced < 300:
        with atomic_directory(target) as tmp:
            _artefact(tmp, str(replaced + 1))
        replaced += 1
    checks, misses = map(int, reader.communicate(timeout=30)[0].split())
    assert replaced > 10 and checks > 1000
    assert misses == 0, f"{misses} of {checks} reads found no {target}/manifest.json"
    assert (target / "v").read_text() == str(replaced)
    assert [p.name for p in tmp_path.iterdir()] == ["index"], "old copies removed"


def test_manifest_hashes_data(tmp_path):
    data = tmp_path / "d.jsonl"
    atomic_write_json(data, {"a": 1})
    path = write_manifest(tmp_path / "run", "test", {"k": 1}, seed=3, data_files=[data])
    manifest = json.loads(path.read_text())
    assert manifest["seed"] == 3 and manifest["config"] == {"k": 1}
    assert len(manifest["data_sha256"][str(data)]) == 64
    assert manifest["versions"]["torch"].startswith("2.")
