"""Shared test fixtures for tracking tests: the Kepler Earth of
:func:`trackers.sensors.synthetic.kepler_flight`, a fine test radar facing it, a radar
measurement function for the compiled-kernel comparisons, and random detection tables."""

from __future__ import annotations

import math

import numpy as np

from trackers.earth.model import EarthModel
from trackers.models import RadarMeasurement
from trackers.sensors import Radar
from trackers.sensors.detections import Detections

#: The Earth of kepler_flight: point-mass gravity, not rotating, no air.
KEPLER_EARTH = EarthModel(gravity="point-mass", rotating=False, atmosphere="none")


def test_radar(**kw) -> Radar:
    """A 3000 km radar at 38.5N 130E with 30 m / 0.5 mrad noise, 2 s revisit, no clutter."""
    base = dict(id="r1", type="test", lat=math.radians(38.5), lon=math.radians(130.0),
                max_range=3e6, revisit=2.0, sigma_range=30.0, sigma_az=5e-4, sigma_el=5e-4,
                ref_snr=1e4, false_alarms_per_scan=0.0)  # fmt: skip
    base.update(kw)
    return Radar(**base)


test_radar.__test__ = False  # a factory, not a test


def radar_model(range_rate: bool) -> RadarMeasurement:
    """A radar measurement function at 35.5N 128.9E (30 m, 1.5 / 1 mrad[, 5 m/s])."""
    return RadarMeasurement(
        lat=0.62,
        lon=2.25,
        alt=100.0,
        sigma_range=30.0,
        sigma_azimuth=1.5e-3,
        sigma_elevation=1e-3,
        sigma_range_rate=5.0 if range_rate else None,
    )


def random_detections(rng: np.random.Generator, runs: int = 4, n: int = 300, t_end: float = 40.0,
                      mean_latency: tuple[float, float] = (2.0, 2.0),
                      per_message: bool = False) -> Detections:  # fmt: skip
    """n random reports of two radars ("a": scans every 2 s from 0, "b": every 3 s from 0.5 s)
    before ``t_end``, exponential latencies with the radars' means, one latency per report or
    (``per_message``) one per (run, radar, scan) message; z uniform, one truth tag."""
    sensors = ("a", "b")
    t_scan = {0: np.arange(0, t_end, 2.0), 1: np.arange(0.5, t_end, 3.0)}
    lat: dict[tuple[int, int, float], float] = {}
    rows = []
    for _ in range(n):
        s = int(rng.integers(2))
        t = float(rng.choice(t_scan[s]))
        r = int(rng.integers(runs))
        if not per_message or (r, s, t) not in lat:
            lat[r, s, t] = float(rng.exponential(mean_latency[s]))
        rows.append((r, s, t, t + lat[r, s, t]))
    rows.sort(key=lambda r: (r[0], r[3]))
    run, s_, tm, ta = (np.array(c) for c in zip(*rows, strict=True))
    z = np.column_stack([rng.uniform(1e5, 1e6, n), rng.uniform(0, 2 * np.pi, n),
                         rng.uniform(0, 1, n), np.full(n, np.nan)])  # fmt: skip
    return Detections(run=run.astype(np.int32), sensor_index=s_.astype(np.int16), t_meas=tm,
                      t_arrival=ta, z=z, origin_index=np.zeros(n, np.int32), sensors=sensors,
                      sensor_sigmas=np.ones((2, 4)), origins=("x",), runs=runs)  # fmt: skip


def late_detections(seed: int) -> Detections:
    """400 random reports of two radars over 60 s, one arrival per (run, scan) message: radar
    "a" 0.5 s late on average, radar "b" 3 s (many reports out of sequence)."""
    return random_detections(np.random.default_rng(seed), n=400, t_end=60.0,
                             mean_latency=(0.5, 3.0), per_message=True)  # fmt: skip
