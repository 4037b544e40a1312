"""The committed synthetic datasets verify and regenerate to the same numbers."""

from pathlib import Path

import numpy as np
import pytest

from trackers.io.datasets import DATASETS, generate, read_truth_csv, verify_all
from trackers.sensors import Detections

ROOT = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def test_every_dataset_is_committed_and_verifies():
    assert {d.id for d in DATASETS} <= {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert verify_all(ROOT) == []


def test_tampering_is_detected(tmp_path):
    spec = DATASETS[-1]
    folder = generate(spec, tmp_path / spec.id)
    assert verify_all(tmp_path) == []
    with open(folder / "events.csv", "a") as fh:
        fh.write("0.0,rv,impact,\n")
    assert any("sha256 differs" in p for p in verify_all(tmp_path))


@pytest.mark.parametrize("spec", [d for d in DATASETS if d.id == "hokkaido-2023"], ids=str)
def test_regenerated_dataset_matches_committed_copy(spec, tmp_path):
    fresh = generate(spec, tmp_path / spec.id)
    old = ROOT / spec.id
    assert (fresh / "scenario.toml").read_text() == (old / "scenario.toml").read_text()
    a, b = read_truth_csv(fresh / "truth.csv"), read_truth_csv(old / "truth.csv")
    assert list(a) == list(b)
    for col in ("object", "role", "phase"):
        np.testing.assert_array_equal(a[col], b[col])
    # Tolerances that survive platform differences in libm / BLAS: sub-metre positions.
    np.testing.assert_allclose(a["t_s"], b["t_s"], atol=1e-6)
    for col in ("x_m", "y_m", "z_m", "alt_m"):
        np.testing.assert_allclose(a[col], b[col], atol=0.5, rtol=0)
    for col in ("vx_mps", "vy_mps", "vz_mps"):
        np.testing.assert_allclose(a[col], b[col], atol=1e-3, rtol=0)
    if (old / "detections.csv").exists():
        da, db = (
            Detections.from_csv(fresh / "detections.csv"),
            Detections.from_csv(old / "detections.csv"),
        )
        assert len(da) == len(db)
        np.testing.assert_allclose(da.t_meas, db.t_meas, atol=1e-6)
        np.testing.assert_allclose(da.z, db.z, atol=1e-3, equal_nan=True)
