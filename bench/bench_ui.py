"""UI-side costs that do not depend on the model: page script runs, exports, feedback writes.

The page reruns its script on every click, so its own time adds to every interaction; this
measures a cold and a warm run of ``ui/app.py`` (AppTest, API down so no model time is
counted), the WhatsApp/Markdown export of a long consultation, and feedback inserts and CSV
export on a real SQLite file.

    .venv/bin/python bench/bench_ui.py --out FILE.json [--quick]
"""

from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

from harness import bench_parser, write_results
from streamlit.testing.v1 import AppTest
from tqdm import tqdm

from medassist.ui.client import Candidate, DiagnoseResult, Reference
from medassist.ui.export import consultation_markdown, consultation_whatsapp, markdown_to_whatsapp
from medassist.ui.feedback import FeedbackRow, FeedbackStore
from medassist.ui.session import Consultation, Turn

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"


def consultation(turns: int) -> Consultation:
    cites = [Reference(str(98000000 + i), f"Study {i} of pneumonia", "Fever and cough...", 0.5, 2015) for i in range(5)]
    c = Consultation()
    for i in range(turns):
        c.turns.append(Turn("user", f"Question {i}: fever, cough and **pleuritic** pain for {i} days?"))
        c.turns.append(Turn("assistant", "Consider *pneumonia* [98000001].\n\n- chest X-ray\n- `CRP`\n\n"
                                         "> decision support, not a diagnosis", cites, [], "medassist"))
    c.diagnosis = DiagnoseResult([Candidate(f"Condition {i}", 0.5 / (i + 1), "because", cites[:2]) for i in range(5)])
    return c


def median_ms(fn, repeats: int, before=None) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in tqdm(range(repeats), desc=getattr(fn, "__name__", "run"), leave=False):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def page_runs(repeats: int) -> dict[str, float]:
    with socket.socket() as sock:  # a port nobody listens on: the page shows "unreachable"
        sock.bind(("127.0.0.1", 0))
        os.environ["MEDASSIST_API_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    at = AppTest.from_file(str(APP), default_timeout=120)
    start = time.perf_counter()
    at.run()
    cold = (time.perf_counter() - start) * 1000
    assert at.error, "expected the unreachable-API message"
    return {"page_cold_run_ms": round(cold, 1), "page_warm_run_ms": median_ms(at.run, repeats)}


def exports(turns: int, repeats: int) -> dict[str, float]:
    c = consultation(turns)
    md = consultation_markdown(c)
    whatsapp = lambda: consultation_whatsapp(c)  # noqa: E731
    return {"consultation_turns": 2 * turns, "markdown_chars": len(md),
            "markdown_export_ms": median_ms(lambda: consultation_markdown(c), repeats),
            "whatsapp_export_ms": median_ms(whatsapp, repeats, before=markdown_to_whatsapp.cache_clear),
            "whatsapp_export_cached_ms": median_ms(whatsapp, repeats)}


def feedback(rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = FeedbackStore(Path(tmp) / "feedback.sqlite")
        row = FeedbackRow("c", "a", 1, "too vague, call 555-123-4567", "fever?", "Consider sepsis " * 40,
                          "medassist", True, 5, ["98000001"], "en")
        start = time.perf_counter()
        for _ in tqdm(range(rows), desc="feedback inserts", leave=False):
            store.add(row)
        inserts = time.perf_counter() - start
        start = time.perf_counter()
        store.export_csv(Path(tmp) / "feedback.csv")
        export = time.perf_counter() - start
    return {"feedback_rows": rows, "feedback_inserts_per_s": round(rows / inserts, 1),
            "feedback_csv_export_ms": round(export * 1000, 1)}


def main() -> None:
    parser = bench_parser(__doc__, "a short run (about a minute)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    results = {**page_runs(repeats), **exports(20 if args.quick else 100, repeats),
               **feedback(100 if args.quick else 1000)}
    results["whatsapp_over_markdown"] = round(results["whatsapp_export_ms"] / results["markdown_export_ms"], 2)
    write_results(args.out, "ui", results, args.quick)


if __name__ == "__main__":
    main()
