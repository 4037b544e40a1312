"""2-D impact NEES (trackers.impact.consistency): ground error against a brute-force ECEF
construction, the chi-square band on synthetic Gaussian data (consistent, over- and
under-confident), and the tracker study (benchmarks/impact_nees.py) behind an opt-in switch."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2

from trackers.earth.model import WGS84_FULL
from trackers.earth.wgs84 import enu_rotation
from trackers.impact.consistency import ground_error, impact_nees, summarise_nees
from trackers.impact.predict import ImpactPrediction

LAT0, LON0 = np.radians(42.0), np.radians(137.5)  # Sea of Japan


def _pred(lat, lon, mean, cov, valid=None):
    lat = np.asarray(lat, float)
    n = lat.shape
    return ImpactPrediction(
        t_impact=np.zeros(n), lat=lat, lon=np.asarray(lon, float), mean_enu=np.asarray(mean),
        cov_ground=np.asarray(cov), valid=np.ones(n, bool) if valid is None else valid,
        time_to_go=np.zeros(n), t_var=np.zeros(n),
    )  # fmt: skip


def _true_point(d_enu):
    """Geodetic (lat, lon) of the surface point below p_0 + E' d (brute force in ECEF)."""
    p0 = WGS84_FULL.to_ecef(LAT0, LON0, 0.0)
    r = p0 + d_enu @ enu_rotation(LAT0, LON0)[:2, :]
    lat, lon, _ = WGS84_FULL.geodetic(r)
    return lat, lon


def test_ground_error_recovers_tangent_plane_offsets():
    rng = np.random.default_rng(0)
    d = rng.normal(0.0, 20e3, (50, 2))  # true offsets up to ~60 km
    m = rng.normal(0.0, 5e3, (50, 2))  # predicted means
    lat, lon = _true_point(d)
    pred = _pred(np.full(50, LAT0), np.full(50, LON0), m, np.broadcast_to(np.eye(2), (50, 2, 2)))
    e = ground_error(pred, lat, lon)
    # flat-Earth projection: |e - (d - m)| ~ s^3 / R^2 and the 1-3 m drop to the surface
    np.testing.assert_allclose(e, d - m, atol=5.0)
    invalid = pred._replace(valid=np.r_[False, np.ones(49, bool)])
    assert np.isnan(ground_error(invalid, lat, lon)[0]).all()
    with pytest.raises(TypeError, match="ImpactPrediction"):
        ground_error((1, 2), lat, lon)
    with pytest.raises(ValueError, match="lat_true"):
        ground_error(pred, np.full(50, 4.0), lon)


def _synthetic(scale, runs=100, times=6, seed=1):
    """NEES of predictions with covariance scale * C for errors drawn from N(0, C)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(times, 2, 2)) * 3e3
    c = a @ np.swapaxes(a, -1, -2) + np.eye(2) * 1e6  # (T, 2, 2) true covariances [m^2]
    err = np.einsum("tij,rtj->rti", np.linalg.cholesky(c), rng.standard_normal((runs, times, 2)))
    lat, lon = _true_point(err.reshape(-1, 2))
    pred = _pred(np.full(runs * times, LAT0), np.full(runs * times, LON0),
                 np.zeros((runs * times, 2)),
                 np.broadcast_to(scale * c, (runs, times, 2, 2)).reshape(-1, 2, 2))  # fmt: skip
    return impact_nees(pred, lat, lon).reshape(runs, times)


def test_consistent_gaussian_predictions_are_inside_the_band():
    s = summarise_nees(_synthetic(1.0))
    assert s.inside.all() and (s.side == 0).all()
    np.testing.assert_array_equal(s.n_runs, 100)
    np.testing.assert_allclose(s.band[0], chi2.ppf([0.025, 0.975], 200) / 100)
    # the 2-D NEES is chi2(2): mean 2, and 1 - exp(-x/2) is uniform
    v = _synthetic(1.0, runs=2000, times=1, seed=4).ravel()
    assert abs(v.mean() - 2.0) < 0.15


def test_overconfident_covariance_is_flagged_above_the_band():
    """Negative case: a ground covariance scaled by 0.25 (NEES x 4) is outside the band."""
    s = summarise_nees(_synthetic(0.25))
    assert not s.inside.any() and (s.side == 1).all()
    big = summarise_nees(_synthetic(4.0))  # too pessimistic: below the band
    assert not big.inside.any() and (big.side == -1).all()


def test_summary_counts_missing_runs_and_rejects_bad_input():
    v = _synthetic(1.0, runs=10, times=3)
    v[:4, 1] = np.nan  # 4 runs without an rv track at time 1
    v[:, 2] = np.nan  # none at time 2
    s = summarise_nees(v)
    np.testing.assert_array_equal(s.n_runs, [10, 6, 0])
    np.testing.assert_allclose(s.band[1], chi2.ppf([0.025, 0.975], 12) / 6)
    assert np.isnan(s.mean[2]) and np.isnan(s.band[2]).all() and not s.inside[2]
    assert s.side[2] == 0
    with pytest.raises(ValueError, match="runs, times"):
        summarise_nees(np.zeros(3))
    with pytest.raises(ValueError, match="prob"):
        summarise_nees(v, prob=1.5)


# The tracker study takes minutes (the separation-aware tracker on the whole flight): opt in
# with TRACKERS_SLOW_STUDIES=1 (long Monte Carlo studies otherwise live in benchmarks/).
@pytest.mark.skipif(
    os.environ.get("TRACKERS_SLOW_STUDIES") != "1", reason="set TRACKERS_SLOW_STUDIES=1"
)
def test_tracker_impact_nees_study_small():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from impact_nees import study

    out = study(runs=3, seed=0, ttg=(600.0, 120.0, 60.0))
    rows = {r["time_to_go_s"]: r for r in out["table"]}
    assert set(rows) == {600.0, 120.0, 60.0}
    for r in rows.values():
        assert r["runs_with_rv_track"] <= 3
    # close to impact the rv is tracked in every run and the prediction error is small
    assert rows[60.0]["runs_with_rv_track"] == 3
    assert rows[60.0]["rms_error_km"] < 5.0
    assert rows[60.0]["nees_mean"] is not None and rows[60.0]["nees_mean"] >= 0.0
