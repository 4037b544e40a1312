"""The time loop: drive an ``Estimator`` through a measurement stream for all runs at once.

    run(estimator, prior, stream, sensors, t0=0.0, keep="all" | "final", truth=None)

For every report k (in time order; several sensors may report at the same time):

    dt_k = t_k - t_{k-1}  (t_{-1} = t0, the prior's time)
    belief <- estimator.predict(belief, dt_k, t_{k-1})      (skipped when dt_k == 0)
    belief, info <- estimator.update(belief, z_k[..., :m_s], sensors[s_k])

Leading axes ``...`` of ``stream.z`` are Monte Carlo runs; NaN rows are missed detections of
that run, NaN columns beyond m_s pad sensors with fewer measurement components. ``dt`` is one
float per step (the time grid is shared by all runs).

``keep="all"`` returns a :class:`Track` of stacked arrays; ``keep="final"`` returns a
:class:`Summary` holding the final belief and running statistics only, accumulated while
filtering, so N = 10^4 runs x T = 10^3 steps needs O(N n^2 + T n) memory. Runs are processed
in chunks of ``chunk`` (1024 by default when covariances are per run) so the working set stays
in cache (DESIGN.md "Speed"); models and sensors must then not carry per-run parameters (use
``chunk=None``). A prior covariance without batch axes (or with identical members) is kept
shared by all runs for as long as the filter keeps it so (linear KF without misses): one
covariance update serves every run.

Statistics (with ``truth`` ``(..., T, n)``, the true state at each report time):

    e_k = x_k - x_hat_k|k,   NEES_k = e_k' P_k|k^-1 e_k  (per group of state components)
    epoch_* = average over runs at each k;  *_sum = sum over k per run.

Reference: Bar-Shalom, Li & Kirubarajan 2001, §5.4 (NEES/NIS).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.estimator import Estimator, Filter
from trackers.filters.gaussian import Gaussian
from trackers.filters.linalg_small import inv_spd, quad_form
from trackers.filters.validation import (
    check_covariance,
    check_finite,
    check_gaussian,
    check_times,
)
from trackers.models.base import MeasurementModel

__all__ = ["MeasurementStream", "RunStats", "Summary", "Track", "run"]

#: Elements (steps x runs) of the buffers of per-step NIS / log-likelihood before reduction.
_STATS_BUFFER = 1 << 16


class MeasurementStream(NamedTuple):
    """Time-ordered reports of several sensors.

    Attributes
    ----------
    t : (T,) array
        Report times [s since epoch], nondecreasing.
    sensor : (T,) int array
        Index into the ``sensors`` sequence of :func:`run` for each report.
    z : (..., T, m_max) array
        Measurements (units of each sensor's model); NaN padding beyond the sensor's m,
        NaN rows for missed detections.
    """

    t: NDArray
    sensor: NDArray
    z: NDArray


class RunStats(NamedTuple):
    """Running statistics accumulated while filtering.

    Attributes
    ----------
    runs : int
        Number of Monte Carlo runs N (product of the batch axes).
    epoch_nis : (T,) array
        Mean NIS over the runs that had a detection at report k (NaN if none).
    epoch_nis_count : (T,) int array
        Number of runs with a detection at report k.
    epoch_nis_dof : (T,) int array
        Measurement dimension m of report k's sensor (chi-square degrees of freedom).
    nis_sum, nis_count, loglik_sum : (...) arrays
        Per run, sums over time (missed detections excluded).
    epoch_sq_err : (T, n) array or None
        Mean over runs of the squared estimation error per state component.
    sq_err_sum : (..., n) array or None
        Per run, sum over time of the squared error per component.
    epoch_nees : dict[str, (T,) array] or None
        Mean over runs of the NEES of each component group.
    nees_sum : dict[str, (...) array] or None
        Per run, sum over time of the NEES of each group.
    nees_dof : dict[str, int] or None
        Number of components in each group.
    """

    runs: int
    epoch_nis: NDArray
    epoch_nis_count: NDArray
    epoch_nis_dof: NDArray
    nis_sum: NDArray
    nis_count: NDArray
    loglik_sum: NDArray
    epoch_sq_err: NDArray | None = None
    sq_err_sum: NDArray | None = None
    epoch_nees: dict[str, NDArray] | None = None
    nees_sum: dict[str, NDArray] | None = None
    nees_dof: dict[str, int] | None = None


class Track(NamedTuple):
    """Filter output stacked over the T reports (``keep="all"``).

    Attributes
    ----------
    t : (T,) array
        Report times [s].
    sensor : (T,) int array
        Sensor index of each report.
    mean : (..., T, n) array
        Filtered (posterior) means x_k|k.
    cov : (..., T, n, n) array
        Filtered covariances P_k|k.
    innovation : (..., T, m_max) array
        Innovations, NaN-padded beyond the sensor's m and NaN for misses.
    S : (..., T, m_max, m_max) array
        Innovation covariances, NaN-padded.
    nis, loglik : (..., T) arrays
        NIS (NaN for misses) and log-likelihood (0 for misses).
    stats : RunStats
        The same statistics as with ``keep="final"``.
    """

    t: NDArray
    sensor: NDArray
    mean: NDArray
    cov: NDArray
    innovation: NDArray
    S: NDArray
    nis: NDArray
    loglik: NDArray
    stats: RunStats


class Summary(NamedTuple):
    """Final belief and running statistics (``keep="final"``).

    Attributes
    ----------
    t : (T,) array
        Report times [s].
    final : belief
        The estimator's belief after the last report (batch axes ``...``).
    final_gaussian : Gaussian
        ``estimator.gaussian(final)``.
    stats : RunStats
        Running statistics.
    """

    t: NDArray
    final: Any
    final_gaussian: Gaussian
    stats: RunStats


def _tree_map(fn: Callable[[NDArray], NDArray], tree: Any) -> Any:
    """Apply ``fn`` to every array leaf of nested tuples / NamedTuples / lists."""
    if isinstance(tree, np.ndarray):
        return fn(tree)
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(_tree_map(fn, v) for v in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(_tree_map(fn, v) for v in tree)
    return tree


def _validate(
    estimator: Estimator,
    prior: Any,
    stream: MeasurementStream,
    sensors: Sequence[MeasurementModel],
    t0: float,
    truth: NDArray | None,
) -> tuple[NDArray, NDArray, NDArray, NDArray | None, tuple[int, ...], int]:
    for meth in ("predict", "update", "gaussian"):
        if not callable(getattr(estimator, meth, None)):
            raise TypeError(
                f"estimator must implement predict/update/gaussian (Estimator protocol); "
                f"{type(estimator).__name__} has no {meth}()"
            )
    if not isinstance(stream, MeasurementStream):
        raise TypeError(f"stream must be a MeasurementStream, got {type(stream).__name__}")
    if isinstance(sensors, MeasurementModel):
        sensors = (sensors,)
    if len(sensors) == 0:
        raise ValueError("sensors must contain at least one MeasurementModel")
    for i, s in enumerate(sensors):
        if not isinstance(s, MeasurementModel):
            raise TypeError(f"sensors[{i}] must be a MeasurementModel, got {type(s).__name__}")
        check_covariance(f"sensors[{i}].noise_cov()", s.noise_cov(), int(s.ndim_meas))
    if not np.isfinite(t0):
        raise ValueError(f"t0 must be finite, got {t0!r}")
    t = check_times("stream.t", stream.t, t0)
    T = t.shape[0]
    sensor = np.asarray(stream.sensor)
    if sensor.shape != (T,) or not np.issubdtype(sensor.dtype, np.integer):
        raise ValueError(
            f"stream.sensor must be an integer array of shape ({T},), got {sensor.dtype} "
            f"{sensor.shape}"
        )
    if T and (sensor.min() < 0 or sensor.max() >= len(sensors)):
        raise ValueError(
            f"stream.sensor values must be in [0, {len(sensors) - 1}], got range "
            f"[{sensor.min()}, {sensor.max()}]"
        )
    z = np.asarray(stream.z, dtype=float)
    m_need = max(int(sensors[i].ndim_meas) for i in np.unique(sensor)) if T else 0
    if z.ndim < 2 or z.shape[-2] != T or z.shape[-1] < m_need:
        raise ValueError(f"stream.z must be (..., T={T}, m_max>={m_need}), got shape {z.shape}")
    if np.any(np.isinf(z)):
        raise ValueError("stream.z must not contain inf (use NaN for missed detections)")
    g = estimator.gaussian(prior)
    check_gaussian("prior", g)
    n = g.mean.shape[-1]
    if isinstance(estimator, Filter) and n != estimator.ndim:
        raise ValueError(
            f"prior.mean must be (..., {estimator.ndim}) for {estimator.model!r}, "
            f"got shape {g.mean.shape}"
        )
    prior_batch = g.mean.shape[:-1]
    shapes = [prior_batch, z.shape[:-2]]
    if truth is not None:
        truth = check_finite("truth", truth)
        if truth.ndim < 2 or truth.shape[-2:] != (T, n):
            raise ValueError(f"truth must be (..., T={T}, n={n}), got shape {truth.shape}")
        shapes.append(truth.shape[:-2])
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"batch axes of prior {prior_batch}, stream.z {z.shape[:-2]}"
            + (f", truth {truth.shape[:-2]}" if truth is not None else "")
            + " do not broadcast"
        ) from None
    if isinstance(estimator, Filter) and T:
        dts = np.diff(np.concatenate([[t0], t]))
        dt = float(dts[dts > 0][0]) if np.any(dts > 0) else 1.0
        Q = estimator.model.process_noise(g.mean, dt, t0)
        check_covariance(f"model.process_noise(prior.mean, dt={dt:g})", Q, n)
        x1, F = estimator.model.propagate_with_jacobian(g.mean, dt, t0)
        check_finite(f"model.propagate_with_jacobian(prior.mean, dt={dt:g}) state", x1)
        check_finite(f"model.propagate_with_jacobian(prior.mean, dt={dt:g}) Jacobian F", F)
    return t, sensor, z, truth, batch, n


def run(
    estimator: Estimator,
    prior: Any,
    stream: MeasurementStream,
    sensors: Sequence[MeasurementModel] | MeasurementModel,
    *,
    t0: float = 0.0,
    keep: Literal["all", "final"] = "all",
    truth: NDArray | None = None,
    nees_groups: Mapping[str, Sequence[int]] | None = None,
    chunk: int | Literal["auto"] | None = "auto",
) -> Track | Summary:
    """Filter every Monte Carlo run through ``stream``.

    Parameters
    ----------
    estimator : Estimator
        E.g. ``Filter(UKF(), model)`` or an IMM.
    prior : belief
        Belief at time ``t0`` (a ``Gaussian`` for ``Filter``), batch axes broadcastable to
        those of ``stream.z``.
    stream : MeasurementStream
        Reports, see :class:`MeasurementStream`.
    sensors : sequence of MeasurementModel (or one)
        ``stream.sensor`` indexes into it.
    t0 : float
        Time of the prior [s]; ``stream.t[0] >= t0``.
    keep : "all" or "final"
        Stacked history (:class:`Track`) or final belief plus statistics (:class:`Summary`).
    truth : (..., T, n) array, optional
        True states at the report times, for error and NEES statistics.
    nees_groups : mapping name -> component indices, optional
        Groups of state components for NEES (default ``{"state": all}``).
    chunk : int, "auto" or None
        Runs per chunk (after flattening the batch axes); None = all at once. "auto" (default):
        1024 when covariances are per run, None when the prior covariance is shared (a linear
        KF then carries one covariance for all runs and is cheapest in one piece).

    Returns
    -------
    Track or Summary
    """
    if keep not in ("all", "final"):
        raise ValueError(f"keep must be 'all' or 'final', got {keep!r}")
    if (
        chunk is not None
        and chunk != "auto"
        and (not isinstance(chunk, int | np.integer) or chunk < 1)
    ):
        raise ValueError(f"chunk must be a positive int, 'auto' or None, got {chunk!r}")
    if isinstance(sensors, MeasurementModel):
        sensors = (sensors,)
    sensors = tuple(sensors)
    t, sensor, z, truth, batch, n = _validate(estimator, prior, stream, sensors, t0, truth)
    T, m_max = t.shape[0], z.shape[-1]
    if nees_groups is None:
        nees_groups = {"state": tuple(range(n))}
    groups = {k: np.asarray(v, dtype=int) for k, v in nees_groups.items()}
    for k, v in groups.items():
        if v.ndim != 1 or v.size == 0 or v.min() < 0 or v.max() >= n:
            raise ValueError(f"nees_groups[{k!r}] must be indices in [0, {n - 1}], got {v}")
    N = int(np.prod(batch)) if batch else 1
    prior_batch = estimator.gaussian(prior).mean.shape[:-1]
    nb = len(prior_batch)

    def flat_leaf(a: NDArray) -> NDArray:
        a = np.asarray(a)
        return np.broadcast_to(a, batch + a.shape[nb:]).reshape((N, *a.shape[nb:]))

    # A Gaussian prior whose covariance has no batch axes keeps it shared (n, n): for a linear
    # KF the covariance does not depend on the data, so it stays shared (one O(n^3) update for
    # all runs) until a missed detection makes the runs differ.
    # (A batched prior covariance whose members are all equal is shared the same way.)
    shared_cov = False
    if isinstance(estimator, Filter) and isinstance(prior, Gaussian):
        cov0 = np.asarray(prior.cov, dtype=float)
        if cov0.ndim > 2:
            first = cov0.reshape(-1, n, n)[0]
            if np.array_equal(cov0, np.broadcast_to(first, cov0.shape)):
                cov0 = first
        shared_cov = cov0.ndim == 2
    if shared_cov:
        belief_flat = Gaussian(flat_leaf(prior.mean), cov0)
    else:
        belief_flat = _tree_map(flat_leaf, prior)
    z_flat = np.broadcast_to(z, (*batch, T, m_max)).reshape(N, T, m_max)
    truth_flat = None if truth is None else np.broadcast_to(truth, (*batch, T, n)).reshape(N, T, n)
    dts = np.diff(np.concatenate([[t0], t]))
    t_prev = np.concatenate([[t0], t[:-1]])
    dof = np.array([int(sensors[s].ndim_meas) for s in sensor], dtype=int)

    # accumulators
    ep_nis = np.zeros(T)
    ep_cnt = np.zeros(T, dtype=int)
    nis_sum = np.zeros(N)
    nis_cnt = np.zeros(N, dtype=int)
    ll_sum = np.zeros(N)
    with_truth = truth_flat is not None
    ep_sq = np.zeros((T, n)) if with_truth else None
    sq_sum = np.zeros((N, n)) if with_truth else None
    ep_nees = {k: np.zeros(T) for k in groups} if with_truth else None
    nees_sum = {k: np.zeros(N) for k in groups} if with_truth else None
    if keep == "all":
        out_mean = np.empty((N, T, n))
        out_cov = np.empty((N, T, n, n))
        out_nu = np.full((N, T, m_max), np.nan)
        out_S = np.full((N, T, m_max, m_max), np.nan)
        out_nis = np.empty((N, T))
        out_ll = np.empty((N, T))
    finals = []
    if chunk == "auto":
        chunk = None if shared_cov else 1024
    step = N if chunk is None else int(chunk)
    # per-step scalars as Python objects (no NumPy indexing inside the time loop)
    dt_list, tp_list, m_list = dts.tolist(), t_prev.tolist(), dof.tolist()
    sensor_list = [sensors[s] for s in sensor.tolist()]
    for lo in range(0, N, step):
        hi = min(N, lo + step)
        nc = hi - lo
        if shared_cov:
            belief = Gaussian(belief_flat.mean[lo:hi], belief_flat.cov)
        else:
            belief = _tree_map(lambda a, lo=lo, hi=hi: a[lo:hi], belief_flat)
        # NIS / log-likelihood rows are buffered and reduced every `nbuf` steps (one
        # vectorised reduction instead of ~8 small NumPy calls per step)
        nbuf = max(1, min(T, _STATS_BUFFER // nc))
        nis_buf = np.empty((nbuf, nc))
        ll_buf = np.empty((nbuf, nc))
        j = k0 = 0
        for k in range(T):
            if dt_list[k] > 0:
                belief = estimator.predict(belief, dt_list[k], tp_list[k])
            m = m_list[k]
            belief, info = estimator.update(belief, z_flat[lo:hi, k, :m], sensor_list[k])
            nis_buf[j] = info.nis
            ll_buf[j] = info.loglik
            j += 1
            if j == nbuf or k == T - 1:
                nis_b, ll_b = nis_buf[:j], ll_buf[:j]
                det = ~np.isnan(nis_b)
                ep_nis[k0 : k + 1] += np.sum(nis_b, axis=1, where=det)
                ep_cnt[k0 : k + 1] += det.sum(axis=1)
                nis_sum[lo:hi] += np.where(det, nis_b, 0.0).sum(axis=0)
                nis_cnt[lo:hi] += det.sum(axis=0)
                ll_sum[lo:hi] += ll_b.sum(axis=0)
                j, k0 = 0, k + 1
            if with_truth or keep == "all":
                g = estimator.gaussian(belief)
            if with_truth:
                e = truth_flat[lo:hi, k] - g.mean
                e2 = e * e
                ep_sq[k] += e2.sum(axis=0)
                sq_sum[lo:hi] += e2
                for name, idx in groups.items():
                    Pi, _ = inv_spd(g.cov[..., idx[:, None], idx[None, :]])
                    nees = quad_form(e[..., idx], Pi)
                    ep_nees[name][k] += nees.sum()
                    nees_sum[name][lo:hi] += nees
            if keep == "all":
                out_mean[lo:hi, k] = g.mean
                out_cov[lo:hi, k] = g.cov
                out_nu[lo:hi, k, :m] = info.innovation
                out_S[lo:hi, k, :m, :m] = info.S
                out_nis[lo:hi, k] = info.nis
                out_ll[lo:hi, k] = info.loglik
        if shared_cov:
            nb_chunk = hi - lo
            belief = Gaussian(belief.mean, np.broadcast_to(belief.cov, (nb_chunk, n, n)))
        finals.append(belief)

    with np.errstate(invalid="ignore", divide="ignore"):
        stats = RunStats(
            runs=N,
            epoch_nis=np.where(ep_cnt > 0, ep_nis / np.maximum(ep_cnt, 1), np.nan),
            epoch_nis_count=ep_cnt,
            epoch_nis_dof=dof,
            nis_sum=nis_sum.reshape(batch),
            nis_count=nis_cnt.reshape(batch),
            loglik_sum=ll_sum.reshape(batch),
            epoch_sq_err=None if ep_sq is None else ep_sq / N,
            sq_err_sum=None if sq_sum is None else sq_sum.reshape((*batch, n)),
            epoch_nees=None if ep_nees is None else {k: v / N for k, v in ep_nees.items()},
            nees_sum=None
            if nees_sum is None
            else {k: v.reshape(batch) for k, v in nees_sum.items()},
            nees_dof=None if not with_truth else {k: int(v.size) for k, v in groups.items()},
        )
    if keep == "all":
        return Track(
            t=t,
            sensor=sensor,
            mean=out_mean.reshape((*batch, T, n)),
            cov=out_cov.reshape((*batch, T, n, n)),
            innovation=out_nu.reshape((*batch, T, m_max)),
            S=out_S.reshape((*batch, T, m_max, m_max)),
            nis=out_nis.reshape((*batch, T)),
            loglik=out_ll.reshape((*batch, T)),
            stats=stats,
        )

    def unflat(*leaves: NDArray) -> NDArray:
        a = np.concatenate(leaves, axis=0) if len(leaves) > 1 else leaves[0]
        return a.reshape(batch + a.shape[1:])

    final = _tree_zip(unflat, finals)
    return Summary(t=t, final=final, final_gaussian=estimator.gaussian(final), stats=stats)


def _tree_zip(fn: Callable[..., NDArray], trees: list[Any]) -> Any:
    """Combine the matching array leaves of several trees of equal structure with ``fn``."""
    first = trees[0]
    if isinstance(first, np.ndarray):
        return fn(*trees)
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(_tree_zip(fn, list(parts)) for parts in zip(*trees, strict=True)))
    if isinstance(first, tuple | list):
        return type(first)(_tree_zip(fn, list(parts)) for parts in zip(*trees, strict=True))
    return first
