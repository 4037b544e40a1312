"""Joint probabilistic data association (JPDA) probabilities and the PDAF combined update.

Association probabilities
-------------------------
Per Monte Carlo run and scan, K tracks and M reports; a joint event theta assigns each report
to at most one track and each track at most one report, over gated (feasible) pairs only.
With L_km = N(z_m; zhat_k, S_k) the likelihood of report m under track k, P_D,k the detection
probability (gate probability included), lambda the clutter density (false reports per unit
measurement volume, Poisson clutter),

    P(theta | Z) = (1/c) prod_{(k,m) in theta} (P_D,k L_km / lambda)
                         prod_{k unassigned in theta} (1 - P_D,k)

(parametric JPDA: Fortmann, Bar-Shalom & Scheffe 1983; Bar-Shalom, Daum & Huang 2009), and
the marginal association probabilities are

    beta_km = sum_{theta: (k,m) in theta} P(theta | Z),    beta_k0 = 1 - sum_m beta_km.

With one track this is the PDAF weight beta_km = w_km / ((1 - P_D) + sum_j w_kj),
w_km = P_D L_km / lambda (Bar-Shalom & Tse 1975).

Gate probability. The event weight above treats L_km as the density of a report that fell
in the gate. With a gate of probability P_G and the untruncated Gaussian N, the textbook
parametric form uses 1 - P_D P_G for a miss and P_D N / lambda for a detection (Bar-Shalom,
Daum & Huang 2009, the PDAF weights beta_i; Stone Soup's ``PDAHypothesiser``); pass
``pd = P_D P_G`` and ``loglik = log N - log P_G`` to obtain exactly that.

Exact evaluation. The sum over joint events is computed exactly, in log space, without
listing the events:

1. A report gated by a single track ("private") conflicts with nobody; the options of track
   k that touch no shared report (a miss or a private report) merge into one option of weight
   a_k = (1 - P_D,k) + sum_{m private to k} w_km.
2. Only reports gated by two or more tracks ("shared", s of them per run) couple the tracks.
   Over the subsets U of shared reports a forward-backward recursion over the t coupled
   tracks (a permanent-style dynamic programme, cf. the sum over matchings of Fortmann et
   al.) gives

       F_0(U) = [U = {}],   F_{k+1}(U) = a_k F_k(U) + sum_{j in U} w_kj F_k(U - {j})
       G_t(U) = 1,          G_k(U) = a_k G_{k+1}(U) + sum_{j not in U} w_kj G_{k+1}(U + {j})
       c = G_0({}),
       P(k takes shared j)      = (1/c) sum_{U not containing j} F_k(U) w_kj G_{k+1}(U + {j})
       P(k takes no shared one) = (1/c) sum_U F_k(U) a_k G_{k+1}(U),

   which costs O(t s 2^s) per run instead of the number of joint events. Runs are grouped by
   s (their shared reports and coupled tracks gathered to the front), so the Python loops run
   over groups, tracks and shared reports, never over runs. At most ``MAX_SHARED_REPORTS``
   shared reports per run are accepted (a ValueError names the run beyond that).
3. beta_km = P(k takes no shared one) w_km / a_k for a private report, and likewise
   beta_k0 = P(k takes no shared one) (1 - P_D,k) / a_k.

PDAF combined update
--------------------
Given per track the predicted x, P, gain W, innovation covariance S and the innovations
nu_km = z_m - zhat_k, the PDA posterior (Bar-Shalom & Tse 1975; Bar-Shalom, Daum & Huang
2009) is

    nu     = sum_m beta_km nu_km                                  combined innovation
    x+     = x + W nu
    P^c    = P - W S W'                                            (single-report update)
    P~     = W (sum_m beta_km nu_km nu_km' - nu nu') W'            (spread of innovations)
    P+     = beta_k0 P + (1 - beta_k0) P^c + P~

References
----------
T. E. Fortmann, Y. Bar-Shalom, M. Scheffe, "Sonar tracking of multiple targets using joint
probabilistic data association", IEEE J. Oceanic Eng. 8(3), 1983.
Y. Bar-Shalom, E. Tse, "Tracking in a cluttered environment with probabilistic data
association", Automatica 11(5), 1975.
Y. Bar-Shalom, F. Daum, J. Huang, "The probabilistic data association filter", IEEE Control
Systems Magazine 29(6), 2009 (PDAF and JPDA equations, spread-of-innovations term).
Y. Bar-Shalom, P. K. Willett, X. Tian, *Tracking and Data Fusion: A Handbook of Algorithms*,
YBS Publishing 2011 (PDAF and JPDA chapters).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.filters.gaussian import Gaussian
from trackers.filters.linalg_small import matmul, matvec, symmetrize

__all__ = ["MAX_SHARED_REPORTS", "jpda_probabilities", "pda_combine"]

#: Largest number of reports per run gated by two or more tracks (the recursion holds
#: 2^s subsets per coupled track).
MAX_SHARED_REPORTS = 16

#: Bound on the elements of one stored backward table (t + 1, runs, 2^s) (32 MB of float64).
_TABLE_ELEMENTS = 1 << 22


def _logsumexp(x: NDArray, axis: int) -> NDArray:
    """log sum exp over ``axis``; -inf where every term is -inf."""
    top = x.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def _check_jpda_inputs(
    loglik: NDArray,
    feasible: NDArray,
    pd: NDArray | float,
    clutter_density: NDArray | float,
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Validate at the boundary; return float loglik, bool gate, pd (N, K), lambda (N,)."""
    loglik = np.asarray(loglik)
    feasible = np.asarray(feasible)
    if loglik.ndim != 3:
        raise ValueError(f"loglik must be (N, K, M), got shape {loglik.shape}")
    if not (np.issubdtype(loglik.dtype, np.floating) or np.issubdtype(loglik.dtype, np.integer)):
        raise TypeError(f"loglik must be a real array, got dtype {loglik.dtype}")
    if feasible.dtype != bool:
        raise TypeError(f"feasible must be a bool array, got dtype {feasible.dtype}")
    if feasible.shape != loglik.shape:
        raise ValueError(
            f"feasible must have the shape of loglik {loglik.shape}, got {feasible.shape}"
        )
    n, k, _ = loglik.shape
    pd_a = np.asarray(pd, dtype=float)
    if pd_a.ndim != 0 and pd_a.shape != (n, k):
        raise ValueError(f"pd must be a scalar or ({n}, {k}), got shape {pd_a.shape}")
    if not ((pd_a >= 0.0) & (pd_a <= 1.0)).all():
        bad = pd_a[~((pd_a >= 0.0) & (pd_a <= 1.0))]
        raise ValueError(f"pd must lie in [0, 1], got {bad[:3]}")
    lam = np.asarray(clutter_density, dtype=float)
    if lam.ndim != 0 and lam.shape != (n,):
        raise ValueError(f"clutter_density must be a scalar or ({n},), got shape {lam.shape}")
    if not (np.isfinite(lam) & (lam > 0.0)).all():
        bad = lam[~(np.isfinite(lam) & (lam > 0.0))]
        raise ValueError(f"clutter_density must be finite and > 0, got {bad[:3]}")
    return (
        loglik.astype(float, copy=False),
        feasible,
        np.broadcast_to(pd_a, (n, k)),
        np.broadcast_to(lam, (n,)),
    )


def jpda_probabilities(
    loglik: NDArray,
    feasible: NDArray,
    pd: NDArray | float,
    clutter_density: NDArray | float,
) -> NDArray:
    """JPDA association probabilities, batched over runs (exact, log space).

    Parameters
    ----------
    loglik : (N, K, M) float array
        log N(z_m; zhat_k, S_k), the log Gaussian likelihood of report m under track k
        (log of a density in the measurement units, e.g. m^-1 rad^-2). Entries outside the
        gate are ignored (may be NaN); a non-finite entry inside the gate counts as outside.
    feasible : (N, K, M) bool array
        Gate.
    pd : (N, K) array or float
        Detection probability P_D,k in [0, 1], gate probability included (see the module
        notes for a gate of probability P_G).
    clutter_density : (N,) array or float
        lambda, false reports per unit measurement volume (> 0, units inverse to the
        density of ``loglik``).

    Returns
    -------
    beta : (N, K, M + 1) array
        beta[..., m] = P(report m is track k's), beta[..., M] = P(track k got no report);
        rows sum to 1, zero outside the gate. A row is NaN only when no joint event has a
        positive probability (possible only with pd = 1).

    Raises
    ------
    ValueError, TypeError
        Bad shapes, dtypes or values, or a run with more than ``MAX_SHARED_REPORTS`` reports
        gated by two or more tracks.
    """
    loglik, feasible, pd, lam = _check_jpda_inputs(loglik, feasible, pd, clutter_density)
    n, k, m = loglik.shape
    beta = np.zeros((n, k, m + 1))
    if n == 0 or k == 0:
        return beta
    with np.errstate(divide="ignore", invalid="ignore"):
        # log w_km = log P_D,k + log L_km - log lambda   (single-pair event weight)
        logw = np.log(pd)[:, :, None] + loglik - np.log(lam)[:, None, None]
        # log (1 - P_D,k)   (miss weight)
        log_miss = np.log1p(-pd)
    gate = feasible & np.isfinite(logw)  # pd = 0 or L = 0: the pair has no weight
    logw = np.where(gate, logw, -np.inf)
    # reports gated by >= 2 tracks (a uint8 count is 4x faster than bool .sum; K < 256)
    g8 = gate.view(np.uint8) if k < 256 else gate.astype(np.int64)
    shared = np.einsum("nkm->nm", g8) > 1
    private = gate & ~shared[:, None, :]
    # a_k = log((1 - P_D,k) + sum_{m private to k} w_km): the options touching no shared report
    own = np.concatenate([np.where(private, logw, -np.inf), log_miss[:, :, None]], axis=2)
    log_a = _logsumexp(own, axis=2)
    # P(track k takes no shared report), P(track k takes shared report m)
    p_none = np.ones((n, k))
    p_shared = np.zeros((n, k, m))
    n_shared = shared.sum(axis=1)
    if n_shared.max(initial=0) > MAX_SHARED_REPORTS:
        run = int(np.argmax(n_shared))
        raise ValueError(
            f"run {run} has {int(n_shared[run])} reports gated by two or more tracks; "
            f"jpda_probabilities handles at most MAX_SHARED_REPORTS = {MAX_SHARED_REPORTS}"
        )
    for s in np.unique(n_shared[n_shared > 0]):
        _coupled(int(s), np.flatnonzero(n_shared == s), logw, log_a, shared, p_none, p_shared)
    with np.errstate(invalid="ignore"):
        # beta_km = P(no shared) w_km / a_k (private m);  beta_km = P(k takes m) (shared m)
        beta[:, :, :m] = np.where(
            private,
            p_none[:, :, None] * np.exp(np.where(private, logw - log_a[:, :, None], -np.inf)),
            p_shared,
        )
        # beta_k0 = P(no shared) (1 - P_D,k) / a_k; 0 for a track that must take a shared one
        beta[:, :, m] = np.where(p_none == 0.0, 0.0, p_none * np.exp(log_miss - log_a))
    return beta


def _coupled(
    s: int,
    runs: NDArray,
    logw: NDArray,
    log_a: NDArray,
    shared: NDArray,
    p_none: NDArray,
    p_shared: NDArray,
) -> None:
    """Marginals of the runs with ``s`` shared reports (in place into p_none, p_shared)."""
    # shared reports of each run first (stable order), then the tracks gating any of them
    rep = np.argsort(~shared[runs], axis=1, kind="stable")[:, :s]  # (n, s)
    b = np.take_along_axis(logw[runs], rep[:, None, :], axis=2)  # (n, K, s) log w_kj
    coupled = np.isfinite(b).any(axis=2)  # (n, K)
    t = int(coupled.sum(axis=1).max())
    trk = np.argsort(~coupled, axis=1, kind="stable")[:, :t]  # (n, t)
    b = np.take_along_axis(b, trk[:, :, None], axis=1)  # (n, t, s)
    # a padding track (not coupled) is neutral: weight 1 for its no-shared option
    a = np.where(
        np.take_along_axis(coupled, trk, axis=1), np.take_along_axis(log_a[runs], trk, axis=1), 0.0
    )
    size = max(1, _TABLE_ELEMENTS // ((t + 1) << s))
    for lo in range(0, runs.size, size):
        part = slice(lo, lo + size)
        none, shr = _subset_recursion(a[part], b[part])
        r = runs[part]
        p_none[r[:, None], trk[part]] = none
        p_shared[r[:, None, None], trk[part][:, :, None], rep[part][:, None, :]] = shr


def _subset_recursion(a: NDArray, b: NDArray) -> tuple[NDArray, NDArray]:
    """Forward-backward sums over subsets of shared reports (module notes, step 2).

    Parameters
    ----------
    a : (n, t) array
        log a_k, weight of track k taking no shared report.
    b : (n, t, s) array
        log w_kj for shared report j (-inf outside the gate).

    Returns
    -------
    (P(no shared) (n, t), P(takes shared j) (n, t, s)), probabilities (NaN when c = 0).

    Notes
    -----
    A subset U is the bit mask sum_{j in U} 2^j. Viewing a table over subsets as
    ``(n, 2^(s-1-j), 2, 2^j)``, index 0 / 1 of the third axis are the subsets without /
    with report j, aligned so that entry (.., 0, ..) is U and (.., 1, ..) is U + {j}.
    Recursions are in logs; the marginals are sub-sums of c, so exp(term - log c) <= 1.
    """
    n, t, s = b.shape

    def split(x: NDArray, j: int) -> NDArray:
        """(n, 2^s) table -> (n, 2^(s-1-j), 2, 2^j) view: [:, :, 0] = U, [:, :, 1] = U + {j}."""
        return x.reshape(n, 1 << (s - 1 - j), 2, 1 << j)

    # backward: G_k(U) = a_k G_{k+1}(U) + sum_{j not in U} w_kj G_{k+1}(U + {j}),  G_t = 1
    G = np.empty((t + 1, n, 1 << s))
    G[t] = 0.0
    for k in range(t - 1, -1, -1):
        G[k] = a[:, k, None] + G[k + 1]
        for j in range(s):
            g, g1 = split(G[k], j), split(G[k + 1], j)
            g[:, :, 0] = np.logaddexp(g[:, :, 0], b[:, k, j, None, None] + g1[:, :, 1])
    log_c = G[0][:, :1]  # normalising constant c = G_0({}), (n, 1)
    # forward: F_{k+1}(U) = a_k F_k(U) + sum_{j in U} w_kj F_k(U - {j}),  F_0 = [U = {}]
    F = np.full((n, 1 << s), -np.inf)
    F[:, 0] = 0.0
    none = np.empty((n, t))
    shr = np.empty((n, t, s))
    with np.errstate(invalid="ignore"):
        for k in range(t):
            # P(k takes no shared) = sum_U F_k(U) a_k G_{k+1}(U) / c
            none[:, k] = np.exp(F + G[k + 1] + (a[:, k, None] - log_c)).sum(axis=1)
            f = F + a[:, k, None]
            for j in range(s):
                # F_k(U) w_kj placed on U + {j}
                fw = split(F, j)[:, :, 0] + b[:, k, j, None, None]
                # P(k takes j) = sum_{U not containing j} F_k(U) w_kj G_{k+1}(U + {j}) / c
                term = fw + split(G[k + 1], j)[:, :, 1] - log_c[:, :, None]
                shr[:, k, j] = np.exp(term).sum(axis=(1, 2))
                fj = split(f, j)
                fj[:, :, 1] = np.logaddexp(fj[:, :, 1], fw)
            F = f
    return none, shr


def pda_combine(
    mean_k: NDArray,
    cov_k: NDArray,
    innovations: NDArray,
    gain: NDArray,
    S: NDArray,
    beta: NDArray,
) -> Gaussian:
    """PDAF combined posterior of every track, batched (module notes, "PDAF combined update").

    Parameters
    ----------
    mean_k : (N, K, n) array
        Predicted track means x (SI units of the state).
    cov_k : (N, K, n, n) array
        Predicted track covariances P.
    innovations : (N, K, M, m) array
        nu_km = z_m - zhat_k (angles wrapped). Entries with beta_km = 0 are ignored (may be
        NaN, e.g. outside the gate).
    gain : (N, K, n, m) array
        Kalman gain W = P H' S^-1 (or C S^-1) of each track.
    S : (N, K, m, m) array
        Innovation covariance of each track.
    beta : (N, K, M + 1) array
        Association probabilities (``jpda_probabilities``), beta[..., M] = no report.

    Returns
    -------
    Gaussian
        mean ``(N, K, n)`` = x + W nu, cov ``(N, K, n, n)`` = beta_0 P + (1 - beta_0) P^c + P~,
        symmetrised.
    """
    mean_k, cov_k = np.asarray(mean_k, float), np.asarray(cov_k, float)
    innovations, gain = np.asarray(innovations, float), np.asarray(gain, float)
    S, beta = np.asarray(S, float), np.asarray(beta, float)
    if mean_k.ndim != 3:
        raise ValueError(f"mean_k must be (N, K, n), got shape {mean_k.shape}")
    n_run, k, n = mean_k.shape
    if innovations.ndim != 4 or innovations.shape[:2] != (n_run, k):
        raise ValueError(f"innovations must be ({n_run}, {k}, M, m), got shape {innovations.shape}")
    M, m = innovations.shape[2:]
    expected = {
        "cov_k": (cov_k, (n_run, k, n, n)),
        "gain": (gain, (n_run, k, n, m)),
        "S": (S, (n_run, k, m, m)),
        "beta": (beta, (n_run, k, M + 1)),
    }
    for name, (arr, shape) in expected.items():
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    b = beta[:, :, :M]
    b0 = beta[:, :, M]
    # reports with beta_km = 0 drop out (their innovations may be NaN)
    nu_m = np.where(b[..., None] > 0.0, innovations, 0.0)
    # nu = sum_m beta_km nu_km   (combined innovation)
    nu = np.einsum("nkj,nkji->nki", b, nu_m)
    # x+ = x + W nu
    mean = mean_k + matvec(gain, nu)
    # P^c = P - W S W'
    Wt = gain.swapaxes(-1, -2)
    cov_c = cov_k - matmul(matmul(gain, S), Wt)
    # spread of innovations: sum_m beta_km nu_km nu_km' - nu nu'
    spread = np.einsum("nkj,nkja,nkjb->nkab", b, nu_m, nu_m) - nu[..., :, None] * nu[..., None, :]
    # P+ = beta_0 P + (1 - beta_0) P^c + W spread W'
    cov = (
        b0[..., None, None] * cov_k
        + (1.0 - b0)[..., None, None] * cov_c
        + matmul(matmul(gain, spread), Wt)
    )
    return Gaussian(mean, symmetrize(cov))
