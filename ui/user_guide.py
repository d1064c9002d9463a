"""``medassist guide``: print the step-by-step guide (docs/GUIDE.md), as Markdown or as
WhatsApp-formatted text for sharing in messaging apps (the UI's formatter does the work)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from medassist.errors import MedassistError
from medassist.resources import packaged

GUIDE = packaged("medassist.docs", "GUIDE.md")
FENCE = re.compile(r"^```(\w+)?[^\n]*\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    """The guide's runnable code, in order (```python blocks; shell blocks are shown only)."""
    return [body for lang, body in FENCE.findall(text) if lang == "python"]


def word_count(text: str) -> int:
    """Words of prose, code blocks excluded (the guide's 2,000-3,000 word budget)."""
    return len(FENCE.sub("", text).split())


def app(
    format: str = typer.Option("markdown", "--format", help="markdown or whatsapp."),
    path: Path = typer.Option(GUIDE, help="Guide file to render."),
) -> None:
    """Print the step-by-step guide (docs/GUIDE.md)."""
    if not path.is_file():
        raise MedassistError(f"guide not found: {path}")
    text = path.read_text(encoding="utf-8")
    if format == "markdown":
        typer.echo(text)
    elif format == "whatsapp":
        # the UI's export module brings the UI's client (openai, ~0.6 s): only this format pays for it
        from medassist.ui.export import markdown_to_whatsapp

        typer.echo(markdown_to_whatsapp(text))
    else:
        raise MedassistError(f"--format {format!r} is unknown; choose markdown or whatsapp")
