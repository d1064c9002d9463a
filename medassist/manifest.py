"""Run manifests: what produced an output (config, versions, seed, data hashes).

Every command that writes artefacts calls ``write_manifest`` next to them, so a result
can be traced to its exact inputs and re-run.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from medassist.io import atomic_write_json, sha256_file

TRACKED_PACKAGES = (
    "medassist", "torch", "transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes",
    "sentence-transformers", "faiss-cpu", "langchain-core", "fastapi", "openai", "ragas", "streamlit",
)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine() -> dict[str, Any]:
    mem_gib = None
    try:
        with open("/proc/meminfo") as handle:
            mem_gib = round(int(handle.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "ram_gib": mem_gib, "platform": platform.platform(),
            "python": platform.python_version()}


def build_manifest(kind: str, config: dict[str, Any], *, seed: int | None = None,
                   data_files: list[str | Path] | None = None, **extra: Any) -> dict[str, Any]:
    hashes = {str(p): sha256_file(p) for p in (data_files or []) if Path(p).is_file()}
    return {
        "kind": kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": config,
        "seed": seed,
        "data_sha256": hashes,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "machine": machine(),
        **extra,
    }


def write_manifest(out_dir: str | Path, kind: str, config: dict[str, Any], **kwargs: Any) -> Path:
    return atomic_write_json(Path(out_dir) / "manifest.json", build_manifest(kind, config, **kwargs))
