"""Filter consistency: NEES, NIS, chi-square acceptance bands, fraction of epochs in band, ANEES.

For a consistent filter (Bar-Shalom, Li & Kirubarajan 2001, §5.4):

    NEES_k = e_k' P_k^-1 e_k ~ chi2(n),    e_k = x_k - x_hat_k
    NIS_k  = nu_k' S_k^-1 nu_k ~ chi2(m)

Averaged over N independent Monte Carlo runs, N * mean ~ chi2(N n), so the two-sided
(1 - a) acceptance band of the run-average is

    [chi2.ppf(a/2, N n) / N,  chi2.ppf(1 - a/2, N n) / N]

e.g. n = 3, N = 100: [2.54, 3.50]. A consistent filter has about (1 - a) of its epochs inside
the band; ANEES (the time average of the run-averaged NEES divided by n) should be near 1.
The same band with N * T degrees of freedom tests the ANEES.

Functions take the leading axes ``...`` as runs (or any batch) and return arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from trackers.filters.linalg_small import inv_spd, quad_form

__all__ = [
    "anees",
    "chi2_band",
    "fraction_in_band",
    "nees",
    "nis",
]


def nees(error: ArrayLike, cov: ArrayLike) -> NDArray:
    """NEES = e' P^-1 e for ``error (..., n)``, ``cov (..., n, n)`` -> ``(...)``."""
    e = np.asarray(error, dtype=float)
    P = np.asarray(cov, dtype=float)
    if P.shape[-2:] != (e.shape[-1], e.shape[-1]):
        raise ValueError(f"cov must be (..., {e.shape[-1]}, {e.shape[-1]}), got {P.shape}")
    Pi, _ = inv_spd(P)
    return quad_form(e, Pi)


def nis(innovation: ArrayLike, S: ArrayLike) -> NDArray:
    """NIS = nu' S^-1 nu for ``innovation (..., m)``, ``S (..., m, m)`` -> ``(...)``."""
    return nees(innovation, S)


def chi2_band(dof: int | ArrayLike, runs: int | ArrayLike, prob: float = 0.95) -> NDArray:
    """Two-sided ``prob`` band of the average of ``runs`` chi2(dof) variables.

    Returns an array ``(..., 2)`` of [lower, upper] = chi2.ppf([a/2, 1 - a/2], runs dof) / runs,
    a = 1 - prob.
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    d = np.asarray(dof, dtype=float)
    N = np.asarray(runs, dtype=float)
    if np.any(d <= 0) or np.any(N <= 0):
        raise ValueError(f"dof and runs must be > 0, got dof={dof!r}, runs={runs!r}")
    a = 1.0 - prob
    lo = chi2.ppf(a / 2, N * d) / N
    hi = chi2.ppf(1 - a / 2, N * d) / N
    return np.stack([lo, hi], axis=-1)


def fraction_in_band(
    avg: ArrayLike, dof: int | ArrayLike, runs: int | ArrayLike, prob: float = 0.95
) -> float:
    """Fraction of epochs whose run-averaged statistic ``avg (T,)`` lies in :func:`chi2_band`.

    ``dof`` and ``runs`` may vary per epoch (arrays (T,), e.g. number of runs with a detection);
    epochs where ``avg`` is NaN or ``runs`` is 0 are ignored.
    """
    v = np.asarray(avg, dtype=float)
    d = np.broadcast_to(np.asarray(dof, dtype=float), v.shape)
    N = np.broadcast_to(np.asarray(runs, dtype=float), v.shape)
    ok = np.isfinite(v) & (N > 0)
    if not np.any(ok):
        raise ValueError("no epoch with a finite average and runs > 0")
    band = chi2_band(d[ok], N[ok], prob)
    inside = (v[ok] >= band[..., 0]) & (v[ok] <= band[..., 1])
    return float(np.mean(inside))


def anees(avg_nees: ArrayLike, dof: int) -> float:
    """ANEES = mean over epochs of the run-averaged NEES, divided by n (1 if consistent)."""
    v = np.asarray(avg_nees, dtype=float)
    return float(np.nanmean(v) / dof)
