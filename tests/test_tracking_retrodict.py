"""Late reports in the multi-object tracker (``delivery="retrodict"``): where each enters the
scan sequence, and what retrodicting them into the tracks buys against dropping them."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from synthetic_radar import KEPLER_EARTH, late_detections, test_radar

from trackers.metrics.tracking import score
from trackers.sensors import observe
from trackers.sensors.synthetic import kepler_flight
from trackers.tracking import ScanSequence, naive, preset, track
from trackers.tracking.scans import _drop_out_of_sequence


def _processing_order(seq: ScanSequence, run: int) -> list[tuple[float, float, bool]]:
    """(t_meas, t_arrival, late) of run ``run``'s used reports in processing order."""
    out = []
    for sc in seq.iter_runs(run, run + 1):
        for m in np.flatnonzero(sc.valid[0]):
            out.append((sc.t, float(sc.t_arrival[0, m]), sc.late))
    return out


def test_late_reports_enter_where_they_reach_the_consumer():
    """Each late report is processed after exactly the in-sequence reports of its run that
    arrived before it (a per-run oracle on the report list), and every report is used once.
    (Radars send one message per scan and run, as the simulator does; with one arrival per
    report a scan's reports could straddle a late one, which whole scans cannot follow.)"""
    det = late_detections(0)
    seq = ScanSequence(det, (3, 3), delivery="retrodict")
    oos = _drop_out_of_sequence(det)
    assert seq.late_reports == int(oos.sum()) > 20
    for r in range(det.runs):
        order = _processing_order(seq, r)
        mine = det.run == r
        assert sorted((a, b) for a, b, _ in order) == sorted(
            zip(det.t_meas[mine], det.t_arrival[mine], strict=True)
        )
        for i, (td, ta, late) in enumerate(order):
            if not late:
                continue
            before = [b for _, b, lt in order[:i] if not lt]
            after = [(a, b) for a, b, lt in order[i + 1 :] if not lt]
            assert all(b <= ta for b in before)
            assert all(b > ta for _, b in after)
            # and the report is behind its own scan: measured before what precedes it
            assert any(a > td for a, _, lt in order[:i] if not lt)


def test_regular_scans_are_the_drop_delivery_and_received_marks_missing_messages():
    det = late_detections(1)
    retro = ScanSequence(det, (3, 3), delivery="retrodict")
    drop = ScanSequence(det, (3, 3), delivery="drop")
    regular = [sc for sc in retro if not sc.late]
    assert len(regular) == len(drop) == len(retro)
    for a, b in zip(regular, drop, strict=True):
        np.testing.assert_array_equal(a.valid, b.valid)
        # received: the run sent nothing in this scan, or its message is used
        sent = np.isfinite(b.t_arrival).any(axis=1)
        np.testing.assert_array_equal(b.received, ~sent | b.valid.any(axis=1))
    assert not all(sc.received.all() for sc in drop)
    assert all(sc.received.all() for sc in ScanSequence(det, (3, 3)))  # ideal: all delivered
    late = [sc for sc in retro if sc.late]
    assert len(late) == retro.late_scans
    assert sum(int(sc.valid.sum()) for sc in late) == retro.late_reports


def _two_radars(latency_b: float, a_sees: bool = True, seed: int = 3, runs: int = 6):
    fl = kepler_flight(lat_deg=39.0, lon_deg=125.8, separations=(), duration_s=200.0)
    if a_sees:
        a = test_radar(id="a", revisit=2.0)
    else:  # a radar facing elsewhere, reporting only clutter (with no latency)
        a = test_radar(id="a", lat=math.radians(45.0), lon=math.radians(150.0),
                       max_range=1.2e6, false_alarms_per_scan=3.0, revisit=1.0)  # fmt: skip
    b = test_radar(id="b", lat=math.radians(37.0), lon=math.radians(129.0), revisit=3.0)
    det = observe(fl, [a, b], None, np.random.default_rng(seed), runs=runs, clutter=not a_sees)
    det = replace(det, t_arrival=det.t_meas + np.where(det.sensor_index == 1, latency_b, 0.0))
    return fl, [a, b], det


@pytest.mark.parametrize("name", ["naive", "separation-aware"])
def test_retrodiction_recovers_the_late_reports_dropping_them_loses(name):
    """Radar b's reports arrive 2.5 s late, behind radar a's: dropping them doubles the
    position variance and raises GOSPA by ~40 %; retrodiction uses every one and comes within
    5 % of processing every report in measurement order (the ideal)."""
    fl, radars, det = _two_radars(2.5)
    cfg = (naive(earth=KEPLER_EARTH, association="gnn", confirm_m=2) if name == "naive"
           else preset(name, earth=KEPLER_EARTH))  # fmt: skip
    epochs = np.arange(20.0, 200.0, 5.0)
    out = {}
    for mode in ("ideal", "drop", "retrodict"):
        res = track(ScanSequence.from_detections(det, radars, delivery=mode), radars, cfg,
                    epochs=epochs)  # fmt: skip
        m = score(res.log, fl, det, tracker=name)
        conf = res.log.status == 2
        tr = float(np.mean(np.trace(res.log.P[conf][:, :3, :3], axis1=1, axis2=2)))
        out[mode] = (m["gospa_mean_m"], tr, res)
    late = out["retrodict"][2]
    assert late.late_reports > 400 and late.late_used == late.late_reports
    assert out["retrodict"][0] < 1.05 * out["ideal"][0]
    assert out["drop"][0] > 1.25 * out["retrodict"][0]
    assert out["retrodict"][1] < 1.1 * out["ideal"][1] and out["drop"][1] > 1.6 * out["ideal"][1]


def test_a_radar_whose_reports_all_arrive_late_still_starts_tracks():
    """Radar a (clutter only, no latency) is ahead of radar b (the object, 5 s late) on every
    scan: with ``drop`` no report of b is ever used and the object is never tracked; with
    ``retrodict`` late reports start tracks and the object is tracked as well as in the ideal."""
    fl, radars, det = _two_radars(5.0, a_sees=False, seed=4)
    cfg = preset("separation-aware", earth=KEPLER_EARTH)
    epochs = np.arange(20.0, 200.0, 5.0)
    m = {}
    for mode in ("ideal", "drop", "retrodict"):
        res = track(ScanSequence.from_detections(det, radars, delivery=mode), radars, cfg,
                    epochs=epochs)  # fmt: skip
        m[mode] = score(res.log, fl, det, tracker="sa")
    assert m["drop"]["gospa_missed_m"] > 1e4  # the object is missed at every epoch
    assert m["retrodict"]["gospa_missed_m"] == m["ideal"]["gospa_missed_m"] == 0.0
    assert m["retrodict"]["gospa_mean_m"] < 1.1 * m["ideal"]["gospa_mean_m"]
    # (radar a's clutter makes the odd false track in every delivery alike)
    assert m["retrodict"]["false_tracks_per_run"] <= m["ideal"]["false_tracks_per_run"]


def test_retrodicting_tracker_is_independent_of_the_chunking():
    _, radars, det = _two_radars(2.5, runs=3)
    seq = ScanSequence.from_detections(det, radars, delivery="retrodict")
    cfg = preset("separation-aware", earth=KEPLER_EARTH)
    epochs = np.arange(20.0, 200.0, 10.0)
    a = track(seq, radars, cfg, epochs=epochs)
    b = track(seq, radars, cfg, epochs=epochs, chunk=1)
    np.testing.assert_array_equal(a.log.track, b.log.track)
    np.testing.assert_allclose(a.log.x, b.log.x, rtol=1e-12, atol=1e-6)
    assert (a.late_reports, a.late_used) == (b.late_reports, b.late_used)


# ---------------------------------------------------------------------------- range-rate
def _prior_with_range_rate(rate: float, sigma_rr: float = 2.0):
    """Two-point prior of a track 1500 km from a range-rate radar, with and without the
    second report's range-rate; the object flies 3 km/s, 1 km/s of it along the sight line."""
    from trackers.tracking.tracker import _Sensor, _Tracker

    rad = test_radar(measures_range_rate=True, sigma_range_rate=sigma_rr)
    sen = _Sensor.of(rad)
    tr = _Tracker(preset("separation-aware", init_range_rate=True), [sen], 1)
    site = np.asarray(rad.site_ecef)
    up = site / np.linalg.norm(site)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    los = np.cos(0.3) * east + np.sin(0.3) * up
    r2 = site + 1.5e6 * los
    v = 1e3 * los + 2.8e3 * np.cross(up, east)  # 1 km/s along the sight line
    r1 = r2 - 2.0 * v
    z = rad.measurement_model().measure(np.r_[r2, v])[None]
    z[0, 3] = rate if np.isfinite(rate) else np.nan
    C = np.broadcast_to(np.diag([1e6, 4e6, 4e6]), (1, 3, 3))
    args = (r1[None], C, r2[None], C, np.array([2.0]))
    with_rr = tr.est.gaussian(tr._prior(*args, (z, sen)))
    without = tr.est.gaussian(tr._prior(*args))
    return with_rr, without, los, v


def test_two_point_prior_takes_the_range_rate_of_a_radar_that_measures_it():
    g, g0, los, _ = _prior_with_range_rate(1e3 + 3.0)  # measured 3 m/s off the truth
    var = los @ g.cov[0, 3:6, 3:6] @ los
    var0 = los @ g0.cov[0, 3:6, 3:6] @ los
    # the sight-line velocity: ~900 m/s 1-sigma -> ~4 m/s (the radar's 2 m/s and the rate's
    # dependence on the position, |v_perp| / rho x 2 km cross-range = 3.7 m/s)
    assert var0 > 1e5 and var < 5.0**2
    assert abs(los @ g.mean[0, 3:6] - (1e3 + 3.0)) < 0.5  # it follows the measured rate
    np.testing.assert_allclose(g.mean[0, :3], g0.mean[0, :3], atol=10.0)  # position (km sigma)
    # negative case: a report without a range-rate (NaN) leaves the prior as it was
    g_nan, g0_nan, *_ = _prior_with_range_rate(np.nan)
    np.testing.assert_array_equal(g_nan.mean, g0_nan.mean)
    np.testing.assert_array_equal(g_nan.cov, g0_nan.cov)


def test_a_late_window_holds_late_reports_to_the_end_of_their_arrival_window():
    """With ``late_window=W`` a late report arriving in [k W, (k + 1) W) is processed after
    every in-sequence report of its run that arrived before it (never too early) and before
    the first in-sequence report measured at or after (k + 1) W; late scans merge."""
    det = late_detections(2)
    exact = ScanSequence(det, (3, 3), delivery="retrodict")
    W = 4.0
    held = ScanSequence(det, (3, 3), delivery="retrodict", late_window=W)
    assert held.late_reports == exact.late_reports
    assert held.late_scans < exact.late_scans
    for r in range(det.runs):
        order = _processing_order(held, r)
        for i, (_, ta, late) in enumerate(order):
            if not late:
                continue
            end = (np.floor(ta / W) + 1.0) * W
            # before it: what had arrived by then, or was measured before the window's end
            assert all(b <= ta or a < end for a, b, lt in order[:i] if not lt)
            # after it: arrived after it (nothing it should have seen) and measured from the
            # window's end on (held no longer than that)
            assert all(b > ta and a >= end for a, b, lt in order[i + 1 :] if not lt)
    with pytest.raises(ValueError, match="late_window"):
        ScanSequence(det, (3, 3), delivery="retrodict", late_window=-1.0)
