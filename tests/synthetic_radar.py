"""Shared test fixtures for tracking tests: the Kepler Earth of
:func:`trackers.sensors.synthetic.kepler_flight`, a fine test radar facing it, and a radar
measurement function for the compiled-kernel comparisons."""

from __future__ import annotations

import math

from trackers.earth.model import EarthModel
from trackers.models import RadarMeasurement
from trackers.sensors import Radar

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
