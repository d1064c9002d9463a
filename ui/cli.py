"""``medassist ui``: start the Streamlit page against an API; ``medassist ui export-feedback``: CSV."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from medassist.clitools import sub_app
from medassist.errors import MedassistError

app = sub_app("Streamlit chat for clinicians (a client of `medassist serve`).", default_command=True)

APP_FILE = Path(__file__).with_name("app.py")


def streamlit_command(port: int, address: str) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.port", str(port), "--server.address", address, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
    ]


def streamlit_env(api: str, feedback_db: Path | None, timeout: float) -> dict[str, str]:
    """The app reads its settings from these variables (see ``ui/app.py``)."""
    from medassist.ui.client import ENV_API_URL, ENV_TIMEOUT
    from medassist.ui.feedback import ENV_FEEDBACK_DB

    env = dict(os.environ, **{ENV_API_URL: api, ENV_TIMEOUT: str(timeout)})
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
) -> None:
    """Start the page (the API key, if the server needs one, comes from MEDASSIST_API_KEY or the sidebar)."""
    if not api.startswith(("http://", "https://")):
        raise MedassistError(f"--api: expected an http(s) URL such as http://127.0.0.1:8000, got {api!r}")
    print(f"medassist ui: http://{address}:{port} (API {api})", flush=True)
    # Become Streamlit, so Ctrl-C and SIGTERM reach it directly and no parent is left behind.
    command = streamlit_command(port, address)
    os.execve(command[0], command, streamlit_env(api, feedback_db, timeout))


@app.command("export-feedback")
def export_feedback(
    db: Path = typer.Option(..., help="The feedback SQLite file the UI wrote."),
    out: Path = typer.Option(..., help="CSV file to write."),
) -> None:
    """Write every feedback row (texts already PHI-scrubbed) to CSV."""
    from medassist.ui.feedback import FeedbackStore

    count = FeedbackStore(db).export_csv(out)
    print(f"wrote {count} feedback rows to {out}")
