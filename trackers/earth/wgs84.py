"""WGS-84 ellipsoid: geodetic <-> ECEF <-> local ENU / AER conversions, vectorised.

Conventions (docs/conventions.md): SI units, angles in radians, arrays with leading batch axes.
Latitude ``lat`` is geodetic, longitude ``lon`` east-positive, altitude ``alt`` in metres
above the ellipsoid. Azimuth is measured from north, clockwise; elevation above the local
horizontal plane (normal to the ellipsoid).

References
----------
NIMA TR8350.2, "Department of Defense World Geodetic System 1984", 3rd ed., 2000.
J. Zhu, "Conversion of Earth-centered Earth-fixed coordinates to geodetic coordinates",
IEEE Trans. Aerospace and Electronic Systems 30(3), 957-961, 1994 (closed form used below;
equivalent to Heikkinen 1982).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Semi-major axis a [m].
A = 6378137.0
#: Flattening f [-].
F = 1.0 / 298.257223563
#: Semi-minor axis b = a (1 - f) [m].
B = A * (1.0 - F)
#: First eccentricity squared e^2 = f (2 - f) [-].
E2 = F * (2.0 - F)
#: Second eccentricity squared e'^2 = (a^2 - b^2) / b^2 [-].
EP2 = (A * A - B * B) / (B * B)
#: Earth's gravitational parameter GM [m^3/s^2].
GM = 3.986004418e14
#: Earth rotation rate omega_E [rad/s].
OMEGA_E = 7.292115e-5
#: Second zonal harmonic J2 (unnormalised) [-].
J2 = 1.08263e-3
#: Mean Earth radius R1 = (2a + b)/3 [m], used for spherical approximations.
R_MEAN = (2.0 * A + B) / 3.0


def geodetic_to_ecef(
    lat: ArrayLike, lon: ArrayLike, alt: ArrayLike, a: float = A, e2: float = E2
) -> NDArray[np.float64]:
    """Geodetic (lat, lon [rad], alt [m]) -> ECEF position [m], shape ``(..., 3)``.

    x = (N + h) cos(lat) cos(lon), y = (N + h) cos(lat) sin(lon), z = (N (1 - e^2) + h) sin(lat),
    with the prime-vertical radius N = a / sqrt(1 - e^2 sin^2 lat). ``e2 = 0`` gives a sphere
    of radius ``a``.
    """
    lat, lon, alt = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lat, lon, alt)))
    slat, clat = np.sin(lat), np.cos(lat)
    n = a / np.sqrt(1.0 - e2 * slat * slat)
    return np.stack(
        [
            (n + alt) * clat * np.cos(lon),
            (n + alt) * clat * np.sin(lon),
            (n * (1 - e2) + alt) * slat,
        ],
        axis=-1,
    )


def ecef_to_geodetic(
    r: ArrayLike, a: float = A, e2: float = E2
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """ECEF position ``(..., 3)`` [m] -> (lat [rad], lon [rad], alt [m]), each ``(...)``.

    Closed form of Zhu (1994), exact to well below a millimetre for |alt| < 10^7 m. For a
    sphere (``e2 == 0``) it reduces to spherical coordinates.
    """
    r = np.asarray(r, dtype=float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    if e2 == 0.0:
        lat = np.arctan2(z, p)
        return lat, lon, np.hypot(p, z) - a
    b = a * np.sqrt(1.0 - e2)
    ep2 = (a * a - b * b) / (b * b)
    # Zhu (1994) / Heikkinen (1982) closed-form solution.
    z2 = z * z
    f_ = 54.0 * b * b * z2
    g = p * p + (1.0 - e2) * z2 - e2 * (a * a - b * b)
    c = e2 * e2 * f_ * p * p / (g * g * g)
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -(pp * e2 * p) / (1.0 + q) + np.sqrt(
        np.maximum(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z2 / (q * (1.0 + q))
            - 0.5 * pp * p * p,
            0.0,
        )
    )
    u = np.hypot(p - e2 * r0, z)
    v = np.sqrt((p - e2 * r0) ** 2 + (1.0 - e2) * z2)
    z0 = b * b * z / (a * v)
    alt = u * (1.0 - b * b / (a * v))
    lat = np.arctan2(z + ep2 * z0, p)
    return lat, lon, alt


def geodetic_altitude(r: ArrayLike, a: float = A, e2: float = E2) -> NDArray[np.float64]:
    """Height above the ellipsoid [m] of ECEF points ``(..., 3)``; see :func:`ecef_to_geodetic`."""
    return ecef_to_geodetic(r, a, e2)[2]


def enu_rotation(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrix ECEF -> local ENU at geodetic (lat, lon), shape ``(..., 3, 3)``.

    Rows are the unit vectors east, north, up expressed in ECEF:
    e = (-sin lon, cos lon, 0), n = (-sin lat cos lon, -sin lat sin lon, cos lat),
    u = (cos lat cos lon, cos lat sin lon, sin lat).
    """
    lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    east = np.stack([-so, co, zero], -1)
    north = np.stack([-sl * co, -sl * so, cl], -1)
    up = np.stack([cl * co, cl * so, sl], -1)
    return np.stack([east, north, up], axis=-2)


def ecef_to_enu(r: ArrayLike, site_ecef: ArrayLike, rot: ArrayLike) -> NDArray[np.float64]:
    """ECEF point(s) ``(..., 3)`` -> ENU ``(..., 3)`` relative to a site.

    ``site_ecef`` is the site's ECEF position ``(..., 3)`` and ``rot`` its ECEF->ENU matrix
    from :func:`enu_rotation`, ``(..., 3, 3)``: enu = rot (r - site).
    """
    d = np.asarray(r, float) - np.asarray(site_ecef, float)
    return np.einsum("...ij,...j->...i", np.asarray(rot, float), d)


def enu_to_aer(enu: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """ENU ``(..., 3)`` -> (azimuth [rad] in [0, 2 pi), elevation [rad], slant range [m]).

    az = atan2(e, n), el = atan2(u, sqrt(e^2 + n^2)), rho = |enu|.
    """
    enu = np.asarray(enu, float)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horiz = np.hypot(e, n)
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    return az, np.arctan2(u, horiz), np.hypot(horiz, u)


def aer_to_enu(az: ArrayLike, el: ArrayLike, rng: ArrayLike) -> NDArray[np.float64]:
    """(azimuth, elevation [rad], slant range [m]) -> ENU ``(..., 3)``."""
    az, el, rng = np.broadcast_arrays(*(np.asarray(v, float) for v in (az, el, rng)))
    ce = np.cos(el)
    return np.stack([rng * ce * np.sin(az), rng * ce * np.cos(az), rng * np.sin(el)], -1)


def ecef_to_aer(
    r: ArrayLike, lat0: float, lon0: float, alt0: float
) -> tuple[NDArray, NDArray, NDArray]:
    """ECEF point(s) ``(..., 3)`` -> (az, el [rad], range [m]) seen from a geodetic site."""
    site = geodetic_to_ecef(lat0, lon0, alt0)
    return enu_to_aer(ecef_to_enu(r, site, enu_rotation(lat0, lon0)))


def aer_to_ecef(
    az: ArrayLike, el: ArrayLike, rng: ArrayLike, lat0: float, lon0: float, alt0: float
) -> NDArray[np.float64]:
    """(az, el [rad], range [m]) seen from a geodetic site -> ECEF ``(..., 3)``."""
    rot = enu_rotation(lat0, lon0)
    return geodetic_to_ecef(lat0, lon0, alt0) + np.einsum(
        "ji,...j->...i", rot, aer_to_enu(az, el, rng)
    )


def great_circle_distance(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike, radius: float = R_MEAN
) -> NDArray[np.float64]:
    """Great-circle distance [m] on a sphere of ``radius`` (haversine formula)."""
    lat1, lon1, lat2, lon2 = (np.asarray(v, float) for v in (lat1, lon1, lat2, lon2))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2.0 * radius * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def geodesic_distance(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Distance [m] along the WGS-84 ellipsoid between two points (Vincenty inverse via pymap3d).

    Falls back to the great-circle distance on the mean sphere where Vincenty does not
    converge (near-antipodal points).
    """
    from pymap3d.vincenty import vdist

    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        *(np.degrees(np.asarray(v, float)) for v in (lat1, lon1, lat2, lon2))
    )
    out = np.empty(lat1.shape)
    flat = [v.ravel() for v in (lat1, lon1, lat2, lon2)]
    res = out.ravel()
    for i in range(res.size):
        a1, o1, a2, o2 = (float(v[i]) for v in flat)
        if a1 == a2 and o1 == o2:
            res[i] = 0.0
            continue
        try:
            res[i] = float(vdist(a1, o1, a2, o2)[0])
        except Exception:  # pragma: no cover - Vincenty non-convergence
            res[i] = float(great_circle_distance(*np.radians([a1, o1, a2, o2])))
    return res.reshape(lat1.shape)
