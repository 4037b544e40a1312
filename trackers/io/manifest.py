"""Checksum manifests: every dataset folder lists its files with SHA-256 digests.

``MANIFEST.json`` = {"generator": {...}, "files": {relative path: {"sha256", "bytes"}}}.
:func:`verify_manifest` reports every missing, extra or modified file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "MANIFEST.json"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: str | Path, generator: dict[str, Any]) -> Path:
    """Write ``MANIFEST.json`` covering every file below ``folder``."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in _files(folder)
    }
    path = folder / MANIFEST
    path.write_text(json.dumps({"generator": generator, "files": files}, indent=2) + "\n")
    return path


def verify_manifest(folder: str | Path) -> list[str]:
    """Problems found in ``folder`` against its manifest; an empty list means it verifies."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{folder}: no {MANIFEST}"]
    try:
        doc = json.loads(path.read_text())
        listed = doc["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return [f"{path}: malformed manifest ({exc})"]
    problems = []
    present = {p.relative_to(folder).as_posix() for p in _files(folder)}
    for rel, entry in sorted(listed.items()):
        if rel not in present:
            problems.append(f"{folder}/{rel}: listed in the manifest but missing")
        elif sha256_file(folder / rel) != entry.get("sha256"):
            problems.append(f"{folder}/{rel}: sha256 differs from the manifest")
    for rel in sorted(present - set(listed)):
        problems.append(f"{folder}/{rel}: present but not in the manifest")
    return problems
