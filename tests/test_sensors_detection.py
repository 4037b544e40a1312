"""Detection statistics, clutter, measurement noise, unresolved objects, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trackers.earth import wgs84
from trackers.sensors import Radar, observe, swerling1_pd
from trackers.sensors.observation import swerling1_cell
from trackers.sensors.synthetic import kepler_flight, trajectory
from trackers.sim.truth import Flight

Z999 = stats.norm.ppf(0.9995)  # two-sided 99.9 %


def make_radar(**kw) -> Radar:
    base = dict(id="r1", type="test", lat=math.radians(38.0), lon=math.radians(128.0), alt=0.0,
                max_range=3e6, revisit=1.0, measures_range_rate=True, sigma_range=20.0,
                sigma_az=5e-4, sigma_el=7e-4, sigma_range_rate=3.0, ref_range=1e6,
                ref_snr=100.0, pfa=1e-4, range_cell=150.0, beamwidth=0.02)  # fmt: skip
    base.update(kw)
    return Radar(**base)


def static_flight(points: dict[str, np.ndarray], t_end: float = 200.0) -> Flight:
    """Objects fixed in ECEF at the given positions over [0, t_end]."""
    t = np.array([0.0, t_end])
    objs = []
    for oid, r in points.items():
        y = np.tile(np.r_[r, 0.0, 0.0, 0.0], (2, 1))
        role = "rv" if oid == "rv" else "stage-1"
        objs.append(trajectory(oid, role, None, "launch", t, y))
    return Flight("static", "2023-01-01T00:00:00Z", tuple(objs), ())


def point_at(rad: Radar, rng_m: float, az_deg: float = 30.0, el_deg: float = 20.0):
    return wgs84.aer_to_ecef(math.radians(az_deg), math.radians(el_deg), rng_m, rad.lat,
                             rad.lon, rad.alt)  # fmt: skip


def binomial_ok(k: int, n: int, p: float) -> bool:
    return abs(k / n - p) <= Z999 * math.sqrt(p * (1 - p) / n)


def test_empirical_pd_matches_swerling1_formula():
    # SNR = 3 at 1000 km for a 1 m^2 target ("stage" RCS 1): Pd = 1e-4^(1/4) = 0.1
    rad = make_radar(ref_snr=3.0, false_alarms_per_scan=0.0)
    fl = static_flight({"stage-1": point_at(rad, 1e6)})
    det = observe(fl, [rad], None, np.random.default_rng(1), runs=200, rcs={"stage": 1.0})
    n_scans = rad.scan_times(0.0, 200.0).size
    n, k = 200 * n_scans, len(det)
    pd = float(swerling1_pd(3.0, 1e-4))
    assert pd == pytest.approx(0.1)
    assert binomial_ok(k, n, pd)
    # negative case: forgetting the "1 +" (Pd = Pfa^(1/SNR)) is rejected by the same check
    assert not binomial_ok(k, n, 1e-4 ** (1 / 3.0))
    # R^-4 law: at half the range SNR is 16x -> Pd = 1e-4^(1/49)
    fl2 = static_flight({"stage-1": point_at(rad, 5e5)})
    det2 = observe(fl2, [rad], None, np.random.default_rng(2), runs=200, rcs={"stage": 1.0})
    assert binomial_ok(len(det2), n, float(swerling1_pd(48.0, 1e-4)))


def test_complex_amplitude_model_reproduces_swerling1_and_adds_powers():
    rng = np.random.default_rng(5)
    thr = -math.log(1e-4)
    n = 200_000
    p1, _ = swerling1_cell(np.array([[3.0, 0.0]]), rng, (n,))
    assert binomial_ok(int((p1 > thr).sum()), n, float(swerling1_pd(3.0, 1e-4)))
    p2, w = swerling1_cell(np.array([[3.0, 2.0]]), rng, (n,))
    # two unresolved Swerling-1 echoes: |y|^2 ~ (1 + 3 + 2) Exp(1)
    assert binomial_ok(int((p2 > thr).sum()), n, float(swerling1_pd(5.0, 1e-4)))
    assert not binomial_ok(int((p2 > thr).sum()), n, float(swerling1_pd(3.0, 1e-4)))
    np.testing.assert_allclose(w.mean(axis=0)[0], [3.0, 2.0], rtol=0.02)


def test_clutter_is_poisson_and_uniform_over_the_surveillance_volume():
    rad = make_radar(false_alarms_per_scan=3.0, min_range=1e5, max_range=8e5,
                     boresight_az=math.radians(350.0), half_width_az=math.radians(40.0),
                     el_min=math.radians(1.0), el_max=math.radians(60.0))  # fmt: skip
    far = point_at(rad, 2.9e6, az_deg=170.0, el_deg=5.0)  # outside the field of regard
    fl = static_flight({"rv": far})
    runs = 50
    det = observe(fl, [rad], None, np.random.default_rng(3), runs=runs)
    assert np.all(det.is_clutter) and det.origins[det.origin_index[0]] == "clutter"
    t = rad.scan_times(0.0, 200.0)
    counts = np.zeros((runs, t.size))
    np.add.at(counts, (det.run, np.searchsorted(t, det.t_meas)), 1)
    m = counts.size
    assert abs(counts.mean() - 3.0) <= Z999 * math.sqrt(3.0 / m)
    # dispersion index (m - 1) s^2 / lambda ~ chi2(m - 1) for Poisson counts
    d = (m - 1) * counts.var(ddof=1) / 3.0
    assert stats.chi2.ppf(0.0005, m - 1) < d < stats.chi2.ppf(0.9995, m - 1)
    z = det.z
    assert np.all((z[:, 0] >= 1e5) & (z[:, 0] <= 8e5))
    daz = np.angle(np.exp(1j * (z[:, 1] - rad.boresight_az)))
    assert np.all(np.abs(daz) <= rad.half_width_az + 1e-12)
    assert stats.kstest((z[:, 0] - 1e5) / 7e5, "uniform").pvalue > 1e-3
    assert (
        stats.kstest((daz + rad.half_width_az) / (2 * rad.half_width_az), "uniform").pvalue > 1e-3
    )
    el01 = (z[:, 2] - rad.el_min) / (rad.el_max - rad.el_min)
    assert stats.kstest(el01, "uniform").pvalue > 1e-3
    # negative case: the same test rejects a non-uniform (squared) sample
    assert stats.kstest(el01**2, "uniform").pvalue < 1e-3


def test_noise_standard_deviations_match_declared_sigmas():
    rad = make_radar(ref_snr=1e10, false_alarms_per_scan=0.0)
    x = point_at(rad, 7e5, az_deg=359.9)  # azimuth near the 0/2pi wrap
    fl = static_flight({"rv": x})
    det = observe(fl, [rad], None, np.random.default_rng(4), runs=100)
    truth = rad.measure(np.r_[x, 0.0, 0.0, 0.0])
    res = det.z - truth
    res[:, 1] = np.angle(np.exp(1j * res[:, 1]))
    assert len(det) == 100 * rad.scan_times(0, 200).size  # Pd ~ 1
    assert np.all((det.z[:, 1] >= 0) & (det.z[:, 1] < 2 * np.pi))
    s = res.std(axis=0, ddof=1)
    np.testing.assert_allclose(s, rad.sigmas, rtol=0.05)
    assert np.all(np.abs(res.mean(axis=0)) < Z999 * rad.sigmas / math.sqrt(len(det)))
    # negative case: a 10 % mis-declared sigma fails the 5 % check
    assert not np.allclose(s, 1.1 * rad.sigmas, rtol=0.05)
    np.testing.assert_allclose(det.sigma[0], rad.sigmas)
    assert det.noise_cov.shape == (len(det), 4, 4)


def test_three_component_radar_has_nan_range_rate():
    rad = make_radar(measures_range_rate=False, false_alarms_per_scan=1.0, ref_snr=1e6)
    fl = static_flight({"rv": point_at(rad, 5e5)})
    det = observe(fl, [rad], None, np.random.default_rng(0), runs=2)
    assert np.all(np.isnan(det.z[:, 3])) and np.isnan(det.sensor_sigmas[0, 3])


def test_unresolved_pair_gives_one_merged_detection_and_splits_when_apart():
    rad = make_radar(ref_snr=1e6, sigma_range=1.0, false_alarms_per_scan=0.0)
    a, b = point_at(rad, 7e5), point_at(rad, 7e5 + 60.0)  # same line of sight, 60 m apart
    det = observe(static_flight({"rv": a, "stage-1": b}), [rad], None, 7, runs=20)
    assert set(det.origin) == {"rv+stage-1"}
    assert len(det) == 20 * rad.scan_times(0, 200).size  # one detection per scan, not two
    # power-weighted centroid lies between the two ranges, and moves with the RCS ratio
    assert np.all((det.z[:, 0] > 7e5 - 5) & (det.z[:, 0] < 7e5 + 65))
    heavy = observe(static_flight({"rv": a, "stage-1": b}), [rad], None, 7, runs=20,
                    rcs={"rv": 0.01, "stage": 10.0})  # fmt: skip
    assert heavy.z[:, 0].mean() > 7e5 + 50.0
    # apart in range (>= range cell): resolved, two detections per scan
    far = observe(static_flight({"rv": a, "stage-1": point_at(rad, 7e5 + 500.0)}), [rad],
                  None, 7, runs=5)  # fmt: skip
    assert set(far.origin) == {"rv", "stage-1"}
    # apart in angle (> beamwidth) at the same range: resolved
    c = point_at(rad, 7e5, az_deg=32.0)
    ang = observe(static_flight({"rv": a, "stage-1": c}), [rad], None, 7, runs=5)
    assert set(ang.origin) == {"rv", "stage-1"}
    # merging switched off: two detections
    off = observe(static_flight({"rv": a, "stage-1": b}), [rad], None, 7, runs=5, merge=False)
    assert set(off.origin) == {"rv", "stage-1"}


def test_stage_separation_pair_is_merged_first_then_split():
    # RV and spent stage separate at t = 60 s with 2 m/s relative velocity; a fine X-band cell
    # (15 m x 3.5 mrad) cannot resolve them for the first ~7 s.
    fl = kepler_flight(separations=(60.0,), separation_dv=2.0, duration_s=200.0)
    rad = make_radar(lat=math.radians(38.5), lon=math.radians(127.5), range_cell=15.0,
                     beamwidth=3.5e-3, ref_snr=1e6, sigma_range=1.0, revisit=0.5,
                     false_alarms_per_scan=0.0)  # fmt: skip
    det = observe(fl, [rad], None, np.random.default_rng(9), runs=1)
    o, t = det.origin, det.t_meas
    merged_t = t[o == "rv+stage-1"]
    assert merged_t.size > 0 and merged_t.min() == pytest.approx(60.0, abs=0.51)
    split_t = np.intersect1d(t[o == "rv"], t[o == "stage-1"])
    assert split_t.size > 0 and split_t.min() > merged_t.max()

    def d_range(tt):
        return abs(rad.measure(fl.object("rv").state_at(tt))[0]
                   - rad.measure(fl.object("stage-1").state_at(tt))[0])  # fmt: skip

    # merged while |dR| < range cell (the angle is far below the beamwidth here), split after
    assert all(d_range(tt) < 15.0 for tt in merged_t)
    assert d_range(split_t.min()) >= 15.0
    rv_after = t[(o == "rv") & (t >= 60.0)]
    assert np.all(rv_after > merged_t.max())


def test_same_seed_same_output_and_runs_axis():
    fl = kepler_flight(separations=(60.0, 90.0), duration_s=300.0)
    rads = [
        make_radar(false_alarms_per_scan=2.0),
        make_radar(id="r2", lat=math.radians(36.0), revisit=2.0, revisit_phase=0.5),
    ]
    d1 = observe(fl, rads, None, np.random.default_rng(42), runs=7)
    d2 = observe(fl, rads, None, np.random.default_rng(42), runs=7)
    for f in ("run", "sensor_index", "t_meas", "t_arrival", "z", "origin_index"):
        np.testing.assert_array_equal(getattr(d1, f), getattr(d2, f))
    d3 = observe(fl, rads, None, np.random.default_rng(43), runs=7)
    assert len(d3) != len(d1) or not np.array_equal(d1.z, d3.z)
    assert set(np.unique(d1.run)) == set(range(7)) and np.all(np.diff(d1.run) >= 0)
    # chunking changes the draw layout but not the statistics
    d4 = observe(fl, rads, None, np.random.default_rng(42), runs=7, chunk_runs=3)
    assert abs(len(d4) - len(d1)) < 6 * math.sqrt(len(d1))


def test_observe_rejects_bad_arguments():
    fl = kepler_flight(separations=(), duration_s=100.0)
    rad = make_radar()
    with pytest.raises(TypeError, match="rng"):
        observe(fl, [rad], None, None)
    with pytest.raises(ValueError, match="runs"):
        observe(fl, [rad], None, 1, runs=0)
    with pytest.raises(ValueError, match="duplicate"):
        observe(fl, [rad, rad], None, 1)
    with pytest.raises(ValueError, match="RCS"):
        observe(fl, [rad], None, 1, rcs={"stage": 1.0})
    with pytest.raises(ValueError, match="does not report"):
        observe(fl, [rad], "japan-only", 1)


def test_split_runs_are_bit_identical_to_one_call():
    from trackers.sensors import load_radars

    fl = kepler_flight(separations=(60.0,), duration_s=300.0)
    rads = load_radars(["greenpine-north", "tpy2-shariki"])
    whole = observe(fl, rads, "linked-via-hub", 11, runs=12, chunk_runs=4)
    part = observe(fl, rads, "linked-via-hub", 11, runs=4, chunk_runs=4, first_run=8)
    assert len(part) > 100
    tail = whole.select(whole.run >= 8)
    assert part.runs == 12 and np.all(part.run >= 8)
    for f in ("run", "t_meas", "t_arrival", "z", "origin_index"):
        np.testing.assert_array_equal(getattr(part, f), getattr(tail, f))
    with pytest.raises(ValueError, match="first_run"):
        observe(fl, rads, None, 11, runs=4, chunk_runs=4, first_run=3)


@pytest.mark.parametrize("snr", [0.5, 5.0, 50.0])
def test_pd_curve_over_snr(snr):
    # a 1 m^2 target at 1000 km with mean SNR `snr`; 100 runs x 201 scans
    rad = make_radar(ref_snr=snr, false_alarms_per_scan=0.0, pfa=1e-6)
    fl = static_flight({"stage-1": point_at(rad, 1e6)})
    det = observe(fl, [rad], None, np.random.default_rng(int(snr * 10)), runs=100,
                  rcs={"stage": 1.0})  # fmt: skip
    assert binomial_ok(len(det), 100 * 201, float(swerling1_pd(snr, 1e-6)))


def test_no_visible_object_gives_an_empty_table():
    fl = kepler_flight(separations=(), duration_s=100.0)
    rad = make_radar(lat=-0.5, lon=0.0, max_range=1e5)
    det = observe(fl, [rad], None, 1, runs=3, clutter=False)
    assert len(det) == 0 and det.runs == 3 and det.z.shape == (0, 4)


def test_rv_object_has_the_stack_rcs_until_its_last_separation():
    """Before its last separation the ``rv`` object is the whole stack (coasts between
    stages, burnout -> separation delay): it gets the "boost" RCS, not the bare RV's.

    A zero-RCS RV makes the switch visible: detections of ``rv`` only before separation.
    Negative case: without the stack time, rcs_of gives the bare RV's RCS throughout.
    """
    from trackers.sensors.observation import rcs_of, stack_end

    fl = kepler_flight(separations=(100.0,), duration_s=200.0)
    rv = fl.object("rv")
    assert stack_end(fl, rv) == pytest.approx(100.0) and stack_end(fl, fl.object("stage-1")) < 0
    table = {"boost": 10.0, "rv": 0.0, "stage": 1.0}
    rad = make_radar(ref_snr=1e4, false_alarms_per_scan=0.0)
    det = observe(fl, [rad], None, np.random.default_rng(8), runs=5, rcs=table, merge=False)
    t_rv = det.t_meas[det.origin == "rv"]
    assert t_rv.size > 100 and t_rv.max() < 100.0
    t = np.array([50.0, 99.9, 100.0, 150.0])
    assert rcs_of(rv, t, table, 100.0).tolist() == [10.0, 10.0, 0.0, 0.0]
    assert rcs_of(rv, t, table).tolist() == [0.0] * 4


def test_run_blocks_computed_apart_concatenate_to_the_whole_study():
    """concatenate() of first_run blocks (any order) equals one call: rows, order and runs.

    It used to keep parts[0].runs (8 here, so run 10 was 'outside [0, 8)') and accepted
    tables with other code tables, whose sensor/origin indices it then misread.
    """
    from trackers.sensors import load_radars
    from trackers.sensors.detections import concatenate

    fl = kepler_flight(separations=(60.0,), duration_s=300.0)
    rads = load_radars(["greenpine-north", "tpy2-shariki"])
    whole = observe(fl, rads, "linked-via-hub", 11, runs=12, chunk_runs=4)
    a = observe(fl, rads, "linked-via-hub", 11, runs=8, chunk_runs=4)
    b = observe(fl, rads, "linked-via-hub", 11, runs=4, chunk_runs=4, first_run=8)
    for parts in ([a, b], [b, a]):
        cat = concatenate(parts)
        assert cat.runs == 12 and cat.meta["first_run"] == 0 and len(cat.for_run(10)) > 0
        for f in ("run", "sensor_index", "t_meas", "t_arrival", "z", "origin_index"):
            np.testing.assert_array_equal(getattr(cat, f), getattr(whole, f))
    other = observe(fl, rads[::-1], "linked-via-hub", 11, runs=4, chunk_runs=4, first_run=8)
    with pytest.raises(ValueError, match="sensors"):
        concatenate([a, other])
