"""``medassist ui``: start the Streamlit page against an API; ``medassist ui export-feedback``: CSV."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from medassist.client_env import ENV_API_URL
from medassist.clitools import sub_app
from medassist.errors import MedassistError
from medassist.ui.feedback import ENV_FEEDBACK_DB, FeedbackStore
from medassist.ui.history import ENV_MAX_CHARS, ENV_MAX_MESSAGES, HistoryBudget

app = sub_app("Streamlit chat for clinicians (a client of `medassist serve`).", default_command=True)

APP_FILE = Path(__file__).with_name("app.py")


def streamlit_command(port: int, address: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.port", str(port), "--server.address", address, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
    ]


def streamlit_env(api: str, feedback_db: Path | None, timeout: float, history: HistoryBudget) -> dict[str, str]:
    """The app reads its settings from these variables (see ``ui/app.py``)."""
    from medassist.ui.client import ENV_TIMEOUT  # imports the openai client (~0.7 s): only for `ui run`

    env = dict(os.environ, **{ENV_API_URL: api, ENV_TIMEOUT: str(timeout), ENV_MAX_MESSAGES: str(history.max_messages),
                              ENV_MAX_CHARS: str(history.max_chars)})
    if feedback_db is not None:
        env[ENV_FEEDBACK_DB] = str(feedback_db)
    return env


@app.command("run")
def run(
    api: str = typer.Option("http://127.0.0.1:8000", help="Base URL of the medassist API (without /v1)."),
    port: int = typer.Option(8501, help="Port of the Streamlit page."),
    address: str = typer.Option("127.0.0.1", help="Address to bind; loopback unless you mean to share it."),
    feedback_db: Path = typer.Option(None, help="SQLite file for feedback [default: artifacts/ui/feedback.sqlite]."),
    timeout: float = typer.Option(60.0, help="Seconds to wait for the API before showing a timeout."),
    history_messages: int = typer.Option(HistoryBudget.max_messages, min=1,
                                         help="Most chat messages sent per question, the question included "
                                              "(keep it within the server's limits.max_messages)."),
    history_chars: int = typer.Option(HistoryBudget.max_chars, min=1,
                                      help="Most characters of chat sent per question; the page halves it "
                                           "when the server still finds the prompt too long."),
) -> None:
    """Start the page. The API URL is this option, not a page setting; the key, if the server needs
    one, comes from MEDASSIST_API_KEY here and is never sent to the browser."""
    if not api.startswith(("http://", "https://")):
        raise MedassistError(f"--api: expected an http(s) URL such as http://127.0.0.1:8000, got {api!r}")
    print(f"medassist ui: http://{address}:{port} (API {api})", flush=True)
    # Become Streamlit, so Ctrl-C and SIGTERM reach it directly and no parent is left behind.
    command = streamlit_command(port, address)
    os.execve(command[0], command, streamlit_env(api, feedback_db, timeout,
                                                 HistoryBudget(history_messages, history_chars)))


@app.command("export-feedback")
def export_feedback(
    db: Path = typer.Option(..., help="The feedback SQLite file the UI wrote."),
    out: Path = typer.Option(..., help="CSV file to write."),
) -> None:
    """Write every feedback row (texts already PHI-scrubbed) to CSV."""
    count = FeedbackStore(db).export_csv(out)
    print(f"wrote {count} feedback rows to {out}")
