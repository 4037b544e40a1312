"""Impact-point prediction with its uncertainty, from Gaussian and IMM track beliefs, batched.

A belief N(x, P) at time t (state ECEF [r, v, ...], leading axes = runs, tracks) is carried to
its first descent through the level h_0 (default 0 m on WGS-84) by the model's own dynamics:
by default with fixed RK4 steps of 60 s (``propagation="fast"``,
:func:`trackers.impact.ground.propagate_to_ground`: impact points within 0.5 m of the reference,
compiled with Numba when installed), or with the reference step rules
(``propagation="reference"``, :func:`trackers.models.events.propagate_to_altitude`). The
impact point is reported as
geodetic (lat, lon) of a reference point on the level surface plus a Gaussian in the local
tangent plane there, coordinates (east, north) [m] (ENU rotation rows e, n at (lat, lon)):

    ground offset of an impact position r_i:  d_i = E (r_i - p_0),   E = [e'; n'] (2 x 3),
    p_0 = the reference point at height h_0.

Three methods:

(a) ``"linear"`` — linearisation about the nominal trajectory of the mean (Battin 1999, §9.7
    "impact-point sensitivity"; Zarchan, *Tactical and Strategic Missile Guidance*, ch. 19).
    The nominal reaches the level at t_i in state x_i = [r_i, v_i, ...]; Phi = d x(t_i)/d x(t)
    at the fixed time t_i (variational equations), Phi_r its position rows (3 x n). A deviation
    dx at t moves the state at t_i by Phi dx and the crossing time by dt_i, fixed by the
    first-order condition on the height h (grad h = u, the geodetic up vector at r_i):

        u' (Phi_r dx + v_i dt_i) = 0     =>   dt_i = -(u' Phi_r dx) / hdot,   hdot = u' v_i < 0

    so the impact position moves by

        dr_imp = Phi_r dx + v_i dt_i = (I - v_i u' / hdot) Phi_r dx       (u' dr_imp = 0: the
                                                                             displacement lies
                                                                             in the tangent plane)
    and, with p_0 = r_i (the nominal impact point),

        G = E (I - v_i u' / hdot) Phi_r  (2 x n),     mean_enu = 0,     cov_ground = G P G'
        J_t = -(u' Phi_r) / hdot  (1 x n),            var(t_i) = J_t P J_t'.

(b) ``"unscented"`` — each sigma point X_k = x + L xi_k (P = L L', :mod:`trackers.filters.
    sigma_points`, default the cubature rule) flies to its own impact r_k, t_k; p_0 is the
    weighted mean sum_k Wm_k r_k projected on the level surface along the ellipsoid normal,
    and with d_k = E (r_k - p_0):

        mean_enu = sum_k Wm_k d_k,   cov_ground = sum_k Wc_k (d_k - mean)(d_k - mean)'
        t_impact = sum_k Wm_k t_k,   var(t_i) = sum_k Wc_k (t_k - t_impact)^2.

(c) ``"montecarlo"`` — S samples x + L z_s, z_s ~ N(0, I) from the given generator, the same
    moments with weights 1/S (covariance with 1/(S - 1)); the reference for (a) and (b).

``valid`` is False where the nominal (a) or any point/sample (b, c) does not come down
(start below the level, orbit, escape, or longer than ``max_time``); (c) still reports the
moments of the samples that came down. The ground Gaussian is a flat-Earth approximation of
the spread on the curved surface: the tangent-plane coordinates of a point at distance s from
p_0 differ from the surface arc by ~s^3 / (6 R^2) (1 m at s = 60 km).

IMM beliefs: each mode's Gaussian is predicted with its own model; the result is the mixture
sum_j mu_j N(m_j, C_j) in one tangent plane (the reference point of the mode-weighted mean
impact position), plus its moment-matched single Gaussian (Bar-Shalom, Li & Kirubarajan 2001,
§11.6.6 for the mixture moments): m = sum_j w_j m_j, C = sum_j w_j [C_j + (m_j - m)(m_j - m)'],
with w_j the mode probabilities renormalised over the modes whose prediction is valid.

References
----------
R. H. Battin, *An Introduction to the Mathematics and Methods of Astrodynamics*, rev. ed.,
AIAA 1999, §9.7 (state transition matrix, impact sensitivities).
P. Zarchan, *Tactical and Strategic Missile Guidance*, 6th ed., AIAA 2012, ch. 19-20 (ballistic
target impact-point prediction).
S. J. Julier, J. K. Uhlmann, "Unscented filtering and nonlinear estimation", Proc. IEEE 92(3),
2004 (unscented transform).
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §10.3 (linearised propagation of moments), §11.6.6 (IMM mixtures).
"""

from __future__ import annotations

from typing import Literal, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.model import EarthModel
from trackers.earth.wgs84 import enu_rotation
from trackers.filters.gaussian import Gaussian
from trackers.filters.imm import IMM, IMMBelief
from trackers.filters.linalg_small import cholesky_lower
from trackers.filters.sigma_points import SigmaPointRule, cubature, sigma_points
from trackers.impact.ground import FAST_STEP, propagate_to_ground
from trackers.models.events import AltitudeEvent, EventConfig, propagate_to_altitude

__all__ = [
    "ImpactMixture",
    "ImpactPrediction",
    "predict_impact",
    "predict_impact_mixture",
]

Method = Literal["linear", "unscented", "montecarlo"]
_METHODS = ("linear", "unscented", "montecarlo")
Propagation = Literal["fast", "reference"]
_PROPAGATIONS = ("fast", "reference")


def _fly(
    model: object, x: NDArray, t: NDArray, cfg: EventConfig, stm: bool, propagation: str
) -> AltitudeEvent:
    """States to the level: the reference integrator or the fast one (module docstring)."""
    if propagation == "reference":
        return propagate_to_altitude(model, x, t, cfg, stm=stm)
    return propagate_to_ground(model, x, t, cfg, stm=stm, step=FAST_STEP)


class ImpactPrediction(NamedTuple):
    """Predicted impact point and its tangent-plane Gaussian, batch shape ``(...)``.

    Attributes
    ----------
    t_impact : (...) array
        Predicted (mean) impact time [s since the epoch].
    lat, lon : (...) arrays
        Geodetic latitude / longitude [rad] of the reference point p_0 of the tangent plane.
    mean_enu : (..., 2) array
        Mean impact offset (east, north) [m] from p_0 (0 for the linear method).
    cov_ground : (..., 2, 2) array
        Impact covariance in (east, north) [m^2].
    valid : (...) bool array
        False where the prediction does not exist (module docstring).
    time_to_go : (...) array
        t_impact - t [s].
    t_var : (...) array
        Variance of the impact time [s^2].
    """

    t_impact: NDArray
    lat: NDArray
    lon: NDArray
    mean_enu: NDArray
    cov_ground: NDArray
    valid: NDArray
    time_to_go: NDArray
    t_var: NDArray


class ImpactMixture(NamedTuple):
    """Impact prediction of an IMM belief.

    Attributes
    ----------
    modes : tuple of ImpactPrediction
        Per-mode predictions (each in its own tangent plane).
    weights : (..., M) array
        Mode probabilities of the belief.
    means : (..., M, 2) array
        Mode means (east, north) [m] in the common tangent plane of ``combined``.
    covs : (..., M, 2, 2) array
        Mode covariances [m^2] in the common tangent plane.
    combined : ImpactPrediction
        Moment-matched single Gaussian (weights renormalised over the valid modes).
    """

    modes: tuple[ImpactPrediction, ...]
    weights: NDArray
    means: NDArray
    covs: NDArray
    combined: ImpactPrediction


def _check_belief(belief: Gaussian, n: int) -> tuple[NDArray, NDArray]:
    if not isinstance(belief, Gaussian):
        raise TypeError(f"belief must be a Gaussian, got {type(belief).__name__}")
    mean = np.asarray(belief.mean, float)
    cov = np.asarray(belief.cov, float)
    if mean.ndim < 1 or mean.shape[-1] != n:
        raise ValueError(f"belief.mean must have shape (..., {n}) for the model, got {mean.shape}")
    if cov.shape[-2:] != (n, n):
        raise ValueError(f"belief.cov must have shape (..., {n}, {n}), got {cov.shape}")
    return mean, cov


def _earth(model: object, config: EventConfig) -> EarthModel:
    return getattr(model, "earth", config.earth)


def _ground_frame(
    earth: EarthModel, r: NDArray, level: float
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """(lat, lon, p_0 on the level surface ``(..., 3)``, ENU rotation ``(..., 3, 3)``) of r."""
    lat, lon, _ = earth.geodetic(r)
    p0 = earth.to_ecef(lat, lon, np.full(lat.shape, level))
    return lat, lon, p0, enu_rotation(lat, lon)


def _linear(
    mean: NDArray, cov: NDArray, model: object, t: NDArray, cfg: EventConfig, prop: str
) -> ImpactPrediction:
    """Method (a): linearisation about the mean's trajectory (module docstring)."""
    ev = _fly(model, mean, t, cfg, True, prop)
    assert ev.stm is not None  # stm=True
    earth = _earth(model, cfg)
    ok = ev.crossed
    xi = np.where(ok[..., None], ev.state, 0.0)
    lat, lon, _, rot = _ground_frame(earth, np.where(ok[..., None], xi[..., :3], 1e7), cfg.level)
    up = rot[..., 2, :]  # u = grad h at r_i
    v = xi[..., 3:6]
    hdot = np.einsum("...i,...i->...", up, v)  # u' v_i
    hdot = np.where(ok & (hdot != 0), hdot, -1.0)
    phi_r = np.where(ok[..., None, None], ev.stm, 0.0)[..., :3, :]  # d r(t_i) / d x(t)
    # M = I - v_i u' / hdot  (moves along v_i back onto the level surface)
    m = np.eye(3) - v[..., :, None] * up[..., None, :] / hdot[..., None, None]
    g = rot[..., :2, :] @ m @ phi_r  # G = E (I - v u'/hdot) Phi_r,  (..., 2, n)
    jt = -np.einsum("...i,...in->...n", up, phi_r) / hdot[..., None]  # J_t = -u' Phi_r / hdot
    cov_g = g @ cov @ np.swapaxes(g, -1, -2)  # G P G'
    cov_g = 0.5 * (cov_g + np.swapaxes(cov_g, -1, -2))
    t_var = np.einsum("...i,...ij,...j->...", jt, cov, jt)  # J_t P J_t'
    nan = np.where(ok, 1.0, np.nan)
    return ImpactPrediction(
        ev.t,
        lat * nan,
        lon * nan,
        np.zeros(ok.shape + (2,)) * nan[..., None],
        cov_g * nan[..., None, None],
        ok,
        ev.t - t,
        t_var * nan,
    )


def _point_moments(
    ev_state: NDArray,
    ev_t: NDArray,
    crossed: NDArray,
    wm: NDArray,
    wc: NDArray,
    earth: EarthModel,
    level: float,
    t: NDArray,
    require_all: bool,
) -> ImpactPrediction:
    """Moments (b), (c) of impacts of points ``(..., L)`` with weights wm, wc ``(..., L)``."""
    r = ev_state[..., :3]
    # weights restricted to the points that came down (renormalised)
    wm = np.where(crossed, wm, 0.0)
    sm = wm.sum(-1, keepdims=True)
    any_ok = cast(NDArray, crossed.any(-1))  # (...) bool
    wm = wm / np.where(sm != 0, sm, 1.0)
    r0 = np.where(crossed[..., None], r, 0.0)
    rbar = np.einsum("...l,...li->...i", wm, r0)  # sum_k Wm_k r_k
    rbar = np.where(any_ok[..., None], rbar, 1e7)
    lat, lon, p0, rot = _ground_frame(earth, rbar, level)
    d = np.einsum(
        "...ij,...lj->...li", rot[..., :2, :], r0 - p0[..., None, :]
    )  # d_k = E (r_k - p0)
    mean = np.einsum("...l,...li->...i", wm, d)  # sum Wm_k d_k
    dd = np.where(crossed[..., None], d - mean[..., None, :], 0.0)
    wcz = np.where(crossed, wc, 0.0)
    cov = np.einsum("...l,...li,...lj->...ij", wcz, dd, dd)  # sum Wc_k dd_k dd_k'
    tk = np.where(crossed, ev_t, 0.0)
    tbar = np.einsum("...l,...l->...", wm, tk)
    t_var = np.einsum("...l,...l->...", wcz, np.where(crossed, tk - tbar[..., None], 0.0) ** 2)
    valid = cast(NDArray, crossed.all(-1)) if require_all else any_ok
    nan = np.where(any_ok, 1.0, np.nan)
    return ImpactPrediction(
        tbar * nan,
        lat * nan,
        lon * nan,
        mean * nan[..., None],
        cov * nan[..., None, None],
        valid,
        (tbar - t) * nan,
        t_var * nan,
    )


def _unscented(
    belief: Gaussian,
    model: object,
    t: NDArray,
    cfg: EventConfig,
    rule: SigmaPointRule,
    prop: str,
) -> ImpactPrediction:
    """Method (b): every sigma point to its own impact (module docstring)."""
    x = sigma_points(belief, rule)  # (..., L, n)
    ev = _fly(model, x, t[..., None], cfg, False, prop)
    return _point_moments(
        ev.state, ev.t, ev.crossed, rule.wm, rule.wc, _earth(model, cfg), cfg.level, t, True
    )


def _montecarlo(
    belief: Gaussian,
    model: object,
    t: NDArray,
    cfg: EventConfig,
    rng: np.random.Generator,
    samples: int,
    prop: str,
) -> ImpactPrediction:
    """Method (c): S samples of the Gaussian to their impacts (module docstring)."""
    lc = cholesky_lower(belief.cov)
    batch = np.broadcast_shapes(belief.mean.shape[:-1], lc.shape[:-2])
    n = belief.mean.shape[-1]
    z = rng.standard_normal(batch + (samples, n))
    x = belief.mean[..., None, :] + np.einsum("...ij,...sj->...si", lc, z)  # x + L z_s
    ev = _fly(model, x, t[..., None], cfg, False, prop)
    w = np.full(samples, 1.0 / samples)
    out = _point_moments(ev.state, ev.t, ev.crossed, w, w, _earth(model, cfg), cfg.level, t, True)
    # unbiased sample covariance: 1 / (S_ok - 1) instead of 1 / S (weights renormalised)
    s_ok = ev.crossed.sum(-1)
    f = s_ok / np.maximum(s_ok - 1, 1)
    corr = samples / np.maximum(s_ok, 1) * f
    return out._replace(cov_ground=out.cov_ground * corr[..., None, None], t_var=out.t_var * corr)


def predict_impact(
    belief: Gaussian,
    model: object,
    t: ArrayLike,
    method: Method = "linear",
    rng: np.random.Generator | None = None,
    samples: int = 1000,
    *,
    rule: SigmaPointRule | None = None,
    config: EventConfig | None = None,
    propagation: Propagation = "fast",
) -> ImpactPrediction:
    """Impact point and its ground covariance for Gaussian beliefs (module docstring).

    Parameters
    ----------
    belief : Gaussian
        mean ``(..., n)``, cov ``(..., n, n)`` (or shared ``(n, n)``), ECEF SI at time t.
    model : MotionModel
        Dynamics to fly the belief with (e.g. ``Ballistic(beta=...)``); ``model.earth``
        defines the surface.
    t : float or (...) array
        Time of the belief [s since the epoch].
    method : "linear", "unscented" or "montecarlo"
    rng : numpy.random.Generator
        Required for ``"montecarlo"``.
    samples : int
        Monte Carlo sample count S (>= 2).
    rule : SigmaPointRule, optional
        Unscented rule (default :func:`~trackers.filters.sigma_points.cubature` (n)).
    config : EventConfig, optional
        Impact level and step control of the propagation.
    propagation : "fast" or "reference"
        ``"fast"`` (default): :func:`trackers.impact.ground.propagate_to_ground` (fixed RK4
        steps of :data:`~trackers.impact.ground.FAST_STEP` for drag-free models, compiled when
        Numba is installed; tested against the reference within 5 m and 2 % of the ground
        covariance); ``"reference"``: :func:`trackers.models.events.propagate_to_altitude`
        with the step rules of ``config``.

    Returns
    -------
    ImpactPrediction
        Batch shape ``(...)`` of the belief.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if propagation not in _PROPAGATIONS:
        raise ValueError(f"propagation must be one of {_PROPAGATIONS}, got {propagation!r}")
    cfg = EventConfig() if config is None else config
    if not isinstance(cfg, EventConfig):
        raise TypeError(f"config must be an EventConfig, got {type(cfg).__name__}")
    n = getattr(model, "ndim", None)
    if not isinstance(n, int):
        raise TypeError(f"model must be a MotionModel with an integer ndim, got {model!r}")
    mean, cov = _check_belief(belief, n)
    batch = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    t = np.broadcast_to(np.asarray(t, float), batch)
    if not np.all(np.isfinite(t)):
        raise ValueError(f"t must be finite, got {t!r}")
    mean = np.broadcast_to(mean, batch + (n,))
    if method == "linear":
        return _linear(mean, cov, model, t, cfg, propagation)
    cov = np.broadcast_to(cov, batch + (n, n))
    if method == "unscented":
        rule = cubature(n) if rule is None else rule
        if not isinstance(rule, SigmaPointRule) or rule.ndim != n:
            raise ValueError(f"rule must be a SigmaPointRule of dimension {n}, got {rule!r}")
        return _unscented(Gaussian(mean, cov), model, t, cfg, rule, propagation)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator for method 'montecarlo', got {rng!r}"
        )
    if not (isinstance(samples, int | np.integer) and samples >= 2):
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    return _montecarlo(Gaussian(mean, cov), model, t, cfg, rng, int(samples), propagation)


def predict_impact_mixture(
    belief: IMMBelief,
    imm: IMM,
    t: ArrayLike,
    method: Method = "linear",
    rng: np.random.Generator | None = None,
    samples: int = 1000,
    *,
    config: EventConfig | None = None,
    propagation: Propagation = "fast",
) -> ImpactMixture:
    """Impact prediction of every IMM mode and their mixture (module docstring).

    Parameters
    ----------
    belief : IMMBelief
        Mode Gaussians (each in its mode's state space) and probabilities ``(..., M)``.
    imm : IMM
        The estimator; mode j is flown with ``imm.modes[j].model``.
    t, method, rng, samples, config, propagation
        As in :func:`predict_impact` (the unscented rule is the cubature rule of each mode).

    Returns
    -------
    ImpactMixture
    """
    if not isinstance(belief, IMMBelief):
        raise TypeError(f"belief must be an IMMBelief, got {type(belief).__name__}")
    if not isinstance(imm, IMM):
        raise TypeError(f"imm must be an IMM, got {type(imm).__name__}")
    if len(belief.modes) != imm.nmodes:
        raise ValueError(
            f"belief has {len(belief.modes)} modes, the IMM {imm.nmodes}: they must match"
        )
    cfg = EventConfig() if config is None else config
    preds = tuple(
        predict_impact(g, mode.model, t, method, rng, samples, config=cfg, propagation=propagation)
        for g, mode in zip(belief.modes, imm.modes, strict=True)
    )
    w = np.asarray(belief.probs, float)
    earth = _earth(imm.modes[0].model, cfg)
    ok = np.stack([p.valid for p in preds], axis=-1)  # (..., M)
    wv = np.where(ok, w, 0.0)
    sw = wv.sum(-1, keepdims=True)
    wv = wv / np.where(sw > 0, sw, 1.0)
    # each mode's mean impact position in ECEF: p0_j + E_j' m_j
    pos, rots = [], []
    for p in preds:
        lat = np.where(p.valid, p.lat, 0.0)
        lon = np.where(p.valid, p.lon, 0.0)
        rot = enu_rotation(lat, lon)
        p0 = earth.to_ecef(lat, lon, np.full(lat.shape, cfg.level))
        m = np.where(p.valid[..., None], p.mean_enu, 0.0)
        pos.append(p0 + np.einsum("...ji,...j->...i", rot[..., :2, :], m))
        rots.append(rot)
    pos_a = np.stack(pos, axis=-2)  # (..., M, 3)
    rbar = np.einsum("...j,...ji->...i", wv, pos_a)
    lat, lon, p0, rot = _ground_frame(earth, rbar, cfg.level)
    e = rot[..., :2, :]
    means = np.einsum("...ij,...mj->...mi", e, pos_a - p0[..., None, :])  # common-plane means
    covs = []
    for p, r_j in zip(preds, rots, strict=True):
        a = e @ np.swapaxes(r_j[..., :2, :], -1, -2)  # (2 x 2) rotation plane j -> common
        c = np.where(p.valid[..., None, None], p.cov_ground, 0.0)
        covs.append(a @ c @ np.swapaxes(a, -1, -2))
    covs_a = np.stack(covs, axis=-3)  # (..., M, 2, 2)
    # moment matching: m = sum w_j m_j, C = sum w_j [C_j + (m_j - m)(m_j - m)']
    mbar = np.einsum("...j,...ji->...i", wv, means)
    d = means - mbar[..., None, :]
    cbar = np.einsum("...j,...jab->...ab", wv, covs_a + d[..., :, None] * d[..., None, :])
    tt = np.stack([np.where(p.valid, p.t_impact, 0.0) for p in preds], axis=-1)
    tv = np.stack([np.where(p.valid, p.t_var, 0.0) for p in preds], axis=-1)
    tbar = np.einsum("...j,...j->...", wv, tt)
    t_var = np.einsum("...j,...j->...", wv, tv + (tt - tbar[..., None]) ** 2)
    anyv = cast(NDArray, ok.any(-1))  # (...) bool
    nan = np.where(anyv, 1.0, np.nan)
    t = np.asarray(t, float)
    combined = ImpactPrediction(
        tbar * nan,
        lat * nan,
        lon * nan,
        mbar * nan[..., None],
        cbar * nan[..., None, None],
        anyv,
        (tbar - t) * nan,
        t_var * nan,
    )
    return ImpactMixture(preds, w, means, covs_a, combined)
