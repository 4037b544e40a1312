"""Compiled gating (trackers.filters.compiled._gate) against the tracker's NumPy ``_innovations``.

Random seeded candidate beliefs (n = 6, 7, 8) and reports (m = 3, 4) of a radar go through
both paths: reports across the azimuth wrap (az ~ 0 / 2 pi), targets near the zenith and the
nadir (el ~ +-pi/2, and exactly overhead where the azimuth row of H is zero), NaN report
slots, no reports (M = 0), no candidates (C = 0), non-finite and indefinite beliefs, a belief
at the radar site.

Tolerances (relative per candidate, to its largest entry, as tests/test_tracking_compiled.py;
measured worst over 120 random batches of 200 candidates):

- zhat, H, HP, S, S^-1: 1e-12 (measured <= 1e-15). NumPy's products go through BLAS, which
  may fuse multiply-adds; S^-1 is the closed form of ``inv_spd`` in the same operation order,
  so it inherits the rounding of S times the conditioning of S (its correlation matrix).
- log det S: 1e-12 absolute (= det S to 1e-12 relative; measured 5e-15).
- nu: 1e-12 of max |z| absolute per component (measured 3e-16). d2: 1e-9 relative plus 1e-9 absolute
  (measured 7e-11 relative, 5e-12 absolute). A range of ~1e6 m is rounded to ~1.2e-10 m in
  h(x), and BLAS and the kernel round it differently: against a 30 m sigma that is ~4e-12 of
  an innovation, and d2 ~ |nu / sigma|^2 carries it (relatively more for a report at d2 ~ 0),
  as the NIS of the compiled update (tests/test_tracking_compiled.py, 1e-9). Proof that these
  are the only differences: from the kernel's own zhat and S, the NumPy formulas reproduce its
  S^-1, log det S, nu and d2 to the bit.

Non-finite beliefs must give the NumPy path's NaN / inf pattern in every output (the tracker
drops such a track, ``_Tracker._drop_broken``); an indefinite S a finite inverse with
log det S = NaN, as ``inv_spd``.

The whole tracker on a short scenario (srbm-depressed, 2 runs): with only the gate compiled
(NumPy estimator) the NumPy tracker's tracks and events, with GNN states and covariances to
1e-12 (measured: equal to the bit, the gate feeding only decisions), with JPDA (which updates
with the gate's nu and S^-1) to the NumPy tracker's own sensitivity to rounding; with
``backend="numba"`` (estimator and gate compiled, n = 7 and 8) the same tracks, ids and
events, states to 1e-12 and covariances to 1e-9 (measured 1.6e-15 and 3e-11, the compiled
IMM's, tests/test_tracking_compiled.py).

First compile of the gate kernels: ~4 s (with the ``_kernels`` helpers cached; cached on disk
afterwards); this file then runs in ~20 s, mostly the tracker runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("numba")

from tests.synthetic_radar import radar_model as _radar
from trackers.filters import Gaussian
from trackers.filters.compiled import _gate
from trackers.filters.compiled._gate import (
    Innovations,
    compiled_innovations,
    compiled_widened_gate,
)
from trackers.filters.linalg_small import inv_spd, matmul, symmetrize
from trackers.models import RadarMeasurement, residual
from trackers.models.linear import LinearPosition
from trackers.tracking import ScanSequence, preset, track
from trackers.tracking.tracker import _Tracker

C = 40
M = 4
SIG = np.array([30.0, 1.5e-3, 1e-3, 5.0])


class _Sen:
    """The part of the tracker's ``_Sensor`` that ``_innovations`` reads."""

    def __init__(self, model: RadarMeasurement) -> None:
        self.model = model


class _Cfg:
    backend = "numpy"


def _numpy(model: RadarMeasurement, g: Gaussian, zr: np.ndarray) -> tuple[np.ndarray, ...]:
    """The tracker's NumPy reference path."""
    host = object.__new__(_Tracker)
    host.cfg = _Cfg()  # type: ignore[assignment]
    return host._innovations(_Sen(model), g, zr)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """max over candidates (leading axis) of max|a - b| / max|b|."""
    a, b = np.asarray(a), np.asarray(b)
    if a.size == 0:
        return 0.0
    axes = tuple(range(1, a.ndim))
    den = np.max(np.abs(b), axis=axes) if axes else np.abs(b)
    return float(np.max(np.max(np.abs(a - b), axis=axes) / np.where(den > 0, den, 1.0)))


def _beliefs(rng: np.random.Generator, model: RadarMeasurement, n: int, enu: np.ndarray):
    """Beliefs at ENU offsets ``enu`` (C', 3) [m] from the radar; random SPD covariances with
    position / velocity / extra-state scales (1e4 m^2, 1e2 m^2/s^2, 25)."""
    c = enu.shape[0]
    rot = np.asarray(model.enu_rotation)
    r = np.asarray(model.site_ecef) + enu @ rot
    x = np.c_[r, rng.normal(size=(c, 3)) * 2e3, rng.uniform(-5.0, 9.0, (c, n - 6))]
    a = rng.normal(size=(c, n, n))
    scale = np.sqrt(np.array([1e4] * 3 + [1e2] * 3 + [25.0] * (n - 6)))
    P = (a @ a.swapaxes(-1, -2) / n + np.eye(n)) * scale[:, None] * scale[None, :]
    return Gaussian(x, P)


def _north(rng: np.random.Generator, c: int) -> np.ndarray:
    """ENU offsets due north of the radar (azimuth within +-2 mrad of 0 = 2 pi), 300-900 km."""
    rg = rng.uniform(3e5, 9e5, c)
    return np.c_[rng.uniform(-2e-3, 2e-3, c) * rg, rg * 0.95, rg * 0.3]


def _reports(rng: np.random.Generator, model: RadarMeasurement, g: Gaussian, Mr: int):
    """Mr noisy reports per candidate around its mean, az taken mod 2 pi; NaN slots."""
    m = model.ndim_meas
    z = model.measure(g.mean)[:, None, :] + rng.normal(size=(g.mean.shape[0], Mr, m)) * SIG[:m]
    z[..., 1] = np.mod(z[..., 1], 2.0 * np.pi)
    if Mr:
        z[::3, -1] = np.nan  # empty slots
        z[1::5, 0, 2] = np.nan  # a single NaN component
    return z


def _finite(u: np.ndarray) -> np.ndarray:
    """u with its non-finite entries set to 0 (their pattern is compared separately)."""
    return np.where(np.isfinite(u), u, 0.0)


def _assert_match(a: tuple[np.ndarray, ...], b: Innovations, z: np.ndarray) -> None:
    """Outputs ``b`` (compiled) equal ``a`` (NumPy): shapes, dtypes, NaN / inf patterns and
    the finite values to the module docstring's tolerances."""
    assert isinstance(b, Innovations) and len(a) == len(b) == 8
    for name, u, v in zip(Innovations._fields, a, b, strict=True):
        assert v.shape == u.shape and v.dtype == u.dtype == np.float64, name
        np.testing.assert_array_equal(np.isnan(v), np.isnan(u), err_msg=name)
        np.testing.assert_array_equal(np.isposinf(v), np.isposinf(u), err_msg=name)
        np.testing.assert_array_equal(np.isneginf(v), np.isneginf(u), err_msg=name)
    a = tuple(_finite(u) for u in a)
    for k, name in enumerate(("zhat", "H", "HP", "S", "Sinv")):
        assert _rel(_finite(b[k]), a[k]) < 1e-12, name
    np.testing.assert_allclose(_finite(b.logdet), a[5], rtol=0, atol=1e-12)
    # per component: 1e-12 of the largest |z| (range ~1e6 m, angles <= 2 pi, range-rate)
    scale = np.max(np.abs(z), axis=(0, 1), initial=1.0, where=np.isfinite(z))
    assert np.all(np.abs(_finite(b.nu) - a[6]) <= 1e-12 * scale)
    np.testing.assert_allclose(_finite(b.d2), a[7], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("range_rate", [False, True])
@pytest.mark.parametrize("n", [6, 7, 8])
def test_innovations_match_numpy_across_the_azimuth_wrap(n, range_rate):
    """Random beliefs north of the radar, reports across az = 0 / 2 pi, NaN slots."""
    rng = np.random.default_rng(100 * n + range_rate)
    model = _radar(range_rate)
    g = _beliefs(rng, model, n, _north(rng, C))
    z = _reports(rng, model, g, M)
    zhat = model.measure(g.mean)
    assert np.any(np.abs(z[..., 1] - zhat[:, None, 1]) > np.pi)  # some reports wrap
    a, b = _numpy(model, g, z), compiled_innovations(model, g, z)
    _assert_match(a, b, z)
    # the angles really were wrapped (a few sigma, not ~2 pi); NaN components -> 0
    assert np.all(np.abs(b.nu[..., 1]) < 0.1)
    assert np.all(b.nu[::3, -1] == 0.0) and np.all(b.nu[1::5, 0, 2] == 0.0)
    assert np.all(np.isfinite(b.d2)) and np.all(b.d2 >= 0.0)
    # every difference comes from the rounding of zhat and S (BLAS products): from the
    # kernel's own zhat and S, the NumPy formulas give its S^-1, log det, nu and d2 to the bit
    Sinv, logdet = inv_spd(b.S)
    np.testing.assert_array_equal(b.Sinv, Sinv)
    np.testing.assert_array_equal(b.logdet, logdet)
    nu = residual(z, b.zhat[:, None, :], model.angle_indices)
    nu = np.where(np.isnan(nu), 0.0, nu)
    np.testing.assert_array_equal(b.nu, nu)
    np.testing.assert_array_equal(b.d2, np.einsum("cmi,cij,cmj->cm", nu, b.Sinv, nu))


@pytest.mark.parametrize("range_rate", [False, True])
def test_innovations_match_numpy_near_zenith_and_nadir(range_rate):
    """el -> +-pi/2: horizontal offsets p of 200 m .. 2 km at 200-800 km (|el| within 2.5e-4
    to 1e-2 of pi/2; below p ~ 100 m the azimuth row of H, ~1 / p, is ill-conditioned: the
    ~1e-10 m rounding of e, n at 1e6 m coordinates then exceeds 1e-12 of p in either path),
    and exactly overhead / underneath (p = 0: zero azimuth row) for a site at lat = lon = 0,
    whose ENU axes are exact."""
    rng = np.random.default_rng(7 + range_rate)
    model = _radar(range_rate)
    h = rng.uniform(2e5, 8e5, C)
    horiz = np.exp(rng.uniform(np.log(200.0), np.log(2e3), C))
    ang = rng.uniform(0.0, 2.0 * np.pi, C)
    sign = np.where(np.arange(C) % 2, 1.0, -1.0)
    enu = np.c_[horiz * np.sin(ang), horiz * np.cos(ang), h * sign]
    g = _beliefs(rng, model, 7, enu)
    z = _reports(rng, model, g, M)
    a, b = _numpy(model, g, z), compiled_innovations(model, g, z)
    assert np.all(np.abs(np.abs(b.zhat[:, 2]) - np.pi / 2) < 1.1e-2)
    _assert_match(a, b, z)
    # exactly overhead and underneath: e = n = 0 to the bit
    eq = replace(model, lat=0.0, lon=0.0, alt=0.0)
    g = _beliefs(rng, eq, 7, np.c_[np.zeros((4, 2)), [3e5, -3e5, 7e5, -7e5]])
    z = _reports(rng, eq, g, M)
    a, b = _numpy(eq, g, z), compiled_innovations(eq, g, z)
    assert np.all(np.abs(b.zhat[:, 2]) == np.pi / 2)
    assert np.all(b.H[:, 1] == 0.0)  # azimuth undefined: zero Jacobian row, as NumPy
    _assert_match(a, b, z)


@pytest.mark.parametrize("shape", [(0, M), (C, 0), (0, 0)])
def test_no_candidates_or_no_reports(shape):
    """M = 0 and C = 0 give the NumPy path's empty shapes (the tracker never gates an empty
    candidate set, but other callers may)."""
    c, Mr = shape
    rng = np.random.default_rng(3)
    model = _radar(True)
    g = _beliefs(rng, model, 8, _north(rng, c))
    z = _reports(rng, model, g, Mr)
    b = compiled_innovations(model, g, z)
    want = [(c, 4), (c, 4, 8), (c, 4, 8), (c, 4, 4), (c, 4, 4), (c,), (c, Mr, 4), (c, Mr)]
    assert [v.shape for v in b] == want
    assert all(v.dtype == np.float64 for v in b)
    a = _numpy(model, g, z)
    assert [v.shape for v in a] == want
    if c:
        _assert_match(a, b, z)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("range_rate", [False, True])
def test_non_finite_and_indefinite_beliefs_match_numpy(range_rate):
    """NaN / inf means and covariance entries, and an indefinite P: same patterns as NumPy."""
    rng = np.random.default_rng(17)
    model = _radar(range_rate)
    g = _beliefs(rng, model, 7, _north(rng, 12))
    x, P = g.mean.copy(), g.cov.copy()
    x[0, 1] = np.nan
    x[1, 2] = np.inf
    x[2, 4] = -np.inf  # velocity: only the range-rate row sees it
    P[3, 0, 0] = np.inf
    P[4, 6, 6] = np.inf  # a column H leaves out: 0 * inf = NaN in H P, as np.matmul
    P[5, 1, 2] = P[5, 2, 1] = np.nan
    P[6] = -P[6]  # negative definite: S indefinite, log det NaN, finite inverse
    P[7, 0, 1] = P[7, 1, 0] = 1e300  # overflow in the cofactors
    g = Gaussian(x, P)
    z = _reports(rng, model, g, M)
    a, b = _numpy(model, g, z), compiled_innovations(model, g, z)
    _assert_match(a, b, z)
    bad = ~np.isfinite(b.d2).all(axis=1) | np.isnan(b.logdet)
    assert bad[[0, 1, 3, 4, 5, 6, 7]].all() and not bad[8:].any()
    assert np.isnan(b.logdet[6]) and np.isfinite(b.Sinv[6]).all()  # as inv_spd
    assert bad[2] == range_rate


def test_belief_at_the_site_raises_as_numpy():
    """A mean at the radar site (range 0): the NumPy path's ValueError."""
    rng = np.random.default_rng(5)
    model = _radar(False)
    g = _beliefs(rng, model, 6, _north(rng, 4))
    z = _reports(rng, model, g, 2)
    g.mean[2, :3] = model.site_ecef
    with pytest.raises(ValueError, match="range 0"):
        _numpy(model, g, z)
    with pytest.raises(ValueError, match=r"range 0\) at batch index \(2,\)"):
        compiled_innovations(model, g, z)


@pytest.mark.parametrize("range_rate", [False, True])
def test_widened_gate_matches_numpy(range_rate):
    """The merged-report gate: sym(H P H' + R_w), its inverse, log det and d2 as the tracker."""
    rng = np.random.default_rng(29)
    model = _radar(range_rate)
    wide = replace(model, sigma_range=80.0, sigma_azimuth=4e-3)
    g = _beliefs(rng, model, 8, _north(rng, C))
    g.cov[0, 0, 0] = np.nan
    z = _reports(rng, model, g, M)
    b = compiled_innovations(model, g, z)
    HPH = matmul(b.HP, b.H.swapaxes(-1, -2))
    Sm = symmetrize(HPH + wide.noise_cov())
    Sminv, logdet = inv_spd(Sm)
    d2m = np.einsum("cmi,cij,cmj->cm", b.nu, Sminv, b.nu)
    w = compiled_widened_gate(HPH, b.nu, wide)
    np.testing.assert_array_equal(w.S, Sm)  # same operations, same order
    np.testing.assert_array_equal(w.Sinv, Sminv)
    np.testing.assert_array_equal(w.logdet, logdet)
    np.testing.assert_allclose(w.d2, d2m, rtol=1e-14, atol=0)
    # a non-finite belief stays infeasible; the wider gate gives smaller d2 (0 for empty slots)
    assert np.isnan(w.d2[0]).all() and np.all(w.d2[1:] <= b.d2[1:])
    assert np.mean(w.d2[1:] < b.d2[1:]) > 0.5


def test_unsupported_inputs_raise_naming_them():
    """Another sensor model, wrong report or belief shapes -> ValueError naming them."""
    rng = np.random.default_rng(0)
    model = _radar(True)
    g = _beliefs(rng, model, 6, _north(rng, 3))
    z = _reports(rng, model, g, 2)
    with pytest.raises(ValueError, match=r"model.*RadarMeasurement.*LinearPosition"):
        compiled_innovations(LinearPosition(sigma=10.0), g, z[..., :3])
    with pytest.raises(ValueError, match=r"zr must be \(C, M, m\).*m = 4"):
        compiled_innovations(model, g, z[..., :3])
    with pytest.raises(ValueError, match=r"g.mean must be \(C, n\) with n >= 6"):
        compiled_innovations(model, Gaussian(g.mean[:, :3], g.cov[:, :3, :3]), z)
    with pytest.raises(ValueError, match=r"g.cov must be"):
        compiled_innovations(model, Gaussian(g.mean, g.cov[:2]), z)
    with pytest.raises(ValueError, match=r"model.*LinearPosition"):
        compiled_widened_gate(np.zeros((3, 3, 3)), np.zeros((3, 1, 3)), LinearPosition(10.0))


# --- the whole tracker -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def srbm_scans():
    from trackers.alert_study import simulate_reports

    _, _, radars, det = simulate_reports("srbm-depressed", 2, 0)
    return ScanSequence.from_detections(det, radars), radars


def _compare_results(a, b, tol_x: float, tol_p: float) -> None:
    la, lb = a.log, b.log
    assert la.run.size > 50  # a real track log
    for f in ("run", "epoch", "track", "parent", "status", "label", "t", "born"):
        np.testing.assert_array_equal(getattr(lb, f), getattr(la, f), err_msg=f)
    assert _rel(lb.x, la.x) <= tol_x
    assert _rel(lb.P, la.P) <= tol_p
    for ea, eb in zip(a.events, b.events, strict=True):
        np.testing.assert_array_equal(eb, ea)
    np.testing.assert_array_equal(b.hits, a.hits)


@pytest.mark.parametrize(
    ("name", "overrides", "tol_x", "tol_p"),
    [("separation-aware", {}, 1e-12, 1e-12), ("naive", {"association": "jpda"}, 1e-11, 1e-8)],
)
def test_tracker_with_compiled_gate_equals_numpy(
    srbm_scans, monkeypatch, name, overrides, tol_x, tol_p
):
    """NumPy estimator, compiled gate: the NumPy tracker's tracks, ids and events.

    GNN uses the gate's outputs only for decisions (d2, log det S, H P H'): states and
    covariances to 1e-12 (measured: equal to the bit). JPDA also updates with the gate's nu
    and S^-1 and weights by exp(-d2 / 2), so nu's ~1e-11 relative rounding enters every update
    and is amplified along the track as any rounding is: states to 1e-11, covariances to 1e-8
    (measured 1.1e-12 and 2.7e-9, where the NumPy JPDA tracker itself moves by 4.4e-13 and
    1.0e-9 when the reports change by one ulp)."""
    scans, radars = srbm_scans
    cfg = preset(name, **overrides)
    ref = track(scans, radars, cfg, epochs=5.0)
    calls = []

    def gate(self, sen, g, zr):
        calls.append(g.mean.shape[0])
        return compiled_innovations(sen.model, g, zr)

    monkeypatch.setattr(_Tracker, "_innovations", gate)
    got = track(scans, radars, cfg, epochs=5.0)
    assert len(calls) > 100 and max(calls) > 1
    _compare_results(ref, got, tol_x, tol_p)


@pytest.mark.parametrize("drag_mode", [False, True])
def test_tracker_numba_backend_uses_the_compiled_gate(srbm_scans, monkeypatch, drag_mode):
    """backend="numba" goes through compiled_innovations (n = 7, and 8 with the drag mode) and
    still equals backend="numpy" (tracks, ids, events; states and covariances to the
    tolerances of tests/test_tracking_compiled.py)."""
    scans, radars = srbm_scans
    ref = track(scans, radars, preset("separation-aware", drag_mode=drag_mode), epochs=5.0)
    calls = []
    real = _gate.compiled_innovations

    def spy(model, g, zr):
        calls.append(g.mean.shape[1])
        return real(model, g, zr)

    monkeypatch.setattr(_gate, "compiled_innovations", spy)
    cfg = preset("separation-aware", backend="numba", drag_mode=drag_mode)
    got = track(scans, radars, cfg, epochs=5.0)
    assert len(calls) > 100 and set(calls) == {8 if drag_mode else 7}
    _compare_results(ref, got, 1e-12, 1e-9)
