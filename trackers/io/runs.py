"""Result folders that are never overwritten.

Every command that writes results writes into a *new* folder: either one the user names
(which must not exist yet, or be empty) or ``runs/<UTC timestamp>-<label>`` created
atomically with ``mkdir`` (a numeric suffix is added if two runs start in the same second).

:func:`check_run_dir` checks, without creating anything, that :func:`new_run_dir` can succeed
(no file in the way, not a non-empty folder, a writable ancestor), so that a command can
refuse a bad ``--out`` before it computes anything. Failures raise ``FileExistsError`` (a
result would be overwritten) or :class:`RunDirError` (an ``OSError``: the folder cannot be
made), each with a one-line message naming the folder.
"""

from __future__ import annotations

import errno
import os
import re
from datetime import UTC, datetime
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RunDirError(OSError):
    """A result folder that cannot be created or written (one-line message naming it)."""


def run_dir_name(label: str = "run", stamp: datetime | None = None) -> str:
    """Generated folder name ``<YYYYmmddTHHMMSSZ>-<label>`` (label made filename-safe)."""
    stamp = stamp or datetime.now(UTC)
    return f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{_SAFE.sub('_', label)}"


def _creatable(p: Path, what: str) -> None:
    """Raise unless folder ``p`` could be created: the nearest existing ancestor must be a
    writable folder (no file anywhere on the path)."""
    parent = p
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise RunDirError(
            errno.ENOTDIR, f"{what} {p}: {parent} is a file, not a folder; choose another place"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunDirError(
            errno.EACCES,
            f"{what} {p}: cannot create a folder under {parent} (not writable); choose another "
            "place",
        )


def check_run_dir(
    out: str | Path | None = None, base: str | Path = "runs", what: str = "--out"
) -> None:
    """Check that :func:`new_run_dir` with the same arguments would succeed; create nothing.

    Raises
    ------
    FileExistsError
        ``out`` exists and is not an empty folder.
    RunDirError
        A file stands on the path, or the nearest existing folder is not writable.
    """
    if out is None:
        root = Path(base)
        if root.exists():
            if not root.is_dir():
                raise RunDirError(
                    errno.ENOTDIR, f"results folder {root} is a file, not a folder; use --out"
                )
            if not os.access(root, os.W_OK | os.X_OK):
                raise RunDirError(
                    errno.EACCES, f"results folder {root} is not writable; use --out elsewhere"
                )
            return
        _creatable(root, "results folder")
        return
    p = Path(out)
    if p.exists():
        if not p.is_dir():
            raise FileExistsError(f"{what} {p} exists and is not a directory")
        if any(p.iterdir()):
            raise FileExistsError(
                f"{what} {p} already holds files; results are never overwritten: "
                "choose a new folder or omit --out to get runs/<timestamp>-<label>"
            )
        if not os.access(p, os.W_OK | os.X_OK):
            raise RunDirError(errno.EACCES, f"{what} {p}: the folder is not writable")
        return
    _creatable(p, what)


def _mkdir(p: Path, what: str, **kw: bool) -> None:
    """``p.mkdir(**kw)`` with a one-line :class:`RunDirError` naming ``p`` on failure."""
    try:
        p.mkdir(**kw)
    except FileExistsError:
        raise
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise RunDirError(exc.errno, f"{what} {p}: cannot create the folder: {why}") from None


def new_run_dir(
    out: str | Path | None = None, label: str = "run", base: str | Path = "runs"
) -> Path:
    """Create and return a fresh, empty result folder.

    Parameters
    ----------
    out : path or None
        Folder requested by the user. It may not exist yet (it is created, parents too) or
        must be an empty directory; anything else raises ``FileExistsError`` so that no
        result is silently overwritten. A folder that cannot be made (a file on the path,
        no permission) raises :class:`RunDirError`.
    label : str
        Used in the generated name ``<base>/<YYYYmmddTHHMMSSZ>-<label>`` when ``out`` is None.
    base : path
        Parent folder for generated names.
    """
    check_run_dir(out, base)
    if out is not None:
        p = Path(out)
        if not p.exists():
            _mkdir(p, "--out", parents=True)
        return p
    name = run_dir_name(label)
    root = Path(base)
    _mkdir(root, "results folder", parents=True, exist_ok=True)
    for k in range(1000):
        p = root / (name if k == 0 else f"{name}-{k}")
        try:
            _mkdir(p, "results folder")
        except FileExistsError:
            continue
        return p
    raise FileExistsError(f"could not create a new run folder under {root}")  # pragma: no cover


def available_memory_bytes() -> int | None:
    """Memory a new allocation can use now [bytes]: ``MemAvailable`` of ``/proc/meminfo``
    (Linux), else free physical pages; None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return None


def free_disk_bytes(path: str | Path) -> int | None:
    """Free space [bytes] on the file system that holds ``path`` or its nearest existing
    ancestor; None if it cannot be found."""
    import shutil

    p = Path(path).absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    try:
        return int(shutil.disk_usage(p).free)
    except OSError:
        return None
