"""Consistency of predicted impact points against the true impact: 2-D ground NEES and its band.

An impact prediction (:class:`trackers.impact.predict.ImpactPrediction`) is a Gaussian
N(m, C) in the local tangent plane (east, north) [m] at its reference point p_0 (geodetic lat_0,
lon_0 on the level surface). The true impact point (lat, lon) at the same level, r = ECEF(lat,
lon, h_0), has tangent-plane coordinates d = E (r - p_0) (E the east/north rows of the ENU
rotation at p_0), so the ground error and its normalised squared value are

    e = d - m  (2,),        NEES = e' C^-1 e  ~ chi2(2)  for a consistent prediction.

Averaged over R independent Monte Carlo runs, R * mean(NEES) ~ chi2(2 R), so the two-sided
95 % acceptance band of the run average is chi2.ppf([0.025, 0.975], 2 R) / R (Bar-Shalom, Li &
Kirubarajan 2001, §5.4.2; :func:`trackers.metrics.consistency.chi2_band`), e.g. [1.63, 2.41]
for R = 100. The tangent-plane coordinates of a point s away from p_0 differ from the surface
arc by ~s^3 / (6 R_E^2) (1 m at 60 km), negligible against kilometre-scale errors.

References
----------
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley 2001, §5.4.2 (NEES, chi-square acceptance regions of Monte Carlo averages).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth.model import WGS84_FULL, EarthModel
from trackers.earth.wgs84 import enu_rotation
from trackers.impact.predict import ImpactPrediction
from trackers.metrics.consistency import chi2_band, nees

__all__ = ["NeesSummary", "ground_error", "impact_nees", "summarise_nees"]


def ground_error(
    pred: ImpactPrediction,
    lat_true: ArrayLike,
    lon_true: ArrayLike,
    earth: EarthModel = WGS84_FULL,
    level: float = 0.0,
) -> NDArray:
    """Ground error e = E (r_true - p_0) - m ``(..., 2)`` (east, north) [m] (module docstring).

    Parameters
    ----------
    pred : ImpactPrediction
        Batch shape ``(...)``.
    lat_true, lon_true : float or (...) arrays
        True impact point, geodetic [rad], broadcast against the batch.
    earth : EarthModel
        Ellipsoid of both points (default WGS-84).
    level : float
        Height h_0 [m] of the impact level (that of the prediction).

    Returns
    -------
    (..., 2) array
        NaN where the prediction is not valid.
    """
    if not isinstance(pred, ImpactPrediction):
        raise TypeError(f"pred must be an ImpactPrediction, got {type(pred).__name__}")
    lat0, lon0 = np.asarray(pred.lat, float), np.asarray(pred.lon, float)
    lat_t, lon_t = np.broadcast_arrays(np.asarray(lat_true, float), np.asarray(lon_true, float))
    if not (np.all(np.abs(lat_t) <= 0.5 * np.pi) and np.all(np.isfinite(lon_t))):
        raise ValueError(
            f"lat_true, lon_true must be finite geodetic angles [rad], got {lat_true!r}, "
            f"{lon_true!r}"
        )
    ok = np.asarray(pred.valid, bool) & np.isfinite(lat0) & np.isfinite(lon0)
    lat0, lon0 = np.where(ok, lat0, 0.0), np.where(ok, lon0, 0.0)
    p0 = earth.to_ecef(lat0, lon0, np.full(lat0.shape, level))  # reference point p_0
    r = earth.to_ecef(lat_t, lon_t, np.full(lat_t.shape, level))  # true impact point
    e_rows = enu_rotation(lat0, lon0)[..., :2, :]  # E (east, north rows)
    d = np.einsum("...ij,...j->...i", e_rows, r - p0)  # d = E (r - p_0)
    err = d - np.asarray(pred.mean_enu, float)  # e = d - m
    return np.where(ok[..., None], err, np.nan)


def impact_nees(
    pred: ImpactPrediction,
    lat_true: ArrayLike,
    lon_true: ArrayLike,
    earth: EarthModel = WGS84_FULL,
    level: float = 0.0,
) -> NDArray:
    """2-D impact NEES e' C^-1 e ``(...)`` of predictions against the true impact.

    Arguments as in :func:`ground_error`; NaN where the prediction is not valid or its ground
    covariance is not finite.
    """
    e = ground_error(pred, lat_true, lon_true, earth, level)
    c = np.asarray(pred.cov_ground, float)
    ok = np.all(np.isfinite(e), axis=-1) & np.all(np.isfinite(c), axis=(-1, -2))
    out = np.full(ok.shape, np.nan)
    if ok.any():
        out[ok] = nees(e[ok], c[ok])  # e' C^-1 e
    return out


class NeesSummary(NamedTuple):
    """Run average of the 2-D impact NEES at each of T times, against the chi-square band.

    Attributes
    ----------
    mean : (T,) array
        Average NEES over the runs with a value (NaN where none).
    n_runs : (T,) int array
        Number of runs R_t with a value.
    band : (T, 2) array
        Two-sided band chi2.ppf([a/2, 1 - a/2], 2 R_t) / R_t, a = 1 - prob (NaN where R_t = 0).
    inside : (T,) bool array
        mean inside the band.
    side : (T,) int array
        -1 below the band (covariance too large), +1 above (too small / biased), 0 inside or
        no value.
    """

    mean: NDArray
    n_runs: NDArray
    band: NDArray
    inside: NDArray
    side: NDArray


def summarise_nees(values: ArrayLike, prob: float = 0.95, dof: int = 2) -> NeesSummary:
    """Average ``values`` ``(R, T)`` (NaN = no value) over runs and test it against the band.

    Parameters
    ----------
    values : (R, T) array
        NEES per run (rows) and time (columns).
    prob : float
        Probability of the two-sided band (0.95).
    dof : int
        Degrees of freedom of one NEES (2 for a ground point).
    """
    v = np.asarray(values, float)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (runs, times), got {v.shape}")
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    count = np.isfinite(v).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(v, axis=0) / np.where(count > 0, count, np.nan)  # (1/R_t) sum NEES
    band = np.full((v.shape[1], 2), np.nan)
    has = count > 0
    if has.any():
        band[has] = chi2_band(dof, count[has], prob)
    below = has & (mean < band[:, 0])
    above = has & (mean > band[:, 1])
    side = np.where(above, 1, np.where(below, -1, 0))
    return NeesSummary(mean, count, band, has & ~below & ~above, side)
