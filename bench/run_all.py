"""``make bench`` (``python bench/run_all.py [--quick] [--only NAME ...]``): run every
``bench/bench_*.py`` and collect one dated JSON + Markdown table. ``--compare BEFORE.json AFTER.json``
puts two such runs side by side (a refactoring's before and after: what changed, what vanished).

Each benchmark is a script that writes its own JSON (``--out FILE``); running them as separate
processes keeps one benchmark's memory and threads from skewing the next. The aggregate names
the machine and versions once, and keeps each benchmark's own copy too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from medassist.io import atomic_write_json, atomic_write_text
from medassist.manifest import machine, package_versions

# the benchmarks live beside this script in a checkout (they are not part of the installed package)
BENCH_DIR = Path(__file__).resolve().parent


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, rows)
    elif isinstance(value, float):
        rows.append((prefix, f"{value:.4g}"))
    elif isinstance(value, list) and len(value) > 8:
        rows.append((prefix, f"[{len(value)} values]"))
    else:
        rows.append((prefix, json.dumps(value) if not isinstance(value, str) else value))


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        f"# medassist benchmarks ({results['date']})",
        "",
        f"Machine: {results['machine']['cpus']} CPUs, {results['machine']['ram_gib']} GiB RAM, "
        f"{results['machine']['platform']}; Python {results['machine']['python']}.",
        "",
        "| benchmark | metric | value |",
        "|---|---|---|",
    ]
    for name, entry in results["benchmarks"].items():
        name = f"{name} (quick)" if entry.get("quick") else name
        rows: list[tuple[str, str]] = []
        _flatten("", entry.get("results", {"error": entry.get("error")}), rows)
        lines += [f"| {name} | {metric} | {value} |" for metric, value in rows]
    return "\n".join(lines) + "\n"


def _rows(results: dict[str, Any]) -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    for name, entry in results["benchmarks"].items():
        flat: list[tuple[str, str]] = []
        _flatten("", entry.get("results", {"error": entry.get("error")}), flat)
        flat.append(("seconds", str(entry.get("seconds"))))
        rows.update(((name, metric), value) for metric, value in flat)
    return rows


def compare_table(before: dict[str, Any], after: dict[str, Any], labels: tuple[str, str]) -> str:
    """Every metric of either run, before and after; ``=`` where equal, blank where a run lacks it."""
    old, new = _rows(before), _rows(after)
    lines = [f"| benchmark | metric | {labels[0]} | {labels[1]} | same |", "|---|---|---|---|---|"]
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, ""), new.get(key, "")
        lines.append(f"| {key[0]} | {key[1]} | {a} | {b} | {'=' if a == b else ''} |")
    return "\n".join(lines) + "\n"


def run_all(quick: bool, only: list[str] | None, out_dir: Path) -> Path:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(o in s.stem for o in only)]
    date = time.strftime("%Y-%m-%d")
    results: dict[str, Any] = {
        "date": date, "machine": machine(), "versions": package_versions(), "benchmarks": {},
    }
    previous = out_dir / f"{date}.json"
    if only and previous.is_file():  # a partial re-run updates the day's results instead of replacing them
        results["benchmarks"] = json.loads(previous.read_text())["benchmarks"]
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        print(f"[bench] {name} ...", flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.json"
            cmd = [sys.executable, str(script), "--out", str(out), *(["--quick"] if quick else [])]
            proc = subprocess.run(cmd, cwd=BENCH_DIR.parent)
            entry: dict[str, Any]
            if proc.returncode == 0 and out.is_file():
                entry = json.loads(out.read_text())
            else:
                entry = {"error": f"exit code {proc.returncode}"}
        entry["seconds"] = round(time.perf_counter() - started, 1)
        entry["quick"] = quick
        results["benchmarks"][name] = entry
        print(f"[bench] {name} done in {entry['seconds']}s", flush=True)
        # after every benchmark, so an interrupted `make bench` keeps what it measured
        atomic_write_json(out_dir / f"{date}.json", results)
        atomic_write_text(out_dir / f"{date}.md", markdown_table(results))
    return out_dir / f"{date}.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Each benchmark's short mode (about a minute).")
    parser.add_argument("--only", nargs="*", help="Run only benchmarks whose name contains one of these.")
    parser.add_argument("--out-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                        help="Print a Markdown table of two results files side by side instead of running.")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        print(compare_table(before, after, (args.compare[0].stem, args.compare[1].stem)), end="")
        return
    path = run_all(args.quick, args.only, args.out_dir)
    print(f"[bench] results: {path} and {path.with_suffix('.md')}")
    failed = [n for n, e in json.loads(path.read_text())["benchmarks"].items() if "error" in e]
    if failed:
        sys.exit(f"[bench] failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
