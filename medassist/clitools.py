"""Small helpers shared by every part's Typer sub-app."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

# Commands that take a --config YAML plus arbitrary ``--key value`` overrides.
OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}


def leading_values(args: list[str]) -> tuple[list[str], list[str]]:
    """Split Click's extra args into the values that came before any option and the overrides.

    Click gives a list option one value per flag, so ``--corpus a.jsonl b.xml.gz --out X`` leaves
    ``b.xml.gz`` among the extra args, ahead of any ``--key value`` override: it belongs to the
    list option the user was writing.
    """
    n = next((i for i, arg in enumerate(args) if arg.startswith("-")), len(args))
    return args[:n], args[n:]


class DefaultCommandGroup(TyperGroup):
    """A group whose first command runs when no sub-command is named.

    This gives ``medassist sft --config X --max-steps 5`` (train) next to ``medassist sft merge``.
    """

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if (not args or args[0] not in self.commands) and not {"--help", "-h"} & set(args[:1]):
            args = [next(iter(self.commands)), *args]
        return super().parse_args(ctx, args)


def lazy_epilog(base: type, factory: Callable[[], str]) -> type:
    """``base`` (a Typer group or command class) whose ``--help`` epilog is built only when shown:
    listing TRL's options imports TRL (seconds), which no other use of the command should pay."""

    class LazyEpilog(base):  # type: ignore[misc, valid-type]
        def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
            self.epilog = factory()
            return super().format_help(ctx, formatter)

    return LazyEpilog


def sub_app(help_text: str, default_command: bool = False, cls: type | None = None) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        no_args_is_help=not default_command,
        cls=cls or (DefaultCommandGroup if default_command else None),
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def settings_epilog(cls: Any) -> str:
    """Every key of a config dataclass with its default, a paragraph per section (nested ones as
    ``section.key``), for ``--help``: what ``--key value`` overrides can set (secrets show no default)."""
    sections: dict[str, list[str]] = {}

    def walk(klass: Any, prefix: str) -> None:
        hints = typing.get_type_hints(klass)
        for f in dataclasses.fields(klass):
            if "passthrough" in f.metadata:  # its keys are another library's, listed by that library's help
                continue
            if dataclasses.is_dataclass(hints[f.name]):
                walk(hints[f.name], f"{prefix}{f.name}.")
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
            shown = "(secret)" if f.metadata.get("secret") else repr(default)
            sections.setdefault(prefix, []).append(f"--{prefix}{f.name} {shown}")

    walk(cls, "")
    return "Settings (--key value; the same keys in YAML):\n\n" + "\n\n".join(
        " · ".join(keys) for keys in sections.values())
