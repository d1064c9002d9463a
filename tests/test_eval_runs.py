"""Every suite end to end on the tiny model through the real gateway (``live_server``), re-scoring,
comparison, crash-resume, the in-process path, and runs on the real files in ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from medassist.cli import main
from medassist.data import SAMPLES
from medassist.errors import MedassistError
from medassist.eval.backends import EndpointBackend
from medassist.eval.config import EvalConfig
from medassist.eval.predictions import read_predictions
from medassist.eval.runner import run_suite
from medassist.eval.suites import RunSpec

SAMPLE_DATA = {
    "medqa": SAMPLES / "medqa_sample.jsonl",
    "pubmedqa": SAMPLES / "pubmedqa_sample.json",
    "ddx": SAMPLES / "ddxplus" / "patients_sample.csv",
    "faithfulness": SAMPLES / "pubmedqa_sample.json",
}
FAST = ["--max-tokens", "24"]


def run_cli(suite: str, server, data: Path, out: Path, *extra: str, model: str = "medassist-norag") -> dict:
    main([
        "eval", suite, "--endpoint", server.base_url, "--api-key", server.api_key, "--model-name", model,
        "--data", str(data), "--out", str(out), *extra, *FAST,
    ])
    return json.loads((out / "report.json").read_text())


def chat_requests(server) -> float:
    """How many chat completions the gateway has answered, from its Prometheus counter."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {server.api_key}"}).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "medassist_requests_total" and s.labels.get("route") == "/v1/chat/completions")


@pytest.fixture(scope="module")
def sample_runs(live_server, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval-runs")
    runs = {}
    for suite, data in SAMPLE_DATA.items():
        runs[suite] = root / suite
        run_cli(suite, live_server, data, runs[suite], "--limit", "2")
    runs["pubmedqa-star"] = root / "pubmedqa-star"
    run_cli("pubmedqa", live_server, SAMPLE_DATA["pubmedqa"], runs["pubmedqa-star"], "--limit", "2", "--no-context")
    return runs


@pytest.mark.parametrize("suite", list(SAMPLE_DATA))
def test_suite_end_to_end_through_gateway(sample_runs, suite: str) -> None:
    run = sample_runs[suite]
    records = read_predictions(run)
    assert len(records) == 2 and all(r["error"] is None and isinstance(r["text"], str) for r in records)
    report = json.loads((run / "report.json").read_text())
    assert report["n_items"] == 2 and report["spec"]["suite"] == suite
    for name, row in report["headline"].items():
        assert row["value"] is None or 0.0 <= row["value"] <= 1.0, name
    assert (run / "manifest.json").is_file() and "report.md" in {p.name for p in run.iterdir()}
    assert "| metric | value [95% CI] |" in (run / "report.md").read_text()
    expected_plots = {"medqa": {"confusion_matrix.png"}, "pubmedqa": {"confusion_matrix.png"},
                      "ddx": {"confusion_matrix.png", "reliability.png", "topk.png"}, "faithfulness": set()}[suite]
    assert set(report["plots"]) == expected_plots
    assert all((run / p).stat().st_size > 1000 for p in expected_plots)


def test_score_and_compare_from_stored_predictions(sample_runs, capsys) -> None:
    run = sample_runs["pubmedqa"]
    before = json.loads((run / "report.json").read_text())
    (run / "report.json").unlink()
    main(["eval", "score", str(run)])
    assert json.loads((run / "report.json").read_text())["headline"] == before["headline"]
    capsys.readouterr()
    main(["eval", "compare", str(run), str(sample_runs["pubmedqa-star"])])
    out = capsys.readouterr().out
    assert "| accuracy |" in out and "Paired over 2 shared items" in out


class CrashingBackend(EndpointBackend):
    """The real endpoint backend, killed after ``crash_after`` answers (as by Ctrl-C or OOM)."""

    crash_after = 2

    def answer(self, items):
        for n, pair in enumerate(super().answer(items)):
            if n == self.crash_after:
                raise KeyboardInterrupt
            yield pair


def test_crashed_run_resumes_without_reasking_done_items(live_server, tmp_path) -> None:
    spec = RunSpec(suite="medqa", data=str(SAMPLE_DATA["medqa"]), backend="gateway", limit=5)
    config = EvalConfig(max_tokens=16, concurrency=1)
    args = (live_server.base_url, live_server.api_key, "medassist-norag", 1, 16)
    with pytest.raises(KeyboardInterrupt):
        run_suite(spec, config, CrashingBackend(*args), tmp_path, in_process=False)
    answered = {r["id"] for r in read_predictions(tmp_path)}
    assert len(answered) == 2
    with open(tmp_path / "predictions.jsonl", "a") as handle:  # a write cut short by the crash
        handle.write('{"id": "medqa-half')

    asked_before = chat_requests(live_server)
    report = run_suite(spec, config, EndpointBackend(*args), tmp_path, in_process=False)
    assert chat_requests(live_server) - asked_before == 3  # only the 3 items not yet answered
    records = read_predictions(tmp_path)
    assert len(records) == 5 == len({r["id"] for r in records}) and answered < {r["id"] for r in records}
    assert report["n_items"] == 5

    other = RunSpec(suite="pubmedqa", data=str(SAMPLE_DATA["pubmedqa"]), backend="gateway")
    with pytest.raises(MedassistError, match="holds a different run"):
        run_suite(other, config, EndpointBackend(*args), tmp_path, in_process=False)


def test_in_process_transformers_run(tiny_model_dir, tmp_path) -> None:
    main(["eval", "medqa", "--model", str(tiny_model_dir), "--data", str(SAMPLE_DATA["medqa"]),
          "--out", str(tmp_path), "--limit", "2", "--engine", "transformers", *FAST])
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["spec"]["backend"].startswith("transformers:") and report["n_items"] == 2


def test_batch_size_reaches_the_in_process_backend(tiny_model_dir, tmp_path) -> None:
    """Items generated as one batch share the batch's time (latency_s is its per-item share), so
    --batch-size 2 gives two equal latencies and --batch-size 1 two separate measurements."""
    latencies = {}
    for size in (1, 2):
        out = tmp_path / f"batch-{size}"
        main(["eval", "medqa", "--model", str(tiny_model_dir), "--data", str(SAMPLE_DATA["medqa"]), "--out", str(out),
              "--limit", "2", "--engine", "transformers", "--batch-size", str(size), *FAST])
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        latencies[size] = [r["latency_s"] for r in rows]
    assert latencies[2][0] == latencies[2][1]
    assert latencies[1][0] != latencies[1][1]


def test_faithfulness_with_retrieval_in_process_and_through_gateway(
    live_server, tiny_model_dir, sample_index_dir, tmp_path
) -> None:
    """--rag on: in-process the suite retrieves from --index; through the gateway it scores the
    answer against the citations the server returns."""
    if not httpx.get(f"{live_server.url}/health").json().get("index"):
        pytest.skip("the live gateway was started without a RAG index")
    data = SAMPLE_DATA["faithfulness"]
    main(["eval", "faithfulness", "--model", str(tiny_model_dir), "--rag", "on", "--index", str(sample_index_dir),
          "--data", str(data), "--out", str(tmp_path / "local"), "--limit", "1", "--engine", "transformers", *FAST])
    (local,) = read_predictions(tmp_path / "local")
    assert len(local["sources"]) >= 1 and all(text for text in local["sources"].values())

    report = run_cli("faithfulness", live_server, data, tmp_path / "gateway", "--limit", "1", "--rag", "on",
                     model="medassist")
    (served,) = read_predictions(tmp_path / "gateway")
    assert served["citations"] and {"pmid", "snippet"} <= set(served["citations"][0])
    assert 0.0 <= report["scores"]["offline"]["mean_support"]["value"] <= 1.0


def test_user_mistakes_are_one_line_errors(tmp_path, capsys) -> None:
    for args, message in [
        (["--model", "x", "--endpoint", "http://127.0.0.1:9/v1"], "exactly one of --model"),
        (["--model", "x", "--rag", "maybe"], "--rag 'maybe': expected on or off"),
        (["--model", "x", "--max-tokenz", "3"], "unknown config key(s) max_tokenz"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", "medqa", "--data", str(SAMPLE_DATA["medqa"]), "--out", str(tmp_path / "r"), *args])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_ragas_judge_path_reaches_the_endpoint_and_fails_clearly(live_server) -> None:
    """The tiny model cannot produce ragas' JSON: the path must end in a clear error, not hang."""
    from medassist.eval.faithfulness import ragas_faithfulness

    sample = {"user_input": "Does metformin lower glucose?", "response": "Yes, it lowers glucose.",
              "retrieved_contexts": ["Metformin lowers blood glucose."]}
    with pytest.raises(MedassistError, match="ragas Faithfulness with judge 'medassist-norag'"):
        ragas_faithfulness([sample], live_server.base_url, "medassist-norag", live_server.api_key)


@pytest.mark.shared_data
def test_real_files_through_gateway(shared_data, live_server, tmp_path) -> None:
    real = {
        "medqa": shared_data / "medqa" / "us_5options_dev.jsonl",
        "pubmedqa": shared_data / "pubmedqa" / "ori_pqal.json",
        "ddx": shared_data / "ddxplus" / "release_validate_patients_subset_en.csv",
    }
    for suite, data in real.items():
        report = run_cli(suite, live_server, data, tmp_path / suite, "--limit", "2")
        assert report["n_items"] == 2
    ddx = json.loads((tmp_path / "ddx" / "report.json").read_text())["scores"]
    assert set(ddx["per_pathology_recall"]) <= set(json.loads((real["ddx"].parent / "release_conditions.json")
                                                             .read_text()))


def test_judge_key_comes_from_the_environment_and_is_never_written(live_server, tmp_path, monkeypatch) -> None:
    """The judge's key reaches the config from $MEDASSIST_JUDGE_API_KEY; the run's manifest.json and
    report.json (which get shared) say only that one was set."""
    from medassist.config import REDACTED, to_dict

    secret = "sk-judge-Quokka-4471"
    monkeypatch.setenv("MEDASSIST_JUDGE_API_KEY", secret)
    assert EvalConfig().judge_api_key == secret and secret not in repr(EvalConfig())
    run_cli("medqa", live_server, SAMPLE_DATA["medqa"], tmp_path / "run", "--limit", "1")
    manifest, report = ((tmp_path / "run" / name).read_text() for name in ("manifest.json", "report.json"))
    assert secret not in manifest and secret not in report
    assert json.loads(manifest)["config"]["config"]["judge_api_key"] == REDACTED
    assert json.loads(report)["config"]["judge_api_key"] == REDACTED
    monkeypatch.delenv("MEDASSIST_JUDGE_API_KEY")
    assert to_dict(EvalConfig())["judge_api_key"] is None
