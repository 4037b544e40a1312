"""GOSPA: the generalised optimal sub-pattern assignment metric, batched over problems.

For a truth set X = {x_1..x_n} and an estimate set Y = {y_1..y_m} in a metric space with
base distance d, cut-off c > 0, order 1 <= p < inf and alpha = 2 (Rahmathullah,
García-Fernández & Svensson 2017, Proposition 1),

    d_p^(c,2)(X, Y) = [ min_gamma ( sum_{(i,j) in gamma} d(x_i, y_j)^p
                                    + c^p / 2 (|X| - |gamma|)
                                    + c^p / 2 (|Y| - |gamma|) ) ]^(1/p)

where gamma runs over the partial one-to-one assignments of X to Y whose pairs have
d(x_i, y_j) < c. A pair at distance d is worth making only if d^p < c^p (two unassigned
elements cost c^p), so pairs at d >= c are never used and the cut-off distance
min(d, c) of the OSPA family is implicit.

Decomposition (same paper): the minimum splits into

    localisation   L = sum_{(i,j) in gamma*} d_ij^p
    missed         M = c^p / 2 * (number of unassigned truths)
    false          F = c^p / 2 * (number of unassigned estimates)

with d^p = L + M + F. The parts are returned in metres as L^(1/p), M^(1/p), F^(1/p), so
that total^p = loc^p + missed^p + false^p holds per problem (means over problems do not
add that way).

The optimal gamma is a 2-D assignment problem. With rows = truths, columns = estimates,
assignment cost c_ij = d_ij^p on feasible pairs (d_ij < c) and a miss cost c0 = c^p for an
unassigned row, the GNN objective

    sum_{assigned} d_ij^p + c^p (n - |gamma|) = L + M + F - c^p/2 (m - n)

differs from the GOSPA sum by a constant, so both have the same minimiser; it is solved by
:func:`trackers.tracking.assignment.gnn_assign` for all problems at once.

References
----------
A. S. Rahmathullah, Á. F. García-Fernández, L. Svensson, "Generalized optimal sub-pattern
assignment metric", Proc. 20th Int. Conf. Information Fusion, 2017.
D. Schuhmacher, B.-T. Vo, B.-N. Vo, "A consistent metric for performance evaluation of
multi-object filters", IEEE Trans. Signal Processing 56(8), 2008 (OSPA).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["GospaParts", "assign_min_cost", "gospa", "gospa_from_distances"]


class GospaParts(NamedTuple):
    """GOSPA (alpha = 2) of a batch of problems and its decomposition, all in metres.

    Attributes
    ----------
    total : (...) array
        d_p^(c,2)(X, Y) [m].
    localisation : (...) array
        (sum of d^p over assigned pairs)^(1/p) [m].
    missed : (...) array
        (c^p / 2 * unassigned truths)^(1/p) [m].
    false : (...) array
        (c^p / 2 * unassigned estimates)^(1/p) [m].
    assignment : (..., n) int64 array
        Estimate index assigned to each truth slot, or -1.
    """

    total: NDArray
    localisation: NDArray
    missed: NDArray
    false: NDArray
    assignment: NDArray


def _scipy_assign(cost: NDArray, feasible: NDArray, miss_cost: NDArray) -> NDArray:
    """Reference solver: scipy ``linear_sum_assignment`` per problem (a loop over N).

    Minimises sum_{assigned} c_ij + sum_{unassigned rows} c0_i like ``gnn_assign``: pair
    costs relative to the miss, c_ij - c0_i, are negative for useful pairs and 0 (never
    better than a miss) for forbidden ones, so dropping forbidden pairs after the solve
    leaves an optimal partial assignment.
    """
    from scipy.optimize import linear_sum_assignment

    n, k, _ = cost.shape
    out = np.full((n, k), -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        rel = np.where(feasible & np.isfinite(cost), cost - miss_cost[..., None], np.inf)
    useful = rel < 0.0  # pairs better than leaving the row unassigned
    for i in np.flatnonzero(useful.any(axis=(1, 2))):
        r = np.where(useful[i], rel[i], 0.0)
        rows, cols = linear_sum_assignment(r)
        keep = useful[i, rows, cols]
        out[i, rows[keep]] = cols[keep]
    return out


def assign_min_cost(cost: NDArray, feasible: NDArray, miss_cost: NDArray | float) -> NDArray:
    """Optimal partial 2-D assignment of rows to columns for ``N`` problems.

    Minimises  sum_{assigned (i, j)} cost_ij + sum_{unassigned rows i} miss_cost_i  with
    each column used at most once and only ``feasible`` pairs. Uses
    :func:`trackers.tracking.assignment.gnn_assign` (batched, imported lazily); if that
    module is not available it falls back to scipy's ``linear_sum_assignment`` per problem.

    Parameters
    ----------
    cost : (N, K, M) float array
        Pair costs (here d^p [m^p]).
    feasible : (N, K, M) bool array
        Allowed pairs.
    miss_cost : (N, K) array or float
        Cost of leaving a row unassigned (here c^p [m^p]).

    Returns
    -------
    (N, K) int64 array
        Column assigned to each row, or -1.
    """
    try:
        from trackers.tracking.assignment import gnn_assign
    except ImportError:  # pragma: no cover - only before the tracking package has it
        cost = np.asarray(cost, dtype=float)
        miss = np.broadcast_to(np.asarray(miss_cost, dtype=float), cost.shape[:2])
        return _scipy_assign(cost, np.asarray(feasible, dtype=bool), miss)
    return gnn_assign(cost, feasible, miss_cost)


def _check_cp(c: float, p: float) -> None:
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"cut-off c must be finite and > 0 [m], got {c!r}")
    if not (np.isfinite(p) and p >= 1):
        raise ValueError(f"order p must be finite and >= 1, got {p!r}")


def gospa_from_distances(
    dist: ArrayLike,
    truth_valid: ArrayLike,
    est_valid: ArrayLike,
    c: float,
    p: float = 2.0,
) -> GospaParts:
    """GOSPA (alpha = 2) of ``N`` padded problems given their pairwise distances.

    Parameters
    ----------
    dist : (N, K, M) float array
        d(x_i, y_j) [m] between truth slot i and estimate slot j; NaN/inf = never paired.
    truth_valid : (N, K) bool array
        Which truth slots hold an element of X.
    est_valid : (N, M) bool array
        Which estimate slots hold an element of Y.
    c : float
        Cut-off [m], > 0.
    p : float
        Order, >= 1 (2 in this project).

    Returns
    -------
    GospaParts
        Fields ``(N,)`` [m] and ``assignment (N, K)``.
    """
    d = np.asarray(dist, dtype=float)
    tv = np.asarray(truth_valid, dtype=bool)
    ev = np.asarray(est_valid, dtype=bool)
    if d.ndim != 3:
        raise ValueError(f"dist must be (N, K, M), got shape {d.shape}")
    if tv.shape != d.shape[:2]:
        raise ValueError(f"truth_valid must be {d.shape[:2]}, got shape {tv.shape}")
    if ev.shape != (d.shape[0], d.shape[2]):
        raise ValueError(f"est_valid must be {(d.shape[0], d.shape[2])}, got shape {ev.shape}")
    _check_cp(c, p)
    cp = float(c) ** p  # c^p: cost of two unassigned elements
    with np.errstate(invalid="ignore"):
        # feasible pairs: both present and d < c (a pair at d >= c never lowers the sum)
        feasible = tv[:, :, None] & ev[:, None, :] & (d < c)
    cost = np.where(feasible, d, 0.0) ** p  # d_ij^p on feasible pairs
    a = assign_min_cost(cost, feasible, cp)  # (N, K)
    hit = a >= 0
    n_truth, n_est, n_pairs = tv.sum(axis=1), ev.sum(axis=1), hit.sum(axis=1)
    # L = sum over assigned pairs of d_ij^p
    if cost.shape[2]:
        loc = np.take_along_axis(cost, np.maximum(a, 0)[:, :, None], axis=2)[..., 0]
        loc = np.where(hit, loc, 0.0).sum(axis=1)
    else:  # no estimates at all
        loc = np.zeros(cost.shape[0])
    missed = 0.5 * cp * (n_truth - n_pairs)  # M = c^p/2 (|X| - |gamma|)
    false = 0.5 * cp * (n_est - n_pairs)  # F = c^p/2 (|Y| - |gamma|)
    root = 1.0 / p
    return GospaParts(
        total=(loc + missed + false) ** root,
        localisation=loc**root,
        missed=missed**root,
        false=false**root,
        assignment=a,
    )


def gospa(
    X: ArrayLike,
    x_valid: ArrayLike,
    Y: ArrayLike,
    y_valid: ArrayLike,
    c: float,
    p: float = 2.0,
) -> GospaParts:
    """GOSPA (alpha = 2, Euclidean base distance) between padded point sets.

    Parameters
    ----------
    X : (N, K, d) float array
        Truth points [m] (e.g. ECEF positions), padded to K per problem.
    x_valid : (N, K) bool array
        Which rows of X are elements.
    Y : (N, M, d) float array
        Estimated points [m], padded to M.
    y_valid : (N, M) bool array
        Which rows of Y are elements.
    c, p : float
        Cut-off [m] and order; see :func:`gospa_from_distances`.

    Returns
    -------
    GospaParts
    """
    Xa = np.asarray(X, dtype=float)
    Ya = np.asarray(Y, dtype=float)
    if Xa.ndim != 3 or Ya.ndim != 3 or Xa.shape[0] != Ya.shape[0] or Xa.shape[2] != Ya.shape[2]:
        raise ValueError(f"X must be (N, K, d) and Y (N, M, d), got {Xa.shape} and {Ya.shape}")
    dist = np.linalg.norm(Xa[:, :, None, :] - Ya[:, None, :, :], axis=-1)  # |x_i - y_j|
    return gospa_from_distances(dist, x_valid, y_valid, c, p)
