"""Stone Soup MultiTargetTracker baseline on our detections (baselines.stonesoup_tracker)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import chi2

pytest.importorskip("stonesoup")

from stonesoup.types.state import State
from synthetic_radar import KEPLER_EARTH, test_radar

from trackers.baselines import stonesoup_tracker as sst
from trackers.baselines.stonesoup_adapters import from_stonesoup_z
from trackers.models import Ballistic
from trackers.sensors import observe
from trackers.sensors.synthetic import kepler_flight
from trackers.sim.truth import Flight


def _two_objects(duration: float = 240.0) -> Flight:
    """Two coasting objects ~120 km apart at launch, on different headings."""
    a = kepler_flight(lat_deg=39.0, lon_deg=125.8, separations=(), duration_s=duration)
    b = kepler_flight(lat_deg=40.0, lon_deg=126.6, azimuth_deg=95.0, separations=(),
                      duration_s=duration)  # fmt: skip
    other = replace(b.objects[0], id="stage-1", role="stage-1")
    return Flight("two-objects", a.epoch_utc, (a.objects[0], other), a.events)


@pytest.fixture(scope="module")
def two_object_case():
    fl = _two_objects()
    rad = test_radar()
    det = observe(fl, [rad], None, np.random.default_rng(3), runs=1, clutter=False)
    cfg = sst.StoneSoupMTTConfig(motion=Ballistic(earth=KEPLER_EARTH, q=1.0))
    return fl, rad, det, sst.run_stonesoup_mtt(det, [rad], 0, config=cfg)


# ---------------------------------------------------------------------------- models
@pytest.mark.parametrize("with_rr", [False, True])
def test_measurement_models_reproduce_our_radar(with_rr):
    """Stone Soup's (el, bearing, range[, range-rate]) of our sites equals our h(x)."""
    rad = test_radar(measures_range_rate=with_rr, sigma_range_rate=2.0)
    cfg = sst.StoneSoupMTTConfig(use_range_rate=True)
    (model,) = sst.measurement_models([rad], cfg)
    assert model.ndim_meas == (4 if with_rr else 3)
    ours = rad.measurement_model()
    rng = np.random.default_rng(1)
    for _ in range(10):
        x = np.r_[rad.site_ecef + rng.normal(size=3) * 4e5, rng.normal(size=3) * 3e3]
        zs = np.asarray(model.function(State(x[:, None])), float).ravel()
        z = ours.measure(x)
        np.testing.assert_allclose(from_stonesoup_z(zs[:3]), z[:3], rtol=1e-12, atol=1e-12)
        if with_rr:
            np.testing.assert_allclose(zs[3], z[3], rtol=1e-10)
            # Stone Soup's analytic Jacobian vs ours, rows (el, -az, range, range-rate)
            h = ours.measure_with_jacobian(x)[1]
            mine = np.stack([h[2], -h[1], h[0], h[3]])
            np.testing.assert_allclose(model.jacobian(State(x[:, None])), mine, rtol=1e-8,
                                       atol=1e-12)  # fmt: skip
    sig = [rad.sigma_el, rad.sigma_az, rad.sigma_range] + ([2.0] if with_rr else [])
    np.testing.assert_allclose(np.sqrt(np.diag(model.covar())), sig)
    # range-rate switched off: the 3-D model even for a range-rate radar
    (m3,) = sst.measurement_models([rad])
    assert m3.ndim_meas == 3


def test_gate_is_chi_square_per_measurement_dimension():
    trk = sst.build_tracker(iter(()), sst.StoneSoupMTTConfig(gate_probability=0.999))
    hyp = trk.data_associator.hypothesiser
    for m in (3, 4):
        # the Mahalanobis distance (not squared) is gated: gamma^2 = chi2_m quantile
        assert hyp.gates[m] ** 2 == pytest.approx(chi2.ppf(0.999, m), rel=1e-12)
    assert hyp.gates[4] > hyp.gates[3] > 3.0
    assert trk.initiator.data_associator is trk.data_associator
    # one scan = one radar: a mix of 3-D and 4-D reports is refused
    from stonesoup.types.detection import Detection
    from stonesoup.types.track import Track

    rad = test_radar(measures_range_rate=True, sigma_range_rate=2.0)
    m4 = sst.measurement_models([rad], sst.StoneSoupMTTConfig(use_range_rate=True))[0]
    m3 = sst.measurement_models([rad])[0]
    x = np.r_[rad.site_ecef + 3e5, 1e3, 0.0, 0.0]
    ts = sst.SCENARIO_EPOCH
    dets = {Detection(m.function(State(x[:, None])), ts, measurement_model=m) for m in (m3, m4)}
    track = Track([sst.build_tracker(iter(())).initiator.prior_state])
    with pytest.raises(ValueError, match="mixes measurement dimensions"):
        hyp.hypothesise(track, dets, ts)


# ---------------------------------------------------------------------------- two objects
def test_two_separated_objects_give_exactly_two_accurate_tracks(two_object_case):
    fl, _, det, res = two_object_case
    assert res.n_reports == len(det) and res.n_tracks == 2
    assert res.n_scans == np.unique(det.t_meas).size
    assert np.all(np.isnan(res.t_deleted))  # both alive to the end
    assert np.all(res.t_confirmed <= 20.0)  # 3 updates within the first scans
    origin = det.origin
    for k in range(2):
        rows = np.flatnonzero(res.track == k)
        assert np.all(np.diff(res.t[rows]) >= 0)
        used = res.report[rows][res.report[rows] >= 0]
        assert used.size > 0.8 * res.n_scans  # updated at most scans
        owner = set(origin[used])
        assert len(owner) == 1  # every update from one object
        last = rows[-1]
        truth = fl.object(owner.pop()).state_at(res.t[last])
        err = np.linalg.norm(res.x[last, :3] - truth[:3])
        assert err < 300.0
        assert res.t[last] == pytest.approx(det.t_meas.max())
        np.testing.assert_allclose(res.P_diag[last], np.diag(res.P[last]))
    # each report is used at most once
    used = res.report[res.report >= 0]
    assert np.unique(used).size == used.size
    # times come back from datetime exactly (scan times are multiples of 1 us)
    assert set(np.unique(res.t)) <= set(np.unique(det.t_meas))


def test_same_input_same_tracks(two_object_case):
    _, rad, det, res = two_object_case
    again = sst.run_stonesoup_mtt(det, [rad], 0, config=res.config)
    for f in ("track", "t", "x", "P", "report", "t_born", "t_confirmed"):
        np.testing.assert_array_equal(getattr(again, f), getattr(res, f))


def test_track_log_snapshots(two_object_case):
    fl, rad, det, res = two_object_case
    epochs = np.arange(0.0, 260.0, 10.0)
    log = sst.to_track_log(res, epochs)
    assert log.runs == 1 and log.n_rows > 0
    assert np.all(log.t <= log.epoch)
    during = log.epoch <= res.t_end  # within the data: a state at most one revisit old
    assert np.all(log.epoch[during] - log.t[during] < rad.revisit)
    assert np.all(log.t[~during] == res.t_end)  # after it: the last state, not deleted
    # both tracks live from their birth to the end of the data (+ 30 s grace)
    for k in range(2):
        ek = log.epoch[log.track == k]
        want = epochs[(epochs >= res.t_born[k]) & (epochs <= res.t_end + 30.0)]
        np.testing.assert_array_equal(ek, want)
    conf = res.t_confirmed[log.track]
    np.testing.assert_array_equal(log.status, np.where(log.epoch >= conf, 2, 1))
    assert np.all(log.parent == -1) and np.all(log.label == 0)
    # the snapshot is the latest state at or before the epoch (brute force)
    for i in range(log.n_rows):
        rows = np.flatnonzero((res.track == log.track[i]) & (res.t <= log.epoch[i]))
        np.testing.assert_array_equal(log.x[i], res.x[rows[-1]])
    # predicted to the epoch: t = epoch, and the state is close to the truth there
    pred = sst.to_track_log(res, epochs, predict=True)
    np.testing.assert_array_equal(pred.t, pred.epoch)
    late = pred.epoch >= 60.0
    tracks_obj = {}
    for k in range(2):
        used = res.report[(res.track == k) & (res.report >= 0)]
        tracks_obj[k] = det.origin[used[0]]
    err = [
        np.linalg.norm(pred.x[i, :3] - fl.object(tracks_obj[pred.track[i]]).state_at(pred.t[i])[:3])
        for i in np.flatnonzero(late & (pred.epoch <= res.t_end))
    ]
    assert max(err) < 500.0
    assert np.all(np.diagonal(pred.P, axis1=1, axis2=2) >= np.diagonal(log.P, axis1=1, axis2=2))


def test_latest_rows_matches_brute_force():
    rng = np.random.default_rng(5)
    track = np.repeat(np.arange(4), [3, 1, 5, 2])
    t = np.concatenate([np.sort(rng.uniform(0, 10, n)) for n in (3, 1, 5, 2)])
    qk, qt = rng.integers(0, 4, 50), rng.uniform(-1, 11, 50)
    got = sst._latest_rows(track, t, qk, qt)
    for i in range(50):
        ok = np.flatnonzero((track == qk[i]) & (t <= qt[i]))
        assert got[i] == (ok[-1] if ok.size else -1)


# ---------------------------------------------------------------------------- real scenario
def test_hokkaido_first_300_s_one_radar_gives_sane_tracks():
    """hokkaido-2023, run 0, 0-300 s, one GreenPine radar with clutter (kept small for speed)."""
    from trackers.sensors import sensors_for_scenario
    from trackers.sim import load_scenario, simulate

    sc = load_scenario("hokkaido-2023")
    fl = simulate(sc, rate_hz=10)
    radars, net = sensors_for_scenario(sc.sensors)
    det = observe(fl, radars, net, np.random.default_rng(0), runs=1)
    one = det.for_sensors("greenpine-north")
    res = sst.run_stonesoup_mtt(one, radars, 0, t_window=(0.0, 300.0))
    in_window = one.t_meas < 300.0
    assert res.n_reports == int(in_window.sum()) and res.n_reports > 100
    assert one.is_clutter[in_window].sum() > 30  # there is clutter to reject
    assert 2 <= res.n_tracks <= 40
    origin, clutter = one.origin, one.is_clutter
    used = res.report[res.report >= 0]
    assert np.unique(used).size == used.size
    assert clutter[used].mean() < 0.05  # tracks are built from object reports
    lengths = np.bincount(res.track[res.report >= 0], minlength=res.n_tracks)
    assert np.all(lengths >= 3)  # min_points updates before confirmation
    # the spent first stage (coasting) is held by one long track
    stage1 = [k for k in range(res.n_tracks)
              if np.mean(origin[res.report[(res.track == k) & (res.report >= 0)]] == "stage-1")
              > 0.9]  # fmt: skip
    assert any(lengths[k] >= 30 for k in stage1)
    assert np.all(res.t < 300.0) and res.wall_time_s > 0 and res.reports_per_second > 0
    log = sst.to_track_log(res, np.arange(0.0, 300.0, 5.0))
    assert log.n_rows > 0 and set(np.unique(log.status)) <= {1, 2}


# ---------------------------------------------------------------------------- bad input
def test_bad_input_is_rejected(two_object_case):
    _, rad, det, res = two_object_case
    with pytest.raises(ValueError, match="run = 1"):
        sst.run_stonesoup_mtt(det, [rad], 1)
    with pytest.raises(ValueError, match="no radar with id 'r1'"):
        sst.run_stonesoup_mtt(det, [test_radar(id="other")], 0)
    with pytest.raises(ValueError, match="sigmas"):
        sst.run_stonesoup_mtt(det, [test_radar(sigma_range=31.0)], 0)
    with pytest.raises(TypeError, match="Detections"):
        sst.run_stonesoup_mtt({"z": det.z}, [rad], 0)
    with pytest.raises(ValueError, match="t_window"):
        sst.run_stonesoup_mtt(det, [rad], 0, t_window=(5.0, 5.0))
    with pytest.raises(ValueError, match="gate_probability"):
        sst.StoneSoupMTTConfig(gate_probability=1.0)
    with pytest.raises(ValueError, match="delete_after"):
        sst.StoneSoupMTTConfig(delete_after=-30.0)
    with pytest.raises(ValueError, match="motion"):
        sst.StoneSoupMTTConfig(motion=Ballistic(drag_state=True))
    with pytest.raises(ValueError, match="epochs"):
        sst.to_track_log(res, [10.0, 5.0])
    with pytest.raises(ValueError, match="repeat"):
        sst.to_track_log([res, res], [10.0])
