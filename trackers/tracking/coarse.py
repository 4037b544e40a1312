"""The tracker's coarse gate: which reports of a scan may belong to which live tracks.

Before any filter step, every live track is extrapolated from its own time with point-mass
gravity only,

    p(t + dt) = p + v dt - mu p / |p|^3 dt^2 / 2,

and a report m is *near* track k when its converted position r_m is within

    |r_m - p_k| < 6 sqrt(s_p^2 + s_r^2 + (s_v dt)^2) + a_max dt^2 / 2 + 2 km

(s_p, s_v: the square roots of the traces of the track's position / velocity covariances,
s_r the radar's typical position error, a_max the largest non-gravitational acceleration of
a thrusting stage): a generous test, so that only tracks with a report nearby are predicted
properly (tracks are predicted lazily). ``dt`` may be negative (late reports).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trackers.earth import wgs84

__all__ = ["A_MAX", "extrapolate", "near_reports"]

MU = wgs84.GM
#: Largest acceleration other than gravity the coarse gate allows for [m/s^2] (boost).
A_MAX = 120.0


def extrapolate(p: NDArray, v: NDArray, dt: NDArray) -> NDArray:
    """Positions ``(C, 3)`` [m] flown ``dt`` ``(C,)`` [s] with point-mass gravity only,
    p + v dt - mu p / |p|^3 dt^2 / 2 (the coarse gate's cheap prediction)."""
    rn = np.linalg.norm(p, axis=-1, keepdims=True)
    return p + v * dt[:, None] - 0.5 * MU * p / rn**3 * (dt**2)[:, None]


def near_reports(p_ex: NDArray, P6: NDArray, dt: NDArray, sigma_pos: float, rpos: NDArray,
                 valid: NDArray) -> NDArray:  # fmt: skip
    """``(C, M)`` bool: report m of each candidate's run is near its extrapolated position.

    Parameters
    ----------
    p_ex : (C, 3) extrapolated positions [m]; P6 : (C, 6, 6) their tracks' covariances;
    dt : (C,) extrapolation intervals [s]; sigma_pos : the radar's position error [m];
    rpos : (C, M, 3) the converted reports of each candidate's run
    (:func:`~trackers.tracking.scans.report_positions`) [m]; valid : (C, M) which slots hold one.
    """
    dist = np.linalg.norm(rpos - p_ex[:, None, :], axis=-1)
    sig_v = np.sqrt(np.trace(P6[:, 3:, 3:], axis1=-2, axis2=-1))
    sig_p = np.sqrt(np.trace(P6[:, :3, :3], axis1=-2, axis2=-1))
    thr = 6.0 * np.sqrt(sig_p**2 + sigma_pos**2 + (sig_v * dt) ** 2) + 0.5 * A_MAX * dt**2 + 2e3
    return valid & (dist < thr[:, None])
