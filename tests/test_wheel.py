"""The package works when installed as a wheel, not only from a source checkout: a wheel built
from this tree, installed (without dependencies: they come from the test's own environment)
into a fresh venv, runs from an unrelated directory with its recipes, configs, guide and
sample data read from the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel; the suite's site-packages is added after it by a .pth file,
    for the dependencies (its editable medassist is not: a .pth line adds a path, not its hooks)."""
    root = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info beside the sources
    source = shutil.copytree(REPO, root / "source", ignore=shutil.ignore_patterns(
        ".git", ".venv*", "artifacts", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(root / "dist"), str(source)], check=True, capture_output=True, text=True)
    wheel = next((root / "dist").glob("medassist-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "suite-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
                   check=True, capture_output=True, text=True)
    return venv


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | {"COLUMNS": "400"}
    return subprocess.run([str(venv / "bin" / "python"), "-m", "medassist.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_installed_package_is_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run([str(installed / "bin" / "python"), "-c",
                          "import medassist, medassist.serve.engines.vllm as v, medassist.resources as r;"
                          "print(medassist.__file__); print(r.CONFIGS); print(v.__file__)"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(installed) in line for line in out), out
    assert run(installed, tmp_path, "--version").stdout.strip() == "medassist 0.1.0"


def test_commands_run_from_another_directory(installed: Path, tmp_path: Path) -> None:
    help_text = run(installed, tmp_path, "sft", "train", "--help")
    assert help_text.returncode == 0, help_text.stderr
    assert f"{installed}/lib" in help_text.stdout and "configs/sft-smollm2-cpu.yaml" in help_text.stdout  # the default
    model = run(installed, tmp_path, "model", "init", "--preset", "test", "--out", "base-test")
    assert model.returncode == 0, model.stderr[-2000:]
    assert (tmp_path / "base-test" / "config.json").is_file()
    # a recipe's bundled paths (data/samples/..., configs/...) resolve into the package
    checked = run(installed, tmp_path, "data", "validate", "data/samples/medqa_sample.jsonl", "--format", "medqa")
    assert checked.returncode == 0, checked.stderr[-2000:]
    guide = run(installed, tmp_path, "guide")
    assert guide.returncode == 0 and guide.stdout.startswith("# Building a diagnostic assistant")


def test_the_scrubbers_lexicons_come_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """data/lexicons/*.txt are package data: the rules find a name and a town only the lexicons know."""
    out = subprocess.run([str(installed / "bin" / "python"), "-c",
                          "import medassist.data.phi_names as n; from medassist.data.phi import scrub;"
                          "print(n.__file__); print(scrub('Chukwuemeka rang, LAM Siu Ming too', 'rules'));"
                          "print(scrub('registered with a GP in Fakenham; 他们在石家庄', 'rules'))"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert str(installed) in out[0], out
    assert out[1] == "[NAME] rang, [NAME] too"
    assert out[2] == "registered with a GP in [ADDRESS]; 他们在[ADDRESS]"
