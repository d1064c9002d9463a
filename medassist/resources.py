"""Files the package ships (recipes and configs, the guide, the sample data), found through
``importlib.resources`` so that a wheel installed anywhere works as a source checkout does.

Shipped recipes name those files as a checkout lays them out (``data/samples/...``,
``configs/...``), so they read the same in both places: ``bundled`` keeps a path that exists from
the working directory (a checkout, or the user's own file) and otherwise maps those prefixes into
the installed package.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

# a checkout's folder -> the package (and sub-folder) it is installed as
PREFIXES = {"data/samples": ("medassist.data", "samples"), "configs": ("medassist.configs", ""),
            "docs": ("medassist.docs", "")}


def packaged(package: str, *parts: str) -> Path:
    """A file or folder inside an installed package (a regular install: a real path)."""
    return Path(str(importlib.resources.files(package).joinpath(*(p for p in parts if p))))


def bundled(path: str | Path) -> Path:
    """``path`` from the working directory when it is there, else the shipped file it names."""
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    posix = given.as_posix()
    for prefix, (package, sub) in PREFIXES.items():
        if posix == prefix or posix.startswith(prefix + "/"):
            shipped = packaged(package, sub, *Path(posix[len(prefix):].lstrip("/")).parts)
            if shipped.exists():
                return shipped
    return given


CONFIGS = packaged("medassist.configs")
