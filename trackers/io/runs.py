"""Result folders that are never overwritten.

Every command that writes results writes into a *new* folder: either one the user names
(which must not exist yet, or be empty) or ``runs/<UTC timestamp>-<label>`` created
atomically with ``mkdir`` (a numeric suffix is added if two runs start in the same second).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_run_dir(
    out: str | Path | None = None, label: str = "run", base: str | Path = "runs"
) -> Path:
    """Create and return a fresh, empty result folder.

    Parameters
    ----------
    out : path or None
        Folder requested by the user. It may not exist yet (it is created, parents too) or
        must be an empty directory; anything else raises ``FileExistsError`` so that no
        result is silently overwritten.
    label : str
        Used in the generated name ``<base>/<YYYYmmddTHHMMSSZ>-<label>`` when ``out`` is None.
    base : path
        Parent folder for generated names.
    """
    if out is not None:
        p = Path(out)
        if p.exists():
            if not p.is_dir():
                raise FileExistsError(f"--out {p} exists and is not a directory")
            if any(p.iterdir()):
                raise FileExistsError(
                    f"--out {p} already holds files; results are never overwritten: "
                    "choose a new folder or omit --out to get runs/<timestamp>-<label>"
                )
            return p
        p.mkdir(parents=True)
        return p
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}-{_SAFE.sub('_', label)}"
    root = Path(base)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1000):
        p = root / (name if k == 0 else f"{name}-{k}")
        try:
            p.mkdir()
        except FileExistsError:
            continue
        return p
    raise FileExistsError(f"could not create a new run folder under {root}")  # pragma: no cover
