"""Compiled (Numba) backend of the time loop for per-run covariances: KF, EKF, UKF, CKF, IMM.

    run_compiled(estimator, prior, stream, sensors, t0=0.0, block=64) -> runner.Summary
    runner.run(..., keep="final", backend="numba" | "auto")   (the same, via run_backend)

does what ``runner.run(..., keep="final")`` does (final belief, running NIS statistics) in
one compiled call over all runs and all reports, parallel over blocks of runs; a linear KF
with linear sensors holds the runs of a block side by side (SIMD across runs)
(:mod:`trackers.filters.compiled._kernels` states the equations). The NumPy path stays the
reference: tests/test_filters_compiled.py checks both agree to 1e-12 relative.

Supported (anything else raises ``ValueError`` naming what is not supported):

- estimators: ``Filter(KF() | EKF() | UKF(alpha, beta, kappa) | CKF(), model)`` and ``IMM``
  of KF / EKF modes whose models share one state vector (equal ``state_names``), with a
  fixed or ``SojournTransition`` matrix;
- motion models: linear models with ``transition_matrix`` (CV, CA, Singer; F and Q are
  evaluated once per report, shared by the runs) and :class:`trackers.models.Ballistic`:
  J2 or point-mass gravity, rotating or not, WGS-84 or spherical Earth, without drag, with a
  fixed ``beta`` (6 states) or with ``drag_state=True`` (7 states, x[6] = ln beta), in the
  US76, exponential or no atmosphere (``earth.atmosphere``);
- sensors: :class:`trackers.models.RadarMeasurement` (range, az, el[, range-rate]) and
  linear sensors with ``matrix()`` (e.g. ``LinearPosition``).

``runner.run(..., backend="numba")`` calls :func:`run_compiled` and raises ``ValueError``
naming what it does not support (also ``keep="all"``, ``truth`` and extra ``recorders``:
it keeps the final belief and NIS statistics only); ``backend="auto"`` falls back to the
NumPy path instead (:func:`run_backend`, :func:`unsupported`).

The process noise is evaluated once per report (``model.process_noise(0, dt, t)``), shared by
the runs: it must not depend on the state, which holds for every supported model (the
ballistic Q, 7-state included, depends on dt only: :mod:`trackers.models.ballistic`).

Numba is an optional dependency (``pip install 'ballistic-trackers[compiled]'``). Kernels
are compiled on first use and cached on disk (``cache=True``): the first call on a machine
pays the compile time once (see benchmarks/speed_compiled.py for the measured value).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trackers.filters.compiled._params import NPAR, motion_params
from trackers.filters.estimator import Filter
from trackers.filters.gaussian import Gaussian
from trackers.filters.imm import IMM, IMMBelief, SojournTransition
from trackers.filters.rules import CKF, EKF, KF, UKF
from trackers.filters.runner import MeasurementStream, RunStats, Summary
from trackers.filters.validation import check_gaussian, check_times
from trackers.models.ballistic import Ballistic
from trackers.models.base import MeasurementModel
from trackers.models.radar import RadarMeasurement

__all__ = ["BACKENDS", "available", "run_backend", "run_compiled", "unsupported"]

#: values of ``runner.run(..., backend=...)``
BACKENDS = ("numpy", "numba", "auto")

_MISSING = (
    "the compiled backend needs the optional dependency numba (>= 0.59): "
    "pip install 'ballistic-trackers[compiled]' (or pip install numba)"
)


def available() -> bool:
    """True if numba can be imported (the compiled backend can run)."""
    try:
        importlib.import_module("numba")
    except ImportError:
        return False
    return True


def _load_kernels() -> Any:
    """The kernel module (imports numba; ImportError with install instructions if missing)."""
    try:
        return importlib.import_module("trackers.filters.compiled._kernels")
    except ImportError as exc:
        if "numba" in str(exc):
            raise ImportError(_MISSING) from exc
        raise


def _arr(a: Any, dtype: Any = float) -> NDArray:
    """C-contiguous and writable (a read-only view, e.g. from broadcast_to, is copied).

    Numba compiles one specialisation per argument type, and read-only arrays are a
    different type: without this, one kernel would be compiled (and cached) up to 2^k times.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.writeable else a.copy()


def _motion_arrays(model: Any, n: int, dts: NDArray, t_prev: NDArray, owner: str) -> tuple:
    """(kind, F (T, n, n), Q (T, n, n), par (NPAR,), max_step) of one motion model.

    ``par``: :func:`trackers.filters.compiled._params.motion_params` (Earth constants, drag,
    atmosphere tables) for a :class:`Ballistic` model, zeros for a linear one.
    """
    T = dts.shape[0]
    zeros = np.zeros(n)
    Q = _arr(
        np.stack([model.process_noise(zeros, dt, t) for dt, t in zip(dts, t_prev, strict=True)])
        if T
        else np.zeros((0, n, n)),
        dtype=float,
    ).reshape(T, n, n)
    if isinstance(model, Ballistic):
        par = motion_params(model, owner)
        return 1, np.zeros((T, n, n)), Q, par, float(model.max_step)
    if hasattr(model, "transition_matrix"):
        F = np.stack([np.asarray(model.transition_matrix(dt), float) for dt in dts]) if T else None
        F = np.zeros((0, n, n)) if F is None else _arr(F).reshape(T, n, n)
        return 0, F, Q, np.zeros(NPAR), 1.0
    raise ValueError(
        f"{owner}: the compiled backend supports linear models (with transition_matrix) and "
        f"Ballistic, got {type(model).__name__}"
    )


def _sensor_arrays(sensors: Sequence[MeasurementModel], n: int, mmax: int) -> tuple:
    """(kind (S,), H (S, mmax, n), R (S, mmax, mmax), m (S,), site (S, 3), rot (S, 3, 3))."""
    S = len(sensors)
    kind = np.zeros(S, dtype=np.int64)
    H = np.zeros((S, mmax, n))
    R = np.zeros((S, mmax, mmax))
    m = np.zeros(S, dtype=np.int64)
    site = np.zeros((S, 3))
    rot = np.zeros((S, 3, 3))
    for i, s in enumerate(sensors):
        mi = int(s.ndim_meas)
        m[i] = mi
        R[i, :mi, :mi] = np.asarray(s.noise_cov(), float)
        if isinstance(s, RadarMeasurement):
            if n < 6 and mi == 4:
                raise ValueError(f"sensors[{i}]: range-rate needs states with n >= 6, got {n}")
            kind[i] = 1
            site[i] = s.site_ecef
            rot[i] = s.enu_rotation
        elif hasattr(s, "matrix"):
            Hi = np.asarray(s.matrix(), float)
            if Hi.shape != (mi, n) or tuple(getattr(s, "angle_indices", ())):
                raise ValueError(
                    f"sensors[{i}]: a linear sensor needs matrix() of shape ({mi}, {n}) and no "
                    f"angle components, got {Hi.shape}"
                )
            H[i, :mi] = Hi
        else:
            raise ValueError(
                f"sensors[{i}]: the compiled backend supports RadarMeasurement and linear "
                f"sensors with matrix(), got {type(s).__name__}"
            )
    return kind, H, R, m, site, rot


def _check_rule(rule: Any, owner: str, sigma: bool = False) -> None:
    """ValueError unless ``rule`` is KF, analytic EKF (or, with ``sigma``, UKF / CKF)."""
    ok = isinstance(rule, KF | EKF) and not (isinstance(rule, EKF) and rule.numerical)
    if sigma and isinstance(rule, UKF | CKF):
        ok = True
    if not ok:
        what = (
            "the KF, the analytic EKF, the UKF and the CKF"
            if sigma
            else ("the KF and the analytic EKF (in IMM modes)")
        )
        raise ValueError(f"{owner}: the compiled backend supports {what} rules, got {rule!r}")


def run_compiled(
    estimator: Filter | IMM,
    prior: Gaussian | IMMBelief,
    stream: MeasurementStream,
    sensors: Sequence[MeasurementModel] | MeasurementModel,
    *,
    t0: float = 0.0,
    block: int = 64,
    simd: bool = True,
) -> Summary:
    """``runner.run(estimator, prior, stream, sensors, t0=t0, keep="final")``, compiled.

    Parameters
    ----------
    estimator : Filter or IMM
        ``Filter(KF() | EKF() | UKF() | CKF(), model)`` or an IMM of KF / EKF modes.
    prior : Gaussian or IMMBelief
        Belief at ``t0``; mean ``(..., n)``, cov ``(..., n, n)`` (or ``(n, n)``), batch axes
        broadcastable to those of ``stream.z``.
    stream : MeasurementStream
        Reports: t ``(T,)`` [s], sensor ``(T,)``, z ``(..., T, m_max)`` (NaN rows: misses).
    sensors : sequence of MeasurementModel (or one)
        ``stream.sensor`` indexes into it.
    t0 : float
        Time of the prior [s].
    block : int
        Runs per parallel work item (>= 1).
    simd : bool
        For a linear model with linear sensors (KF), hold the ``block`` runs of a work item
        side by side and vectorise every operation across them (default); False: one run
        after the other (the general kernel).

    Returns
    -------
    Summary
        Final belief, its Gaussian and :class:`~trackers.filters.runner.RunStats` (NIS
        statistics; no truth statistics).
    """
    K = _load_kernels()
    if not isinstance(block, int | np.integer) or isinstance(block, bool) or block < 1:
        raise ValueError(f"block must be an int >= 1, got {block!r}")
    if not isinstance(stream, MeasurementStream):
        raise TypeError(f"stream must be a MeasurementStream, got {type(stream).__name__}")
    if isinstance(sensors, MeasurementModel):
        sensors = (sensors,)
    sensors = tuple(sensors)
    if not sensors:
        raise ValueError("sensors must contain at least one MeasurementModel")
    if not np.isfinite(t0):
        raise ValueError(f"t0 must be finite, got {t0!r}")
    t = check_times("stream.t", stream.t, float(t0))
    T = t.shape[0]
    sidx = np.asarray(stream.sensor)
    if sidx.shape != (T,) or not np.issubdtype(sidx.dtype, np.integer):
        raise ValueError(f"stream.sensor must be an int array of shape ({T},), got {sidx.shape}")
    if T and (sidx.min() < 0 or sidx.max() >= len(sensors)):
        raise ValueError(
            f"stream.sensor values must be in [0, {len(sensors) - 1}], got "
            f"[{sidx.min()}, {sidx.max()}]"
        )
    z = np.asarray(stream.z, dtype=float)
    m_need = max(int(sensors[i].ndim_meas) for i in np.unique(sidx)) if T else 0
    if z.ndim < 2 or z.shape[-2] != T or z.shape[-1] < m_need:
        raise ValueError(f"stream.z must be (..., T={T}, m_max>={m_need}), got shape {z.shape}")
    if np.any(np.isinf(z)):
        raise ValueError("stream.z must not contain inf (use NaN for missed detections)")

    is_imm = isinstance(estimator, IMM)
    if isinstance(estimator, IMM):  # (= is_imm, spelled out to narrow the type)
        if not isinstance(prior, IMMBelief):
            raise TypeError(f"prior must be an IMMBelief for an IMM, got {type(prior).__name__}")
        names = {tuple(m.model.state_names) for m in estimator.modes}
        if len(names) != 1:
            raise ValueError(
                "estimator: the compiled IMM needs modes with one common state vector (equal "
                f"state_names), got {sorted(names)}"
            )
        for j, mode in enumerate(estimator.modes):
            _check_rule(mode.rule, f"estimator.modes[{j}].rule")
        gs = [check_gaussian(f"prior.modes[{j}]", g) for j, g in enumerate(prior.modes)]
        n = gs[0].mean.shape[-1]
        pbatch = np.broadcast_shapes(
            *(g.mean.shape[:-1] for g in gs),
            *(g.cov.shape[:-2] for g in gs),
            prior.probs.shape[:-1],
        )
    elif isinstance(estimator, Filter):
        _check_rule(estimator.rule, "estimator.rule", sigma=True)
        if not isinstance(prior, Gaussian):
            raise TypeError(f"prior must be a Gaussian for a Filter, got {type(prior).__name__}")
        g = check_gaussian("prior", prior)
        n = g.mean.shape[-1]
        if n != estimator.ndim:
            raise ValueError(
                f"prior.mean must be (..., {estimator.ndim}) for {estimator.model!r}, got "
                f"shape {g.mean.shape}"
            )
        pbatch = np.broadcast_shapes(g.mean.shape[:-1], g.cov.shape[:-2])
    else:
        raise ValueError(
            f"estimator: the compiled backend supports Filter and IMM, got "
            f"{type(estimator).__name__}"
        )
    try:
        batch = np.broadcast_shapes(pbatch, z.shape[:-2])
    except ValueError:
        raise ValueError(
            f"batch axes of prior {pbatch} and stream.z {z.shape[:-2]} do not broadcast"
        ) from None
    N = int(np.prod(batch)) if batch else 1
    mmax = max(int(z.shape[-1]), 1)
    if z.shape[:-2] != batch:
        z = np.broadcast_to(z, (*batch, T, z.shape[-1]))
    zf = _arr(z.reshape(N, T, -1))
    dts = np.diff(np.concatenate([[float(t0)], t]))
    t_prev = np.concatenate([[float(t0)], t[:-1]])
    sk, Hs, Rs, sm, sites, rots = _sensor_arrays(sensors, n, mmax)
    sidx = _arr(sidx, dtype=np.int64)

    nblocks = -(-N // int(block))
    numba = importlib.import_module("numba")
    threads = numba.get_num_threads()
    # fewer blocks than threads: the idle threads would only add a barrier per call (which on
    # a loaded machine waits for them to be scheduled: tens of ms)
    numba.set_num_threads(max(1, min(threads, nblocks)))
    try:
        return _run(
            K,
            estimator,
            prior,
            is_imm,
            gs if is_imm else None,
            n,
            batch,
            N,
            T,
            zf,
            dts,
            t_prev,
            sidx,
            sk,
            Hs,
            Rs,
            sm,
            sites,
            rots,
            block,
            simd,
            t,
            sensors,
        )
    finally:
        numba.set_num_threads(threads)


def _run(
    K,
    estimator,
    prior,
    is_imm,
    gs,
    n,
    batch,
    N,
    T,
    zf,
    dts,
    t_prev,
    sidx,
    sk,
    Hs,
    Rs,
    sm,
    sites,
    rots,
    block,
    simd,
    t,
    sensors,
) -> Summary:
    """The kernel call of :func:`run_compiled` (inputs checked and flattened)."""

    def flat(a: NDArray, tail: tuple[int, ...]) -> NDArray:
        return _arr(np.broadcast_to(np.asarray(a, float), batch + tail)).reshape((N, *tail))

    if not is_imm:
        kind, F, Q, par, max_step = _motion_arrays(estimator.model, n, dts, t_prev, "model")
        rule = estimator.rule
        if isinstance(rule, UKF | CKF):
            # sigma-point rule as data: unit points xi (L, n), weights wm, wc (L,)
            pts = rule.points(n)
            out = K.sigma_runs(
                flat(prior.mean, (n,)), flat(prior.cov, (n, n)), zf, dts, kind, F, Q, par,
                max_step, sidx, sk, Hs, Rs, sm, sites, rots,
                _arr(pts.unit_points), _arr(pts.wm), _arr(pts.wc), int(block),
            )  # fmt: skip
        elif simd and kind == 0 and not np.any(sk):
            # linear model and linear sensors: runs side by side, SIMD across runs
            out = K.kf_soa_runs(
                flat(prior.mean, (n,)), flat(prior.cov, (n, n)), zf, dts, F, Q,
                sidx, Hs, Rs, sm, int(block),
            )  # fmt: skip
        else:
            out = K.filter_runs(
                flat(prior.mean, (n,)),
                flat(prior.cov, (n, n)),
                zf,
                dts,
                kind,
                F,
                Q,
                par,
                max_step,
                sidx,
                sk,
                Hs,
                Rs,
                sm,
                sites,
                rots,
                int(block),
            )
        x, P, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt = out
        final_g = Gaussian(x.reshape(*batch, n), P.reshape(*batch, n, n))
        final: Gaussian | IMMBelief = final_g
    else:
        M = estimator.nmodes
        parts = [
            _motion_arrays(m.model, n, dts, t_prev, f"estimator.modes[{j}].model")
            for j, m in enumerate(estimator.modes)
        ]
        kinds = np.array([p[0] for p in parts], dtype=np.int64)
        Fs = _arr(np.stack([p[1] for p in parts]))
        Qs = _arr(np.stack([p[2] for p in parts]))
        pars = _arr(np.stack([p[3] for p in parts]))
        msteps = np.array([p[4] for p in parts], dtype=float)
        if isinstance(estimator.transition, SojournTransition):
            trans = np.stack([estimator.transition_matrix(float(dt)) for dt in dts])
        else:
            trans = np.broadcast_to(np.asarray(estimator.transition, float), (T, M, M))
        trans = _arr(trans).reshape(T, M, M)
        x0 = np.stack([flat(g.mean, (n,)) for g in gs], axis=1)
        P0 = np.stack([flat(g.cov, (n, n)) for g in gs], axis=1)
        mu0 = flat(prior.probs, (M,))
        out = K.imm_runs(
            x0, P0, mu0, zf, dts, trans, kinds, Fs, Qs, pars, msteps,
            sidx, sk, Hs, Rs, sm, sites, rots, int(block),
        )  # fmt: skip
        x, P, mu, nis_sum, nis_cnt, ll_sum, ep_nis, ep_cnt = out
        modes = tuple(
            Gaussian(x[:, j].reshape(*batch, n), P[:, j].reshape(*batch, n, n)) for j in range(M)
        )
        final = IMMBelief(modes, mu.reshape(*batch, M))
        final_g = estimator.gaussian(final)
    cnt = ep_cnt.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        epoch = np.where(cnt > 0, ep_nis.sum(axis=0) / np.maximum(cnt, 1), np.nan)
    stats = RunStats(
        runs=N,
        epoch_nis=epoch,
        epoch_nis_count=cnt,
        epoch_nis_dof=np.array([int(sensors[s].ndim_meas) for s in sidx], dtype=int),
        nis_sum=nis_sum.reshape(batch),
        nis_count=nis_cnt.reshape(batch),
        loglik_sum=ll_sum.reshape(batch),
    )
    return Summary(t=t, final=final, final_gaussian=final_g, stats=stats, extra={})


def unsupported(estimator: Any, sensors: Sequence[MeasurementModel]) -> str | None:
    """Why the compiled backend cannot filter with this estimator and these sensors.

    Checks the configuration only (rule, motion model, sensors; module docstring), not the
    data. Returns None when :func:`run_compiled` supports it, otherwise the message of the
    ``ValueError`` it would raise.
    """
    try:
        if isinstance(estimator, IMM):
            names = {tuple(m.model.state_names) for m in estimator.modes}
            if len(names) != 1:
                return (
                    "estimator: the compiled IMM needs modes with one common state vector "
                    f"(equal state_names), got {sorted(names)}"
                )
            pairs = [
                (m.rule, m.model, f"estimator.modes[{j}]") for j, m in enumerate(estimator.modes)
            ]
            for rule, _, owner in pairs:
                _check_rule(rule, f"{owner}.rule")
        elif isinstance(estimator, Filter):
            pairs = [(estimator.rule, estimator.model, "estimator")]
            _check_rule(estimator.rule, "estimator.rule", sigma=True)
        else:
            return (
                "estimator: the compiled backend supports Filter and IMM, got "
                f"{type(estimator).__name__}"
            )
        n = int(pairs[0][1].ndim)
        empty = np.zeros(0)
        for _, model, owner in pairs:
            _motion_arrays(model, n, empty, empty, f"{owner}.model")
        _sensor_arrays(sensors, n, 4)
    except ValueError as exc:
        return str(exc)
    return None


def run_backend(
    backend: str,
    estimator: Any,
    prior: Any,
    stream: MeasurementStream,
    sensors: Sequence[MeasurementModel],
    *,
    t0: float,
    keep: str,
    truth: NDArray | None,
    recorders: Sequence[Any],
) -> Summary | None:
    """The ``backend=`` switch of :func:`trackers.filters.runner.run`.

    ``"numpy"``: None (the caller runs its NumPy loop). ``"numba"``: :func:`run_compiled`, or
    ``ValueError`` naming what it does not support (``keep="all"``, ``truth``, extra
    ``recorders``, or the estimator / model / sensors: :func:`unsupported`) and
    ``ImportError`` with install instructions when numba is missing. ``"auto"``: the compiled
    backend when numba is installed and the call is supported, otherwise None.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "numpy":
        return None
    options = []
    if keep != "final":
        options.append(f"keep={keep!r} (it returns the final belief and NIS statistics: "
                       "keep='final')")  # fmt: skip
    if truth is not None:
        options.append("truth= (error and NEES statistics)")
    if len(recorders):
        options.append(f"recorders= ({', '.join(repr(r.name) for r in recorders)})")
    problem = "; ".join(options) if options else unsupported(estimator, sensors)
    if backend == "auto":
        return run_compiled(estimator, prior, stream, sensors, t0=t0) if (
            problem is None and available()
        ) else None  # fmt: skip
    if problem is not None:
        raise ValueError(f"backend='numba' does not support {problem}; use backend='numpy' "
                         "(or 'auto', which falls back to it)")  # fmt: skip
    return run_compiled(estimator, prior, stream, sensors, t0=t0)
