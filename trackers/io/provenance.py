"""Run provenance: git revision, package versions, platform, seeds and configuration.

Every result folder gets a ``provenance.json`` so that a figure or number can be traced to
the exact code and inputs that produced it.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("numpy", "scipy", "pymap3d", "matplotlib", "filterpy", "stonesoup", "dask")


def git_revision(cwd: str | Path | None = None) -> dict[str, Any]:
    """The git commit of the source tree and whether it has uncommitted changes."""
    root = Path(cwd) if cwd else Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"commit": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    """Installed versions of the toolkit and its main dependencies."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in ("ballistic-trackers", *_PACKAGES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(config: dict[str, Any] | None = None, seeds: Any = None) -> dict[str, Any]:
    """A JSON-serialisable provenance record for a run."""
    return {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
        "git": git_revision(),
        "versions": package_versions(),
        "platform": {"system": platform.system(), "machine": platform.machine()},
        "seeds": seeds,
        "config": config or {},
    }


def write_provenance(folder: str | Path, config: dict | None = None, seeds: Any = None) -> Path:
    """Write ``provenance.json`` into ``folder`` and return its path."""
    path = Path(folder) / "provenance.json"
    path.write_text(json.dumps(provenance(config, seeds), indent=2, default=str) + "\n")
    return path
