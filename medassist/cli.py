"""The one ``medassist`` command: every part registers its sub-app here.

Part CLIs import their heavy libraries inside the command bodies, so ``--help`` stays fast.
User-fixable problems (``MedassistError``) end as one line on stderr and exit code 2; anything else
is a bug or the environment, and keeps its traceback (exit code 1).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import signal
import sys

import typer

from medassist.data.phi import scrub
from medassist.errors import MedassistError
from medassist.logs import configure_logging

# (sub-command, module holding ``app``)
PARTS = (
    ("data", "medassist.data.cli"),
    ("model", "medassist.models.cli"),
    ("sft", "medassist.sft.cli"),
    ("rag", "medassist.rag.cli"),
    ("serve", "medassist.serve.cli"),
    ("eval", "medassist.eval.cli"),
    ("ui", "medassist.ui.cli"),
    ("guide", "medassist.ui.user_guide"),
)

app = typer.Typer(
    help="medassist: a diagnostic decision-support assistant (not a doctor). "
    "Sub-commands per part; configs are YAML in configs/ with --key value overrides. "
    "Exit status: 0 done, 1 a failure that is not the input's (a traceback follows; for `data validate`, "
    "problems were found), 2 a usage or input problem (one line on stderr says which), 130 interrupted; "
    "serve: 3 the engine or index did not start, 4 the engine died and could not be restarted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"medassist {importlib.metadata.version('medassist')}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """medassist's sub-commands."""


def _register() -> None:
    for name, module in PARTS:
        part = importlib.import_module(module)  # a part that fails to import is an error, not a missing command
        if isinstance(part.app, typer.Typer):
            app.add_typer(part.app, name=name)
        else:
            app.command(name)(part.app)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def unwind_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C: ``finally`` blocks and context managers run, so atomic writers
    remove their temporary files and the servers a command started are stopped with it."""
    signal.signal(signal.SIGTERM, _interrupt)


def main(argv: list[str] | None = None) -> None:
    # Our progress at INFO; libraries (torch, httpx, ...) only when they warn; PHI scrubbed from all of it.
    configure_logging(logging.WARNING)
    unwind_on_sigterm()  # the previous outputs stay as they were (servers install their own handlers on top)
    try:
        _register()
        code = app(args=argv, standalone_mode=False)  # click returns typer.Exit's code here
        if isinstance(code, int) and code:
            sys.exit(code)
    except MedassistError as exc:
        print(f"error: {scrub(str(exc))}", file=sys.stderr)  # messages may quote the user's input
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):  # typer turns Ctrl-C into Abort
        print("interrupted: finished outputs are intact; re-run the command to resume", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if not _usage_error(exc):
            raise  # a bug or the environment: the traceback says where (exit code 1)
        exc.show()
        sys.exit(exc.exit_code)


def _usage_error(exc: Exception) -> bool:
    """A bad flag or a missing argument. Typer 0.2x vendors click as the private ``typer._click``
    (click itself is no dependency of ours), so its usage errors are recognised by what click's
    ``ClickException`` has: ``show`` and ``exit_code``."""
    return callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int)


if __name__ == "__main__":
    main()
