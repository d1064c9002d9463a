"""What every ``bench/bench_*.py`` shares: its arguments (``--out FILE.json``, ``--quick``, as
``run_all.py`` calls it) and its JSON (results beside the machine and the versions).

The scripts run from a checkout (``python bench/bench_x.py``, which puts this folder on
``sys.path``), so they import it as ``harness``; nothing here is installed with the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from medassist.cli import unwind_on_sigterm
from medassist.io import atomic_write_json
from medassist.manifest import machine, package_versions


def bench_parser(doc: str, quick_help: str) -> argparse.ArgumentParser:
    """The arguments every benchmark script takes (``--out FILE.json``, ``--quick``, as ``run_all``
    calls it); a script adds its own. Scripts call it first, so here SIGTERM is made to unwind
    like Ctrl-C: a killed benchmark stops the gateway and vLLM it started instead of orphaning them."""
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Where the benchmark's JSON goes.")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def results_document(name: str, results: dict[str, Any], quick: bool) -> dict[str, Any]:
    """A benchmark's JSON: its results beside the machine and the versions that produced them."""
    return {"benchmark": name, "quick": quick, "results": results, "machine": machine(),
            "versions": package_versions()}


def write_results(out: Path, name: str, results: dict[str, Any], quick: bool) -> None:
    """The benchmark's JSON written to ``out`` (atomically) and its results printed."""
    atomic_write_json(out, results_document(name, results, quick))
    print(json.dumps(results, indent=2, default=str))
