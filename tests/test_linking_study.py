"""The radar-linking study: consumer times, the Korea-path latency override, a small table."""

import math

import numpy as np
import pytest

from trackers.linking_study import (
    KOREA_PATH,
    LINKED,
    TABLE_COLUMNS,
    LinkingConfig,
    consumer_times,
    format_table,
    linking_network,
    linking_study,
    same_reports,
    summarise_linking,
)
from trackers.sensors import observe, sensors_for_scenario
from trackers.sensors.links import Link, Network, load_network, with_path_latency
from trackers.sim import load_scenario, simulate
from trackers.tracking import ScanSequence

KOREAN = ("greenpine-north", "greenpine-south", "greenpine-busan")


# ------------------------------------------------------------------------------ consumer time
def _oracle(run, tm, ta, qr, qt):
    """Per-run loop: tau = max(t, max arrival of the run's reports measured at or before t)."""
    out = np.full(qt.shape, np.nan)
    for i, (r, t) in enumerate(zip(qr, qt, strict=True)):
        if np.isnan(t):
            continue
        sel = (run == r) & (tm <= t)
        out[i] = max(t, ta[sel].max()) if sel.any() else t
    return out


def test_consumer_times_match_a_per_run_loop():
    rng = np.random.default_rng(7)
    n = 400
    run = rng.integers(0, 5, n)  # run 5 has no report at all
    tm = np.round(rng.uniform(0, 100, n), 0)  # many ties in t_meas
    ta = tm + rng.exponential(4.0, n) * (rng.random(n) < 0.8)  # some zero latencies
    perm = rng.permutation(n)  # input order must not matter
    qr = rng.integers(0, 6, 300)
    qt = np.round(rng.uniform(-5, 110, 300), 0)
    qt[::17] = np.nan
    got = consumer_times(run[perm], tm[perm], ta[perm], qr, qt)
    want = _oracle(run, tm, ta, qr, qt)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(qt))
    np.testing.assert_array_equal(got, want)  # exact: no float key arithmetic
    ok = ~np.isnan(qt)
    assert np.all(got[ok] >= qt[ok])  # never earlier than the decision's measurement time
    # a late report (t_meas 50, arrival 80) holds back every later decision of its run
    late = consumer_times(np.array([0, 0, 1]), np.array([50.0, 60.0, 50.0]),
                          np.array([80.0, 61.0, 51.0]), np.array([0, 0, 0, 1]),
                          np.array([49.0, 55.0, 70.0, 70.0]))  # fmt: skip
    np.testing.assert_array_equal(late, [49.0, 80.0, 80.0, 70.0])


def test_consumer_times_reject_bad_reports():
    with pytest.raises(ValueError, match="arrival before measurement"):
        consumer_times(np.array([0]), np.array([5.0]), np.array([4.0]), np.array([0]),
                       np.array([6.0]))  # fmt: skip
    with pytest.raises(ValueError, match="1-D of one length"):
        consumer_times(np.array([0, 1]), np.array([5.0]), np.array([6.0]), np.array([0]),
                       np.array([6.0]))  # fmt: skip


# ---------------------------------------------------------------------- latency override
@pytest.fixture(scope="module")
def flight_radars():
    sc = load_scenario("hokkaido-2023")
    radars, net = sensors_for_scenario({"network": LINKED})
    return simulate(sc), radars, net


def test_with_path_latency_routes_only_the_korean_radars():
    net = load_network(LINKED)
    new = with_path_latency(net, KOREA_PATH, 7.0)
    assert new.consumer == net.consumer and new.radars == net.radars
    for r in net.radars:
        old_path, new_path = net.path(r), new.path(r)
        if r in KOREAN:
            chain = new_path[1:]
            assert [ln.target for ln in chain] == ["hub(korea)", "japan"]
            assert math.isclose(sum(ln.latency for ln in chain), 7.0)
            assert all(ln.jitter_scale == 0.0 for ln in chain)
            # same number and kinds of random draws as the preset path
            assert [ln.jitter for ln in new_path] == [ln.jitter for ln in old_path]
        else:  # the TPY-2s still go through the real hub with its own latency
            assert new_path == old_path


def test_changing_the_korea_latency_only_shifts_korean_arrivals(flight_radars):
    flight, radars, net = flight_radars
    det = {}
    for lat in (None, 0.0, 2.0, 10.0):  # None: the preset (2 + Exp(1) s per hub leg)
        n = net if lat is None else with_path_latency(net, KOREA_PATH, lat)
        det[lat] = observe(flight, radars, n, np.random.default_rng(3), runs=3)
    base = det[0.0]
    oa, _ = same_reports(base, base)
    korean = np.isin(np.asarray(base.sensors)[base.sensor_index[oa]], KOREAN)
    assert korean.any() and (~korean).any()
    for lat, d in det.items():
        oa, ob = same_reports(base, d)  # measurements, times, tags bit-identical
        shift = d.t_arrival[ob] - base.t_arrival[oa]
        if lat is None:
            assert np.all(shift[korean] > 4.0)  # the preset's two hub legs: >= 4 s
        else:
            np.testing.assert_allclose(shift[korean], lat, atol=1e-9)
        np.testing.assert_array_equal(shift[~korean], 0.0)
    # so the tracker, which reads scans in measurement order, gets identical scans
    sa = ScanSequence.from_detections(det[0.0], radars)
    sb = ScanSequence.from_detections(det[10.0], radars)
    np.testing.assert_array_equal(sa.times, sb.times)
    for i in range(0, len(sa), 7):
        a, b = sa.scan(i), sb.scan(i)
        assert a.sensor == b.sensor
        np.testing.assert_array_equal(a.z, b.z)
        np.testing.assert_array_equal(a.valid, b.valid)
        np.testing.assert_array_equal(a.origin, b.origin)


def test_same_reports_rejects_other_draws(flight_radars):
    flight, radars, net = flight_radars
    a = observe(flight, radars, net, np.random.default_rng(1), runs=2)
    b = observe(flight, radars, net, np.random.default_rng(2), runs=2)
    with pytest.raises(ValueError, match="differ"):
        same_reports(a, b)


def test_with_path_latency_rejects_bad_input():
    net = load_network(LINKED)
    with pytest.raises(ValueError, match="not node"):
        with_path_latency(net, ("korea", "moon"), 1.0)
    with pytest.raises(ValueError, match="no link 'korea' -> 'japan'"):
        with_path_latency(net, ("korea", "japan"), 1.0)
    with pytest.raises(ValueError, match="latency_s = -1"):
        with_path_latency(net, KOREA_PATH, -1.0)
    with pytest.raises(ValueError, match="at least two"):
        with_path_latency(net, ("korea",), 1.0)
    with pytest.raises(TypeError, match="Network"):
        with_path_latency("linked-via-hub", KOREA_PATH, 1.0)
    with pytest.raises(ValueError, match="applies to 'linked-via-hub' only"):
        linking_network("japan-only", 2.0)


def test_with_path_latency_single_link_in_place_and_jitter():
    net = Network("n", ("a", "b"), ("fps5-sado",), (
        Link("fps5-sado", "a", 0.5, "uniform", 0.5), Link("a", "b", 3.0, "exponential", 1.0)),
        consumer="b")  # fmt: skip
    new = with_path_latency(net, ("a", "b"), 4.0, jitter_s=2.0)
    assert new.nodes == net.nodes
    (hop,) = [ln for ln in new.links if ln.source == "a"]
    assert (hop.latency, hop.jitter, hop.jitter_scale) == (4.0, "exponential", 2.0)
    plain = Network("m", ("a", "b"), ("fps5-sado",), (
        Link("fps5-sado", "a", 0.5), Link("a", "b", 3.0)), consumer="b")  # fmt: skip
    with pytest.raises(ValueError, match="no link of path"):
        with_path_latency(plain, ("a", "b"), 1.0, jitter_s=1.0)


# -------------------------------------------------------------------------- a small table
def test_small_linking_table_is_monotone_in_latency():
    """One run of the onland case, reports up to 120 s (the first confirmed track comes from
    the Korean radars at ~30 s): consumer times never decrease with the Korean latency."""
    cfg = LinkingConfig(runs=1, seed=0, scenarios=("hokkaido-2023-onland",),
                        networks=(LINKED, "japan-only"), systems=("naive",),
                        buffer_systems=("naive",), latencies_s=(0.0, 2.0, 5.0, 10.0),
                        t_end_s=120.0, jobs=1)  # fmt: skip
    res = linking_study(cfg)
    exact = sorted((r for r in res if r.network == LINKED and r.delivery == "exact"),
                   key=lambda r: r.latency_s)  # fmt: skip
    assert [r.latency_s for r in exact] == [0.0, 2.0, 5.0, 10.0]
    # one tracking, every latency: same decisions at measurement time
    for r in exact[1:]:
        np.testing.assert_array_equal(r.t_decision["confirm"], exact[0].t_decision["confirm"])
    conf = np.array([r.t_consumer["confirm"][0] for r in exact])
    assert np.all(np.isfinite(conf))
    assert np.all(np.diff(conf) >= 0)  # monotone non-decreasing in L
    assert conf[-1] > conf[0]  # and the Korean latency does matter for the first track
    assert np.all(conf >= exact[0].t_decision["confirm"][0])
    buf = sorted((r for r in res if r.delivery == "buffer"), key=lambda r: r.latency_s)
    for b in buf:  # the buffer releases every decision at t + lag, lag = L + 1 s
        np.testing.assert_allclose(b.t_consumer["confirm"] - b.t_decision["confirm"],
                                   b.latency_s + cfg.buffer_margin_s)  # fmt: skip
    rows = summarise_linking(res)
    assert all(tuple(r) == TABLE_COLUMNS for r in rows)
    linked = [r for r in rows if r["network"] == LINKED and r["delivery"] == "exact"]
    assert [r["confirm_median_s"] for r in linked] == pytest.approx(conf.tolist())
    japan = next(r for r in rows if r["network"] == "japan-only")
    assert japan["consumer"] == "japan" and japan["latency_s"] is None
    assert all(r["false_alert_rate"] is None and r["t_end_s"] == 120.0 for r in rows)
    text = format_table(rows)
    assert "linked-via-hub" in text and "japan-only" in text


def test_linking_config_rejects_bad_values():
    with pytest.raises(ValueError, match="runs"):
        LinkingConfig(runs=0)
    with pytest.raises(ValueError, match="networks"):
        LinkingConfig(networks=("moon-only",))
    with pytest.raises(ValueError, match="latencies_s"):
        LinkingConfig(latencies_s=(-1.0,))
    with pytest.raises(ValueError, match="scenarios"):
        LinkingConfig(scenarios=("hokkaido-2099",))
