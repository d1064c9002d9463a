"""The one ``medassist`` command: every part registers its sub-app here.

Part CLIs import their heavy libraries inside the command bodies, so ``--help`` stays fast.
User-fixable problems (``MedassistError``) end as one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from medassist.errors import MedassistError

# (sub-command, module holding ``app``)
PARTS = (
    ("data", "medassist.data.cli"),
    ("model", "medassist.model_cli"),
    ("sft", "medassist.sft.cli"),
    ("rag", "medassist.rag.cli"),
    ("serve", "medassist.serve.cli"),
    ("eval", "medassist.eval.cli"),
    ("ui", "medassist.ui.cli"),
    ("guide", "medassist.guide"),
)

app = typer.Typer(
    help="medassist: a diagnostic decision-support assistant (not a doctor). "
    "Sub-commands per part; configs are YAML in configs/ with --key value overrides.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    for name, module in PARTS:
        try:
            part = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # part not built yet
        if isinstance(part.app, typer.Typer):
            app.add_typer(part.app, name=name)
        else:
            app.command(name)(part.app)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _register()
    try:
        code = app(args=argv, standalone_mode=False)  # click returns typer.Exit's code here
        if isinstance(code, int) and code:
            sys.exit(code)
    except MedassistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
