"""Compiled estimator steps (trackers.filters.compiled._step) against the NumPy estimators.

The tracker's estimators — ``Filter(EKF(), Ballistic)``, the boost/ballistic IMM and the
boost/ballistic/drag IMM (:func:`trackers.tracking.tracker.build_estimator`) — and a boost
filter with an exhaust velocity (its a_thrust row of Phi is not constant) are run through
``predict`` / ``update`` / ``gaussian`` on random seeded batches by both paths.

Tolerances (relative per run, to the run's largest entry; as tests/test_filters_compiled.py):
means and covariances 1e-12 — the two paths evaluate the same operations, most in the same
order (measured: means equal to the bit or 2e-16, covariances <= 4e-16). The NIS, the
log-likelihood and the updated mode probabilities 1e-9: the innovation nu = z - h(x) of a
range of ~1e6 m with a 30 m sigma keeps only ~1e6 * 2^-52 / 30 ~ 1e-11 of relative accuracy
through the rounding of h(x), so two correct implementations summing in another order agree
to that, and the mode probabilities weight the modes by exp(loglik) (measured: NIS 1e-12,
log-likelihood 4e-12, probabilities 9e-14 absolute).

The whole tracker with ``backend="numba"`` must reproduce ``backend="numpy"`` on a short
scenario (srbm-depressed, 2 runs): the same tracks, ids, parents, statuses, labels and events;
states to 1e-12 and covariances to 1e-9 (measured 1.4e-15 and 3e-11: a track's covariance
goes through hundreds of IMM updates whose mode probabilities carry the 1e-11 sensitivity
above; a track hesitating between modes amplifies it, as it amplifies any rounding: on
hokkaido-2023, 20 runs, one track's covariance differs by 2e-5 where the NumPy path itself
moves by 3e-6 when the reports change by one ulp).

The first run on a machine compiles the kernels (~1 min, cached on disk afterwards; this file
then runs in ~20 s).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from tests.synthetic_radar import radar_model as _radar
from trackers.filters import EKF, UKF, Filter, Gaussian
from trackers.filters.compiled._step import CompiledFilter, CompiledIMM, compiled_estimator
from trackers.filters.imm import IMM, IMMBelief, Mode, SojournTransition
from trackers.models import Ballistic, BoostThrustState, RadarMeasurement
from trackers.models.linear import CV, LinearPosition
from trackers.tracking import ScanSequence, preset, track
from trackers.tracking.config import TrackerConfig
from trackers.tracking.tracker import build_estimator

B = 9
#: dt [s] per case: 0, inside one RK4 substep, above the boost mode's 2.5 s (two substeps),
#: and a per-run array mixing 0 with dt above the ballistic 10 s (shared substep count)
DTS = [0.0, 0.7, 3.3, np.array([0.0, 0.5, 1.0, 2.5, 4.0, 7.0, 12.0, 0.0, 3.0])]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """max over runs (leading axis) of max|a - b| / max|b|."""
    a, b = np.asarray(a), np.asarray(b)
    axes = tuple(range(1, a.ndim))
    den = np.max(np.abs(b), axis=axes) if axes else np.abs(b)
    return float(np.max(np.max(np.abs(a - b), axis=axes) / np.where(den > 0, den, 1.0)))


def _spd(rng: np.random.Generator, n: int, scale: np.ndarray) -> np.ndarray:
    """B random SPD matrices with the given variance scales."""
    a = rng.normal(size=(B, n, n))
    s = a @ a.swapaxes(-1, -2) / n + np.eye(n)
    return s * np.sqrt(scale)[:, None] * np.sqrt(scale)[None, :]


def _states(rng: np.random.Generator) -> np.ndarray:
    """B ECEF states [r, v] 100-800 km above a 6.4e6 m sphere, speeds ~2-5 km/s."""
    r = rng.normal(size=(B, 3))
    r *= (6.4e6 + rng.uniform(1e5, 8e5, (B, 1))) / np.linalg.norm(r, axis=1, keepdims=True)
    return np.c_[r, rng.normal(size=(B, 3)) * 2.5e3]


#: the position / velocity / a_thrust / ln beta variance scales
SCALE = {"x": 1e4, "v": 1e2, "a_thrust": 25.0, "log_beta": 0.5}


def _gaussian(rng: np.random.Generator, names: tuple[str, ...], x6: np.ndarray) -> Gaussian:
    """A random belief over the components ``names`` near the states x6."""
    extra = {"a_thrust": rng.uniform(-5.0, 40.0, B), "log_beta": rng.uniform(6.0, 9.0, B)}
    cols = [x6 + rng.normal(size=x6.shape) * 10.0] + [extra[c][:, None] for c in names[6:]]
    scale = np.array([SCALE["x"]] * 3 + [SCALE["v"]] * 3 + [SCALE[c] for c in names[6:]])
    return Gaussian(np.concatenate(cols, axis=1), _spd(rng, len(names), scale))


def _belief(est, rng: np.random.Generator):
    """A random belief of ``est`` (Filter: Gaussian; IMM: per-mode Gaussians, probs)."""
    x6 = _states(rng)
    if isinstance(est, IMM):
        modes = tuple(_gaussian(rng, m.model.state_names, x6) for m in est.modes)
        return IMMBelief(modes, rng.dirichlet(np.ones(est.nmodes), B))
    return _gaussian(rng, est.model.state_names, x6)


ESTIMATORS = {
    "ballistic": lambda: build_estimator(preset("naive")),
    "boost-ballistic": lambda: build_estimator(preset("separation-aware")),
    "boost-ballistic-drag": lambda: build_estimator(preset("separation-aware", drag_mode=True)),
    "boost-exhaust": lambda: Filter(
        EKF(), BoostThrustState(exhaust_velocity=2.6e3, q=30.0, q_thrust=3.0, max_step=2.0)
    ),
}


def _compare(a, b, tol: float = 1e-12) -> None:
    """Beliefs a (NumPy) and b (compiled) to ``tol``; IMM probabilities to ``tol`` absolute."""
    if isinstance(a, IMMBelief):
        for ga, gb in zip(a.modes, b.modes, strict=True):
            _compare(ga, gb, tol)
        np.testing.assert_allclose(b.probs, a.probs, rtol=0, atol=tol)
        return
    assert b.mean.shape == a.mean.shape and b.cov.shape == a.cov.shape
    assert _rel(b.mean, a.mean) < tol
    assert _rel(b.cov, a.cov) < tol


@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_predict_and_gaussian_match_numpy(kind):
    """predict for several dt (0, > max_step, per-run arrays) and the combined Gaussian."""
    rng = np.random.default_rng(11)
    est = ESTIMATORS[kind]()
    fast = compiled_estimator(est)
    assert isinstance(fast, type(est))  # the tracker's isinstance(est, IMM) still holds
    belief = _belief(est, rng)
    for dt in DTS:
        a, b = est.predict(belief, dt, 0.0), fast.predict(belief, dt, 0.0)
        _compare(a, b)
        ga, gb = est.gaussian(a), fast.gaussian(b)
        assert _rel(gb.mean, ga.mean) < 1e-12
        assert _rel(gb.cov, ga.cov) < 1e-12
    if isinstance(est, IMM):
        # the predicted probabilities c really moved (the mixing is exercised)
        assert np.max(np.abs(a.probs - belief.probs)) > 1e-3


def test_predict_batch_shapes_and_shared_covariance():
    """A (3, 3) batch with one shared (n, n) covariance: flattened and restored."""
    rng = np.random.default_rng(5)
    est = ESTIMATORS["ballistic"]()
    fast = compiled_estimator(est)
    g = _belief(est, rng)
    g2 = Gaussian(g.mean.reshape(3, 3, 6), g.cov[0])
    dt = np.array([[1.0], [11.0], [0.0]])  # broadcasts over the second axis
    a, b = est.predict(g2, dt, 0.0), fast.predict(g2, dt, 0.0)
    assert b.mean.shape == (3, 3, 6) and b.cov.shape == (3, 3, 6, 6)
    assert _rel(b.mean.reshape(B, 6), a.mean.reshape(B, 6)) < 1e-12
    assert _rel(b.cov.reshape(B, 6, 6), a.cov.reshape(B, 6, 6)) < 1e-12


def _near_wrap(rng: np.random.Generator, sensor: RadarMeasurement) -> np.ndarray:
    """B states due north of the radar (azimuth within +-2 mrad of 0 = 2 pi), 300-900 km."""
    rot = np.asarray(sensor.enu_rotation)
    rng_ = rng.uniform(3e5, 9e5, B)
    enu = np.c_[rng.uniform(-2e-3, 2e-3, B) * rng_, rng_ * 0.95, rng_ * 0.3]
    r = np.asarray(sensor.site_ecef) + enu @ rot
    return np.c_[r, rng.normal(size=(B, 3)) * 2e3]


@pytest.mark.parametrize("range_rate", [False, True])
@pytest.mark.parametrize("kind", sorted(ESTIMATORS))
def test_update_matches_numpy(kind, range_rate):
    """Joseph-form updates with a radar, z across the azimuth wrap, one missed detection."""
    rng = np.random.default_rng(23)
    est = ESTIMATORS[kind]()
    fast = compiled_estimator(est)
    sensor = _radar(range_rate)
    belief = _belief(est, rng)
    x6 = _near_wrap(rng, sensor)
    # put every mode's mean at the wrap (each mode keeps its own offsets)
    if isinstance(belief, IMMBelief):
        belief = IMMBelief(
            tuple(
                Gaussian(np.c_[x6 + rng.normal(size=x6.shape), g.mean[:, 6:]], g.cov)
                for g in belief.modes
            ),
            belief.probs,
        )
    else:
        belief = Gaussian(np.c_[x6, belief.mean[:, 6:]], belief.cov)
    sig = np.array([30.0, 1.5e-3, 1e-3, 5.0])[: sensor.ndim_meas]
    z = sensor.measure(x6) + rng.normal(size=(B, sensor.ndim_meas)) * sig
    z[:, 1] = np.mod(z[:, 1], 2.0 * np.pi)
    zhat = sensor.measure(x6)
    assert np.any(np.abs(z[:, 1] - zhat[:, 1]) > np.pi)  # some reports wrap against zhat
    z[3] = np.nan  # a missed detection
    (a, ia), (b, ib) = est.update(belief, z, sensor), fast.update(belief, z, sensor)
    modes_a, modes_b, prior = (
        (a.modes, b.modes, belief.modes) if isinstance(a, IMMBelief) else ((a,), (b,), (belief,))
    )
    for ga, gb, g0 in zip(modes_a, modes_b, prior, strict=True):
        assert _rel(gb.mean, ga.mean) < 1e-12
        assert _rel(gb.cov, ga.cov) < 1e-12
        np.testing.assert_array_equal(gb.mean[3], g0.mean[3])  # missed: prior kept
        np.testing.assert_array_equal(gb.cov[3], g0.cov[3])
    if isinstance(a, IMMBelief):
        np.testing.assert_allclose(b.probs, a.probs, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(b.probs[3], belief.probs[3])  # missed: mu = c
    for f in ("innovation", "S", "nis", "loglik"):
        u, v = getattr(ia, f), getattr(ib, f)
        assert u.shape == v.shape, f
        np.testing.assert_array_equal(np.isnan(v), np.isnan(u), err_msg=f)
    ok = ~np.isnan(ia.nis)
    assert ok.sum() == B - 1 and np.isnan(ib.nis[3]) and ib.loglik[3] == 0.0
    np.testing.assert_allclose(ib.nis[ok], ia.nis[ok], rtol=1e-9)
    np.testing.assert_allclose(ib.loglik[ok], ia.loglik[ok], rtol=1e-9)
    assert _rel(ib.S[ok], ia.S[ok]) < 1e-12
    # innovations: to the rounding of h(x) (absolute, per component: ~1e-12 of |z|)
    np.testing.assert_allclose(
        ib.innovation[ok],
        ia.innovation[ok],
        rtol=0,
        atol=1e-12 * np.nanmax(np.abs(z), axis=0).max(),
    )
    # the angles really were wrapped: innovations of a few sigma, not ~2 pi
    assert np.all(np.abs(ib.innovation[ok, 1]) < 0.1)


def test_unsupported_inputs_raise_naming_them():
    """Unsupported model, rule, estimator or sensor -> ValueError naming it; bad backend."""
    with pytest.raises(ValueError, match="ConstantVelocity"):
        compiled_estimator(Filter(EKF(), CV(q=1.0)))
    with pytest.raises(ValueError, match="EKF"):
        compiled_estimator(Filter(UKF(), Ballistic()))
    with pytest.raises(ValueError, match=r"modes\[1\]\.model.*ConstantVelocity"):
        imm = IMM(
            modes=(Mode(EKF(), Ballistic()), Mode(EKF(), CV(q=1.0))),
            transition=SojournTransition(np.array([10.0, 10.0])),
        )
        compiled_estimator(imm)
    with pytest.raises(ValueError, match="Filter and IMM"):
        compiled_estimator(object())
    fast = compiled_estimator(ESTIMATORS["ballistic"]())
    g = _belief(ESTIMATORS["ballistic"](), np.random.default_rng(0))
    with pytest.raises(ValueError, match="LinearPosition"):
        fast.update(g, g.mean[:, :3], LinearPosition(sigma=10.0))
    with pytest.raises(ValueError, match=r"backend.*'cuda'"):
        TrackerConfig(backend="cuda")  # type: ignore[arg-type]
    assert isinstance(fast, CompiledFilter)
    assert isinstance(build_estimator(preset("separation-aware", backend="numba")), CompiledIMM)


@pytest.fixture(scope="module")
def srbm_scans():
    from trackers.alert_study import simulate_reports

    _, _, radars, det = simulate_reports("srbm-depressed", 2, 0)
    return ScanSequence.from_detections(det, radars), radars


@pytest.mark.parametrize("drag_mode", [False, True])
def test_tracker_numba_backend_equals_numpy(srbm_scans, drag_mode):
    """The whole tracker: same tracks, ids, labels and events; states to 1e-12, P to 1e-9."""
    scans, radars = srbm_scans
    res = {
        be: track(
            scans, radars, preset("separation-aware", backend=be, drag_mode=drag_mode), epochs=5.0
        )
        for be in ("numpy", "numba")
    }
    a, b = res["numpy"].log, res["numba"].log
    assert a.run.size > 50  # a real track log
    for f in ("run", "epoch", "track", "parent", "status", "label", "t", "born"):
        np.testing.assert_array_equal(getattr(b, f), getattr(a, f), err_msg=f)
    np.testing.assert_allclose(b.label_conf, a.label_conf, rtol=0, atol=1e-9)
    assert _rel(b.x, a.x) < 1e-12
    assert _rel(b.P, a.P) < 1e-9
    for ea, eb in zip(res["numpy"].events, res["numba"].events, strict=True):
        np.testing.assert_array_equal(eb, ea)
    np.testing.assert_array_equal(res["numba"].hits, res["numpy"].hits)
    assert res["numba"].reports == res["numpy"].reports
