"""Crash-safe writes: write beside the target, then rename, so an interrupted run never
leaves a half-written file or directory where a good one used to be."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medassist.errors import MedassistError


def atomic_write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def is_artefact(path: Path) -> bool:
    """A folder medassist wrote: every command that writes one puts a manifest with a ``kind`` in it."""
    try:
        return isinstance(json.loads((path / "manifest.json").read_text()).get("kind"), str)
    except (OSError, ValueError, AttributeError):
        return False


def check_replaceable(path: Path, force: bool) -> None:
    """Refuse before any work to replace what medassist did not write (a typo in --out such as
    ``--out ~`` or ``--out data`` must not delete that folder)."""
    if force or not os.path.lexists(path) or is_artefact(path):
        return
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        return  # an empty folder holds nothing to lose
    what = "a folder without a medassist manifest.json" if path.is_dir() else "not a folder"
    raise MedassistError(f"{path} exists and is {what}: refusing to replace it. Choose another output "
                         "folder, or pass --force to replace it anyway")


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel or a filesystem without it
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextlib.contextmanager
def atomic_directory(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it takes the place of ``path``.

    ``path`` may be replaced only if it is missing, empty or a medassist artefact (its
    manifest.json), unless ``force``. On Linux the new directory and the old one swap in one
    step, so ``path`` always exists and a crash leaves either the old or the new one there; the old
    one is removed after. Elsewhere the old one is moved aside first, which leaves a moment with
    neither at ``path`` (a crash then leaves the old one beside it, as ``.NAME.old-PID``).
    """
    path = Path(path)
    check_replaceable(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.building-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.lexists(path) and _exchange(tmp, path):
        _remove(tmp)  # now the old one
        return
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    if os.path.lexists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
