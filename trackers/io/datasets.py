"""Synthetic datasets under ``data/synthetic/<id>/``: generate deterministically, verify.

Each dataset folder holds the scenario file it was made from, the truth and events tables,
and ``MANIFEST.json`` with a SHA-256 per file and the generator's name and version.
``trackers data generate`` rebuilds them bit for bit on the same platform; across platforms
floating-point results may differ in the last digits, so tests compare regenerated data with
the committed copy numerically (see ``tests/test_datasets.py``).
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trackers import __version__
from trackers.io.manifest import verify_manifest, write_manifest


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


def _spec(dataset_id: str) -> DatasetSpec:
    for d in DATASETS:
        if d.id == dataset_id:
            return d
    raise KeyError(f"unknown dataset {dataset_id!r}; known: {[d.id for d in DATASETS]}")


def generate(spec: DatasetSpec, folder: str | Path) -> Path:
    """Write one dataset into ``folder`` (created; must not hold other files)."""
    from trackers.sim import load_scenario, simulate

    folder = Path(folder)
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


def generate_all(root: str | Path, only: Iterable[str] | None = None) -> list[Path]:
    """Regenerate datasets under ``root``; each is built in a temporary folder then swapped in."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    specs = [_spec(i) for i in only] if only else list(DATASETS)
    done = []
    for spec in specs:
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            built = generate(spec, Path(tmp) / spec.id)
            dest = root / spec.id
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(built), dest)
        done.append(dest)
    return done


def verify_all(root: str | Path) -> list[str]:
    """Manifest problems across every dataset folder under ``root`` (empty = all verify)."""
    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
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
