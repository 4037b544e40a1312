"""Synthetic datasets under ``data/synthetic/<id>/``: generate deterministically, verify.

Each dataset folder holds the scenario file it was made from, the truth and events tables
(and, for some, one radar draw), and ``MANIFEST.json`` with a SHA-256 per file and the
generator's name and version (:mod:`trackers.io.manifest`). ``trackers data generate``
rebuilds them bit for bit on the same platform; across platforms floating-point results may
differ in the last digits, so tests compare regenerated data with the committed copy
numerically (see ``tests/test_datasets.py``).

Regeneration is safe for a user's files. For a dataset folder ``dest`` with an existing
manifest M_old and a freshly built set of files F_new (whose manifest is M_new):

    written    = F_new                                 (MANIFEST.json included)
    edited     = {f in M_old : sha256(dest/f) != M_old[f]}
    stale      = {f in M_old - F_new : f not edited}   (written by an earlier generate: removed)
    left alone = every other file in dest              (never written by the generator)

A file in ``written`` that is also in ``edited`` (the user changed it since the last
generate), or any existing file in ``written`` when ``dest`` has no readable manifest (its
origin is unknown), is a conflict: :func:`generate_all` refuses before writing anything and
names the files, unless ``force=True``. Every write is reported as ``created``,
``unchanged`` (same bytes as before) or ``replaced`` (content changed).

The repository's dataset folder is found by :func:`default_root`: ``data/synthetic`` next
to the installed package (an editable install of the repository), else under the current
directory.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from trackers import __version__
from trackers.io.manifest import MANIFEST, sha256_file, verify_manifest, write_manifest

__all__ = [
    "DATASETS",
    "DatasetConflictError",
    "DatasetSpec",
    "FileAction",
    "Regeneration",
    "default_root",
    "generate",
    "generate_all",
    "read_truth_csv",
    "verify_all",
]


@dataclass(frozen=True)
class DatasetSpec:
    """What one dataset contains.

    ``rate_hz`` is the truth sample rate [Hz]; ``radar_seed`` (None: no radar data) seeds one
    draw of the scenario's radar network, written as ``detections.csv``.
    """

    id: str
    scenario: str
    rate_hz: float
    description: str
    radar_seed: int | None = None


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "hokkaido-2023",
        "hokkaido-2023",
        1.0,
        "Flagship three-stage lofted flight of 2023-04-13 (synthetic, calibrated), with one "
        "draw of the linked Korea-Japan-US radar network.",
        radar_seed=20230413,
    ),
    DatasetSpec(
        "srbm-depressed",
        "srbm-depressed",
        1.0,
        "KN-23-class depressed single-stage flight with pull-up (synthetic).",
    ),
)


class FileAction(NamedTuple):
    """What regeneration did (or, when ``dry``, would do) to one file of a dataset folder.

    Attributes
    ----------
    path : str
        Path relative to the dataset folder (POSIX separators).
    action : str
        ``"created"`` (new file), ``"unchanged"`` (rewritten with the same bytes),
        ``"replaced"`` (rewritten, content changed), ``"removed"`` (stale: listed in the old
        manifest, unmodified, no longer generated) or ``"left alone"`` (not written by the
        generator: kept as it is).
    note : str
        Why: for a ``replaced`` file whose user edit was overwritten under ``force``, for
        ``removed`` and for ``left alone`` entries; empty otherwise.
    """

    path: str
    action: str
    note: str = ""


class Regeneration(NamedTuple):
    """Result of regenerating one dataset folder.

    Attributes
    ----------
    folder : Path
        The dataset folder ``root / spec.id``.
    files : tuple of FileAction
        One entry per file written, removed or left alone, sorted by path.
    """

    folder: Path
    files: tuple[FileAction, ...]


class DatasetConflictError(ValueError):
    """Regeneration would overwrite files the user edited (or whose origin is unknown)."""


def _spec(dataset_id: str) -> DatasetSpec:
    for d in DATASETS:
        if d.id == dataset_id:
            return d
    raise ValueError(
        f"unknown dataset id {dataset_id!r}; expected one of {[d.id for d in DATASETS]}"
    )


def default_root() -> Path:
    """The repository's ``data/synthetic`` folder.

    Looked up next to the installed package first (``<repo>/trackers`` -> ``<repo>/data/
    synthetic``: an editable install or a source checkout), then as ``data/synthetic`` under
    the current directory. Raises ``FileNotFoundError`` naming both places when neither is a
    directory.
    """
    here = Path(__file__).resolve().parents[2] / "data" / "synthetic"
    cwd = Path.cwd() / "data" / "synthetic"
    for candidate in (here, cwd):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"no dataset folder found: looked for {here} (next to the installed package) and "
        f"{cwd} (current directory); pass the dataset folder as an argument"
    )


def generate(spec: DatasetSpec, folder: str | Path) -> Path:
    """Build one dataset into ``folder``, which must be new or empty.

    Writes ``scenario.toml``, ``truth.csv``, ``events.csv``, ``detections.csv`` (when
    ``spec.radar_seed`` is set) and ``MANIFEST.json``. To refresh an existing dataset folder
    use :func:`generate_all`, which never deletes or silently overwrites a user's files.
    """
    from trackers.sim import load_scenario, simulate

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(
            f"folder {folder} already holds files; generate() writes only into a new or empty "
            "folder (use generate_all to refresh a dataset folder)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    scenario = load_scenario(spec.scenario)
    flight = simulate(scenario, rate_hz=spec.rate_hz)
    (folder / "scenario.toml").write_text(scenario.to_toml())
    flight.write_truth_csv(folder / "truth.csv")
    flight.write_events_csv(folder / "events.csv")
    if spec.radar_seed is not None:
        from trackers.sensors import observe, sensors_for_scenario

        radars, network = sensors_for_scenario(scenario.sensors)
        det = observe(flight, radars, network, np.random.default_rng(spec.radar_seed), runs=1)
        det.to_csv(folder / "detections.csv")
    write_manifest(
        folder,
        {
            "name": "trackers data generate",
            "version": __version__,
            "dataset": spec.id,
            "scenario": spec.scenario,
            "rate_hz": spec.rate_hz,
            "radar_seed": spec.radar_seed,
            "description": spec.description,
        },
    )
    return folder


def _old_manifest(dest: Path) -> dict[str, str] | None:
    """``{relative path: sha256}`` from ``dest/MANIFEST.json``; None if absent or unreadable."""
    try:
        files = json.loads((dest / MANIFEST).read_text())["files"]
        return {str(rel): str(entry["sha256"]) for rel, entry in files.items()}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def _present(dest: Path) -> set[str]:
    if not dest.is_dir():
        return set()
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


def _expected_files(spec: DatasetSpec) -> set[str]:
    """Files :func:`generate` writes for ``spec`` (known before building)."""
    names = {"scenario.toml", "truth.csv", "events.csv", MANIFEST}
    if spec.radar_seed is not None:
        names.add("detections.csv")
    return names


def _edited(dest: Path, old: dict[str, str] | None) -> set[str]:
    """Files of the old manifest whose bytes no longer match it (a user's edits)."""
    if old is None:
        return set()
    return {
        rel for rel, sha in old.items() if (dest / rel).is_file() and sha256_file(dest / rel) != sha
    }


def _conflicts(spec: DatasetSpec, dest: Path) -> list[str]:
    """Existing files of ``dest`` that regeneration would overwrite without permission."""
    present = _present(dest)
    will_write = _expected_files(spec) & present
    old = _old_manifest(dest)
    if old is None:
        # no record of what the generator wrote here: every file it would overwrite is unknown
        return sorted(f"{dest / rel}: not from a readable {MANIFEST}" for rel in will_write)
    edited = _edited(dest, old) & will_write
    return sorted(f"{dest / rel}: edited since the last generate" for rel in edited)


def _install(built: Path, dest: Path) -> tuple[FileAction, ...]:
    """Move the files of ``built`` into ``dest``; report every file of either folder."""
    old = _old_manifest(dest)
    edited = _edited(dest, old)
    new = _present(built)
    actions: list[FileAction] = []
    dest.mkdir(parents=True, exist_ok=True)
    for rel in sorted(new):
        src, dst = built / rel, dest / rel
        if not dst.exists():
            action, note = "created", ""
        elif sha256_file(src) == sha256_file(dst):
            action, note = "unchanged", ""
        else:
            action = "replaced"
            note = ""
            if rel in edited:
                note = "edited since the last generate, overwritten with --force"
            elif old is None:
                note = f"no readable {MANIFEST} before, overwritten with --force"
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)  # atomic per file on one file system
        actions.append(FileAction(rel, action, note))
    for rel in sorted(_present(dest) - new):
        if old is not None and rel in old and rel not in edited:
            # written by an earlier generate, unmodified, no longer generated: stale
            (dest / rel).unlink()
            actions.append(FileAction(rel, "removed", "stale: no longer generated"))
        else:
            why = "edited, no longer generated" if rel in edited else "not written by the generator"
            actions.append(FileAction(rel, "left alone", why))
    return tuple(sorted(actions))


def generate_all(
    root: str | Path, only: Iterable[str] | None = None, *, force: bool = False
) -> list[Regeneration]:
    """Regenerate datasets under ``root`` without touching files the generator did not write.

    Parameters
    ----------
    root : path
        Folder holding one sub-folder per dataset (created if missing).
    only : iterable of str, optional
        Dataset ids to regenerate (default: all of :data:`DATASETS`).
    force : bool
        Overwrite generated files the user edited since the last generate (and files of a
        folder without a readable manifest). Files the generator does not write are never
        touched, even with ``force``.

    Returns
    -------
    list of Regeneration
        Per dataset, every file created, replaced (changed or not), removed as stale or left
        alone.

    Raises
    ------
    ValueError
        An unknown id in ``only``.
    DatasetConflictError
        (a ``ValueError``) Without ``force``, when any selected dataset folder holds an edited
        generated file; raised before anything is built or written, naming every such file.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"dataset root {root} is not a directory")
    specs = [_spec(i) for i in only] if only else list(DATASETS)
    if not force:
        conflicts = [c for spec in specs for c in _conflicts(spec, root / spec.id)]
        if conflicts:
            raise DatasetConflictError(
                "refusing to overwrite files changed since they were generated (use --force "
                "to replace them; keep a copy first):\n  " + "\n  ".join(conflicts)
            )
    root.mkdir(parents=True, exist_ok=True)
    done = []
    for spec in specs:
        # build next to the destination (same file system, so the moves are renames)
        with tempfile.TemporaryDirectory(dir=root, prefix=".generate-") as tmp:
            built = generate(spec, Path(tmp) / spec.id)
            files = _install(built, root / spec.id)
        done.append(Regeneration(root / spec.id, files))
    return done


def verify_all(root: str | Path) -> list[str]:
    """Manifest problems across every dataset folder under ``root`` (empty = all verify).

    Hidden folders (``.generate-*`` build folders, ``.git``) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        return [f"{root}: not a directory"]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        return [f"{root}: no datasets"]
    problems: list[str] = []
    for f in folders:
        problems.extend(verify_manifest(f))
    return problems


def read_truth_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``truth.csv`` into column arrays (strings for object/role/phase, floats else)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    cols = list(zip(*body, strict=True)) if body else [()] * len(header)
    out = {}
    for name, col in zip(header, cols, strict=True):
        if name in ("object", "role", "phase"):
            out[name] = np.array(col, dtype=str)
        else:
            out[name] = np.array(col, dtype=float)
    return out
