"""Track snapshots -> impact predictions and P(Hokkaido) at decision times."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.earth import wgs84
from trackers.impact.alerts import NaivePolicy, ProbabilisticPolicy, alert_timeline
from trackers.impact.from_tracks import impact_log
from trackers.impact.regions import load_regions
from trackers.metrics.tracking import TrackLog
from trackers.sim import load_scenario, simulate


@pytest.fixture(scope="module")
def rv_states():
    out = {}
    for sid in ("hokkaido-2023", "hokkaido-2023-onland"):
        fl = simulate(load_scenario(sid), rate_hz=2.0)
        rv = fl.object("rv")
        out[sid] = (rv.state_at(np.array([600.0, 900.0])), rv)
    return out


def _log(states: np.ndarray, sigma_p: float, sigma_v: float) -> TrackLog:
    n = states.shape[0]
    P = np.diag([sigma_p**2] * 3 + [sigma_v**2] * 3)
    return TrackLog(
        run=np.zeros(n, np.int32), epoch=np.array([600.0, 900.0])[:n], track=np.zeros(n, np.int64),
        parent=np.full(n, -1, np.int64), t=np.array([600.0, 900.0])[:n], x=states,
        P=np.broadcast_to(P, (n, 6, 6)).copy(), status=np.full(n, 2, np.int8),
        label=np.ones(n, np.int8), label_conf=np.ones(n), born=np.zeros(n), runs=2,
        epochs=np.array([600.0, 900.0]),
    )  # fmt: skip


def test_a_good_track_predicts_the_true_fall_and_its_region(rv_states):
    regions = {"hokkaido": load_regions()["hokkaido"]}
    for sid, on_land in (("hokkaido-2023", False), ("hokkaido-2023-onland", True)):
        states, rv = rv_states[sid]
        imp = impact_log(_log(states, 50.0, 0.5), regions, step=300.0)
        rows = imp.track >= 0
        # drag-free prediction from midcourse: within 25 km of the true (drag-affected) fall
        p_true = wgs84.geodetic_to_ecef(rv.lat[-1], rv.lon[-1], 0.0)
        p_hat = wgs84.geodetic_to_ecef(imp.lat[rows], imp.lon[rows], np.zeros(rows.sum()))
        assert np.all(np.linalg.norm(p_hat - p_true, axis=-1) < 25e3)
        p = imp.p_region["hokkaido"][rows]
        assert np.all(p > 0.99) if on_land else np.all(p < 1e-6)
        # run 1 has no tracks: one placeholder row per decision time, P = 0
        ph = imp.run == 1
        assert ph.sum() == 2 and np.all(imp.track[ph] == -1)
        assert np.all(imp.p_region["hokkaido"][ph] == 0)


def test_an_uncertain_track_spreads_probability_and_the_policies_differ(rv_states):
    regions = {"hokkaido": load_regions()["hokkaido"]}
    states, _ = rv_states["hokkaido-2023"]
    # velocity 1-sigma of 150 m/s (a few seconds of track): the ellipse reaches Hokkaido
    imp = impact_log(_log(states[:1], 2e3, 150.0), regions, step=300.0)
    p = float(imp.p_region["hokkaido"][imp.track >= 0][0])
    assert 1e-3 < p < 0.5
    tl_p = alert_timeline(imp, ProbabilisticPolicy(threshold=0.6), regions["hokkaido"])
    tl_lo = alert_timeline(imp, ProbabilisticPolicy(threshold=1e-3), regions["hokkaido"])
    tl_n = alert_timeline(imp, NaivePolicy(), regions["hokkaido"])
    assert np.isnan(tl_p.issued[0]) and np.isfinite(tl_lo.issued[0])
    assert np.isnan(tl_n.issued[0])  # the point prediction is still in the sea


def test_impact_log_rejects_bad_input(rv_states):
    with pytest.raises(TypeError, match="TrackLog"):
        impact_log({"x": 1}, {})
    states, _ = rv_states["hokkaido-2023"]
    with pytest.raises(ValueError, match="step"):
        impact_log(_log(states, 50.0, 0.5), {}, step=0.0)
