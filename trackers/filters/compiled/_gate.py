"""Compiled (Numba) gating of the multi-object tracker: one call over all candidate tracks.

    compiled_innovations(model, g, zr) -> Innovations(zhat, H, HP, S, Sinv, logdet, nu, d2)
    compiled_widened_gate(HPH, nu, model) -> WidenedGate(S, Sinv, logdet, d2)

With ``TrackerConfig(backend="numba")`` the tracker's ``_Tracker._innovations``
(:mod:`trackers.tracking.tracker`, step 2) calls :func:`compiled_innovations` instead of its
NumPy code, which stays the readable reference. For C candidate beliefs N(x, P) and their
run's reports z (Bar-Shalom, Li & Kirubarajan 2001, §3.4; Blackman & Popoli 1999, §6.2):

    zhat = h(x), H = dh/dx,  HP = H P,  S = sym(HP H' + R),  S^-1, log det S,
    nu_k = z_k - zhat (az, el wrapped; NaN -> 0),  d2_k = nu_k' S^-1 nu_k,

in one compiled call (:mod:`trackers.filters.compiled._gate_kernels` states the equations and
how they follow the NumPy path's operation order). :func:`compiled_widened_gate` is the same
gate with the merged-report noise R_w = R + R_cell (the tracker's unresolved-report block).

Supported sensor: :class:`trackers.models.RadarMeasurement` (m = 3, or 4 with range-rate);
anything else raises ``ValueError`` naming it. Results: the NumPy path's shapes and dtypes
(float64); zhat, H, HP, S and nu to rounding (~1e-16 relative: the NumPy products go through
BLAS, which may fuse multiply-adds), S^-1, log det S and d2 to that times the condition number
of S; a belief at the radar site raises the NumPy path's ``ValueError`` (range 0), a
non-finite belief gives the NumPy path's NaN / inf pattern (the tracker then drops the
track, ``_Tracker._drop_broken``).

The kernels compile on first use (a few seconds) and are cached on disk (``cache=True``).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from trackers.filters.compiled._step import _MISSING, _arr, _radar
from trackers.filters.gaussian import Gaussian
from trackers.models.radar import RadarMeasurement, _check_range

__all__ = ["Innovations", "WidenedGate", "compiled_innovations", "compiled_widened_gate"]


class Innovations(NamedTuple):
    """Gate quantities of C candidate beliefs against their reports (module docstring).

    Attributes
    ----------
    zhat : (C, m) array
        Predicted measurement h(x) [m, rad, rad(, m/s)].
    H : (C, m, n) array
        Measurement Jacobian dh/dx.
    HP : (C, m, n) array
        H P.
    S : (C, m, m) array
        Innovation covariance sym(H P H' + R).
    Sinv : (C, m, m) array
        S^-1.
    logdet : (C,) array
        log det S (NaN where S is not positive definite).
    nu : (C, M, m) array
        Innovations z_k - zhat, angles wrapped to (-pi, pi], NaN components set to 0.
    d2 : (C, M) array
        Squared Mahalanobis distances nu_k' S^-1 nu_k.
    """

    zhat: NDArray
    H: NDArray
    HP: NDArray
    S: NDArray
    Sinv: NDArray
    logdet: NDArray
    nu: NDArray
    d2: NDArray


class WidenedGate(NamedTuple):
    """The gate with another noise covariance R_w: S (C, m, m) = sym(H P H' + R_w), Sinv
    (C, m, m), logdet (C,) and d2 (C, M) = nu' S^-1 nu."""

    S: NDArray
    Sinv: NDArray
    logdet: NDArray
    d2: NDArray


def _kernels() -> Any:
    """The gate-kernel module (imports numba; ImportError with install instructions)."""
    try:
        return importlib.import_module("trackers.filters.compiled._gate_kernels")
    except ImportError as exc:
        if "numba" in str(exc):
            raise ImportError(_MISSING) from exc
        raise


def _check_model(model: Any) -> int:
    """m of a supported radar model; ValueError naming the model otherwise."""
    if not isinstance(model, RadarMeasurement):
        raise ValueError(
            f"model: the compiled gate supports RadarMeasurement, got {type(model).__name__}"
        )
    if tuple(model.angle_indices) != (1, 2):
        raise ValueError(
            f"model.angle_indices: the compiled gate wraps (1, 2) (azimuth, elevation), got "
            f"{model.angle_indices!r}"
        )
    return int(model.ndim_meas)


def compiled_innovations(model: Any, g: Gaussian, zr: NDArray) -> Innovations:
    """Innovations of candidate beliefs ``g`` against reports ``zr`` in one compiled call.

    Parameters
    ----------
    model : RadarMeasurement
        The scan's radar (range, az, el[, range-rate]; m = ``model.ndim_meas``).
    g : Gaussian
        Candidate beliefs, mean (C, n), cov (C, n, n), ECEF [m, m/s, ...], n >= 3 (>= 6 with
        range-rate).
    zr : (C, M, m) array
        Each candidate's reports [m, rad, rad(, m/s)]; NaN in empty slots.

    Returns
    -------
    Innovations
        (zhat, H, HP, S, Sinv, logdet, nu, d2) as the tracker's NumPy ``_innovations``.

    Raises
    ------
    ValueError
        For an unsupported model, inconsistent shapes, or a belief at the radar site.
    """
    m = _check_model(model)
    mean = np.asarray(g.mean, dtype=float)
    cov = np.asarray(g.cov, dtype=float)
    zr = np.asarray(zr, dtype=float)
    if mean.ndim != 2 or mean.shape[1] < (6 if m == 4 else 3):
        raise ValueError(
            f"g.mean must be (C, n) with n >= {6 if m == 4 else 3} for this radar, got shape "
            f"{mean.shape}"
        )
    C, n = mean.shape
    if cov.shape != (C, n, n):
        raise ValueError(f"g.cov must be (C, n, n) = {(C, n, n)}, got shape {cov.shape}")
    if zr.ndim != 3 or zr.shape[0] != C or zr.shape[2] != m:
        raise ValueError(f"zr must be (C, M, m) with C = {C}, m = {m}, got shape {zr.shape}")
    rad = _radar(model, n)
    out = _kernels().innovations(
        _arr(mean, mean.shape),
        _arr(cov, cov.shape),
        _arr(zr, zr.shape),
        rad.H,
        rad.R,
        rad.site,
        rad.rot,
    )
    if out[8] >= 0:
        _check_range(out[0][:, 0])  # the NumPy path's error (range 0 at the site)
    return Innovations(*out[:8])


def compiled_widened_gate(HPH: NDArray, nu: NDArray, model: Any) -> WidenedGate:
    """The gate with ``model``'s noise (e.g. the merged-report radar R + R_cell), one call.

    Parameters
    ----------
    HPH : (C, m, m) array
        H P H' of the candidates (no R).
    nu : (C, M, m) array
        Innovations (as :func:`compiled_innovations` returns them).
    model : RadarMeasurement
        Radar whose ``noise_cov()`` is R_w.

    Returns
    -------
    WidenedGate
        S = sym(HPH + R_w), S^-1, log det S, d2 = nu' S^-1 nu; equal to
        ``inv_spd(symmetrize(HPH + R_w))`` and ``np.einsum("cmi,cij,cmj->cm", nu, Sinv, nu)``.
    """
    m = _check_model(model)
    HPH = np.asarray(HPH, dtype=float)
    nu = np.asarray(nu, dtype=float)
    C = HPH.shape[0] if HPH.ndim == 3 else -1
    if HPH.shape != (C, m, m):
        raise ValueError(f"HPH must be (C, {m}, {m}) for this radar, got shape {HPH.shape}")
    if nu.ndim != 3 or nu.shape[0] != C or nu.shape[2] != m:
        raise ValueError(f"nu must be (C, M, m) with C = {C}, m = {m}, got shape {nu.shape}")
    rad = _radar(model, 6)
    return WidenedGate(*_kernels().widened_gate(_arr(HPH, HPH.shape), rad.R, _arr(nu, nu.shape)))
