"""Radar visibility: 4/3-Earth refracted horizon, instrumented range and field of regard.

Standard-atmosphere refraction bends radar rays towards the Earth; the classic model replaces
the Earth of radius R by a sphere of effective radius k R (k = 4/3) on which rays are
straight (Skolnik 2001, ch. 8; A. W. Doerry, "Earth curvature and atmospheric refraction effects on
radar signal propagation", Sandia report SAND2012-10690, 2013). Geometry on the effective sphere:

    psi   = arccos(n_site . n_tgt)              angle between the geodetic normals
    theta = psi / k                             central angle on the effective sphere
                                                (ground distance d = R psi is kept)
    Re    = k R_G(lat_site)                     R_G = sqrt(M N), Gaussian radius of curvature
    rho_s = Re + h_site,  rho_t = Re + h_tgt
    x = rho_t sin(theta),  y = rho_t cos(theta) - rho_s     (site's horizontal / vertical)
    el_eff = atan2(y, x)

A target is above the refracted horizon iff ``el_eff >= min_elevation`` and the straight ray
on the effective sphere does not pass below its surface (only possible for el_eff < 0, i.e.
from an elevated site looking down): the ray's perigee distance ``rho_s cos(el_eff)`` must be
``>= Re`` whenever the perigee lies between site and target. For a sea-level site and
``min_elevation = 0`` this gives the textbook horizon height h = d^2 / (2 k R) to first order:
about 59 km at 1000 km and 38 km at 800 km.

Then the instrumented range ``[min_range, max_range]``, the field of regard in azimuth
(``|wrap(az - boresight)| <= half_width``) and in apparent elevation ``el_eff`` within
``[el_min, el_max]``.
Everything is vectorised over arbitrary leading axes (samples x objects).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth import wgs84
from trackers.models.base import wrap_angle
from trackers.sensors.radar import Radar, measure_truth

#: Effective Earth-radius factor for a standard atmosphere.
K_REFRACTION = 4.0 / 3.0


def check_refraction_factor(k: object) -> float:
    """Return ``k`` as float if it is a valid effective Earth-radius factor, else raise.

    Valid: a finite number in (0, 10] (4/3 standard atmosphere, 1 = no refraction; k < 1 is
    sub-refraction, large k super-refraction/ducting limits).
    """
    if isinstance(k, bool) or not isinstance(k, int | float | np.floating | np.integer):
        raise TypeError(f"k (effective Earth-radius factor) must be a number, got {k!r}")
    if not (np.isfinite(k) and 0.0 < k <= 10.0):
        raise ValueError(
            f"k = {k!r}: effective Earth-radius factor must be in (0, 10] (4/3 standard)"
        )
    return float(k)


def gaussian_radius(lat: ArrayLike) -> NDArray[np.float64]:
    """Gaussian radius of curvature sqrt(M N) of WGS-84 at geodetic latitude [rad] -> [m].

    M = a (1 - e^2) / (1 - e^2 sin^2 lat)^(3/2),  N = a / (1 - e^2 sin^2 lat)^(1/2).
    """
    w = 1.0 - wgs84.E2 * np.sin(np.asarray(lat, float)) ** 2
    return wgs84.A * np.sqrt(1.0 - wgs84.E2) / w


def horizon_height(distance: ArrayLike, k: float = K_REFRACTION, radius: float = wgs84.R_MEAN):
    """First-order refracted-horizon height h = d^2 / (2 k R) [m] for ground distance d [m]."""
    d = np.asarray(distance, float)
    return d * d / (2.0 * k * radius)


def effective_elevation(
    radar: Radar,
    lat: ArrayLike,
    lon: ArrayLike,
    alt: ArrayLike,
    k: float = K_REFRACTION,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Elevation on the k-effective sphere and ray-clearance flag, each shaped like ``lat``.

    Parameters
    ----------
    radar : Radar
    lat, lon, alt : array_like
        Target geodetic latitude, longitude [rad] and height [m], broadcastable.
    k : float
        Effective Earth-radius factor (4/3 standard refraction, 1 = no refraction).

    Returns
    -------
    el_eff : ndarray [rad]
        Elevation of the target above the site's horizontal on the effective sphere.
    clear : ndarray of bool
        True if the straight ray on the effective sphere stays above its surface.
    """
    check_refraction_factor(k)
    lat, lon, alt = np.broadcast_arrays(*(np.asarray(v, float) for v in (lat, lon, alt)))
    n_site = wgs84.enu_rotation(radar.lat, radar.lon)[2]
    cl = np.cos(lat)
    cos_psi = cl * np.cos(lon) * n_site[0] + cl * np.sin(lon) * n_site[1] + np.sin(lat) * n_site[2]
    psi = np.arccos(np.clip(cos_psi, -1.0, 1.0))
    theta = psi / k
    re = k * float(gaussian_radius(radar.lat))
    rho_s, rho_t = re + radar.alt, re + alt
    x = rho_t * np.sin(theta)
    y = rho_t * np.cos(theta) - rho_s
    el_eff = np.arctan2(y, x)
    # Ray S -> T, S = (0, rho_s), T - S = (x, y). Perigee parameter s* = -rho_s y / |T - S|^2;
    # it lies inside the segment iff 0 < s* < 1; the perigee distance is rho_s cos(el_eff).
    d2 = x * x + y * y
    inside = (y < 0.0) & (-rho_s * y < d2)
    clear = ~(inside & (rho_s * np.cos(el_eff) < re)) & (alt >= 0.0)
    return el_eff, clear


class Geometry(NamedTuple):
    """Truth geometry of targets seen by one radar (leading shape ``(...)``, e.g. (K, O)).

    z : (..., 4) float -- range [m], az [rad], el [rad], range-rate [m/s] (noise-free)
    el_eff : (...) float -- elevation on the 4/3-Earth sphere [rad]
    visible : (...) bool -- inside horizon, instrumented range and field of regard
    """

    z: NDArray
    el_eff: NDArray
    visible: NDArray


def geometry(radar: Radar, x: ArrayLike, k: float = K_REFRACTION) -> Geometry:
    """Measurements and visibility of ECEF states ``x`` ``(..., 6)``; NaN states are invisible.

    visible = clear ray & el_eff >= min_elevation & min_range <= range <= max_range
              & |wrap(az - boresight_az)| <= half_width_az & el_min <= el_eff <= el_max

    The field-of-regard elevation limits apply to the refracted (apparent) elevation el_eff,
    the one the beam is steered to; the reported measurement ``z`` is geometric (refraction
    bias of the measured elevation is not modelled).
    """
    x = np.asarray(x, float)
    if x.shape[-1] != 6:
        raise ValueError(f"x must have shape (..., 6) [r, v] ECEF, got {x.shape}")
    r = x[..., :3]
    z = measure_truth(radar, r, x[..., 3:])
    finite = np.all(np.isfinite(x), axis=-1)
    lat, lon, alt = wgs84.ecef_to_geodetic(np.where(finite[..., None], r, radar.site_ecef + 1e3))
    el_eff, clear = effective_elevation(radar, lat, lon, alt, k)
    rho, az = z[..., 0], z[..., 1]
    with np.errstate(invalid="ignore"):
        vis = (
            finite
            & clear
            & (el_eff >= radar.min_elevation)
            & (rho >= radar.min_range)
            & (rho <= radar.max_range)
            & (np.abs(wrap_angle(az - radar.boresight_az)) <= radar.half_width_az)
            & (el_eff >= radar.el_min)
            & (el_eff <= radar.el_max)
        )
    return Geometry(z=z, el_eff=el_eff, visible=vis)


def visible(radar: Radar, x: ArrayLike, k: float = K_REFRACTION) -> NDArray[np.bool_]:
    """Visibility mask of ECEF states ``x`` ``(..., 6)`` -> ``(...)``; see :func:`geometry`."""
    return geometry(radar, x, k).visible


def intervals(t: ArrayLike, mask: ArrayLike) -> list[tuple[float, float]]:
    """Maximal runs of True in ``mask`` over sample times ``t`` as [(t_first, t_last), ...]."""
    t, m = np.asarray(t, float), np.asarray(mask, bool)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
    return [(float(t[a]), float(t[b])) for a, b in zip(starts, ends, strict=True)]


def coverage_intervals(flight, radar: Radar, k: float = K_REFRACTION) -> dict:
    """Visibility intervals of every object of a Flight at its own sample times.

    Returns ``{object_id: [(t0, t1), ...]}`` [s since epoch]; an object never visible maps to
    an empty list. Intervals are closed at the first/last visible sample (resolution = the
    simulator's sample interval).
    """
    out = {}
    for obj in flight.objects:
        x = np.concatenate([obj.r, obj.v], axis=-1)
        out[obj.id] = intervals(obj.t, visible(radar, x, k))
    return out
