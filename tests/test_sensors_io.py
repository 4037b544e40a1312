"""Detections table: CSV round trip, selections, summaries."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from trackers.sensors import (
    Detections,
    detection_counts,
    first_detection_times,
    first_detections,
    load_radars,
    observe,
)
from trackers.sensors.detections import CSV_COLUMNS
from trackers.sensors.synthetic import kepler_flight


@pytest.fixture(scope="module")
def det() -> Detections:
    fl = kepler_flight(separations=(60.0,), duration_s=400.0)
    radars = load_radars(["greenpine-north", "tpy2-kyogamisaki"])
    return observe(fl, radars, "linked-via-hub", np.random.default_rng(5), runs=2)


def test_csv_round_trip_is_exact(tmp_path: Path, det: Detections):
    p = tmp_path / "det.csv"
    det.to_csv(p)
    with open(p) as fh:
        header = next(csv.reader(fh))
    assert tuple(header[: len(CSV_COLUMNS)]) == CSV_COLUMNS
    back = Detections.from_csv(p)
    assert len(back) == len(det) and back.runs == det.runs
    np.testing.assert_array_equal(back.run, det.run)
    np.testing.assert_array_equal(back.t_meas, det.t_meas)
    np.testing.assert_array_equal(back.t_arrival, det.t_arrival)
    np.testing.assert_array_equal(back.z, det.z)  # NaN range-rate for Green Pine survives
    assert list(back.sensor) == list(det.sensor) and list(back.origin) == list(det.origin)
    np.testing.assert_array_equal(back.sigma, det.sigma)
    gp = back.for_sensors("greenpine-north")
    assert np.all(np.isnan(gp.z[:, 3]))
    with open(p) as fh:
        rows = list(csv.DictReader(fh))
    assert any(r["range_rate_mps"] == "" for r in rows)


def test_from_csv_errors_name_the_problem(tmp_path: Path):
    p = tmp_path / "bad.csv"
    p.write_text("run,sensor,t_meas_s\n0,a,1.0\n")
    with pytest.raises(ValueError, match="missing column"):
        Detections.from_csv(p)
    p.write_text(",".join(CSV_COLUMNS) + "\n0,a,x,1,1,1,1,,rv\n")
    with pytest.raises(ValueError, match="row 2"):
        Detections.from_csv(p)


def test_first_detections_and_counts(det: Detections):
    fd = first_detections(det)
    assert all(s in det.sensors and o in ("rv", "stage-1") for s, o in fd)
    for (s, o), t in fd.items():
        d = det.for_sensors(s)
        mine = np.array([o in lab.split("+") for lab in d.origin])
        assert t == d.t_meas[mine].min()
    per_run = first_detection_times(det, objects="rv")
    assert per_run.shape == (2,) and np.all(per_run >= min(v for (s, o), v in fd.items()))
    counts = detection_counts(det)
    assert sum(counts.values()) == len(det)
    with pytest.raises(ValueError, match="unknown sensor"):
        first_detection_times(det, sensors=["nope"])


def test_select_and_for_run(det: Detections):
    r1 = det.for_run(1)
    assert np.all(r1.run == 1) and len(r1) == int((det.run == 1).sum())
    with pytest.raises(ValueError, match="run"):
        det.for_run(5)
    clutter = det.select(det.is_clutter)
    assert set(clutter.origin) == {"clutter"}


def test_detections_shape_validation():
    with pytest.raises(ValueError, match="z must have shape"):
        Detections(run=np.zeros(2, np.int32), sensor_index=np.zeros(2, np.int16),
                   t_meas=np.zeros(2), t_arrival=np.zeros(2), z=np.zeros((2, 3)),
                   origin_index=np.zeros(2, np.int32), sensors=("a",),
                   sensor_sigmas=np.ones((1, 4)), origins=("rv",))  # fmt: skip
