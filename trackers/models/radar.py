"""Radar measurement model: range, azimuth, elevation (and optionally range-rate) from a site.

The site is fixed on the Earth at geodetic (lat, lon, alt) on WGS-84 (or given as an ECEF
position, :meth:`RadarMeasurement.from_ecef`; its ENU rotation then follows from the geodetic
lat/lon). The state is ECEF ``[x, y, z, vx, vy, vz, ...]`` (extra components are ignored,
their Jacobian columns are zero). With d = R (r - s) the target's ENU coordinates (e, n, u),
rho = |d|, p = sqrt(e^2 + n^2):

    range      rho = |r - s|
    azimuth    az  = atan2(e, n) mod 2 pi        (from north, clockwise, in [0, 2 pi))
    elevation  el  = atan2(u, p)
    range-rate rr  = (r - s) . v / rho           (site fixed in ECEF, v the ECEF velocity)

Measurement vector z = (range, azimuth, elevation[, range_rate]); ``angle_indices = (1, 2)``.
Analytic Jacobian (rows w.r.t. d, then times R for ECEF position):

    d rho / d d = d' / rho
    d az  / d d = (n, -e, 0) / p^2
    d el  / d d = (-e u, -n u, p^2) / (p rho^2)
    d rr  / d r = (v - rr l) / rho,   d rr / d v = l,   l = (r - s) / rho

Azimuth is singular at the zenith (p = 0); there its Jacobian row is returned as zero.
At the site itself (rho = 0) no direction is defined: ``measure`` and
``measure_with_jacobian`` raise ``ValueError`` ("state at the radar site (range 0)") instead of
returning NaN. Site angles are radians: |lat| > pi/2 or |lon| > 2 pi (degrees passed by
mistake) are refused at construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth import wgs84


def _check_sigma(name: str, value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value > 0):
        raise ValueError(f"RadarMeasurement.{name} must be a finite number > 0, got {value!r}")


def _check_range(rho: NDArray) -> None:
    """ValueError if any range rho [m] is exactly 0 (state at the site: no direction)."""
    if not (rho != 0.0).all():
        i = tuple(int(v) for v in np.argwhere(rho == 0.0)[0])
        raise ValueError(
            f"RadarMeasurement: state at the radar site (range 0) at batch index {i}; "
            "azimuth, elevation and range-rate are undefined there"
        )


@dataclass(frozen=True)
class RadarMeasurement:
    """Measurement function h(x) of a radar at a geodetic site: (range, az, el[, range-rate]).

    The filters' measurement model, with its Jacobian and noise covariance R; the radar site
    itself (coverage, detection budget, scan times) is :class:`trackers.sensors.Radar`, whose
    ``measurement_model()`` returns one of these.

    Attributes
    ----------
    lat, lon : float
        Geodetic latitude and longitude of the site [rad], |lat| <= pi/2, |lon| <= 2 pi.
    alt : float
        Site height above the WGS-84 ellipsoid [m].
    sigma_range : float
        Range noise standard deviation [m].
    sigma_azimuth, sigma_elevation : float
        Angle noise standard deviations [rad].
    sigma_range_rate : float or None
        Range-rate noise standard deviation [m/s]; None: no range-rate measurement (m = 3).
    """

    lat: float = field(metadata={"units": "rad"})
    lon: float = field(metadata={"units": "rad"})
    alt: float = field(default=0.0, metadata={"units": "m"})
    sigma_range: float = field(default=50.0, metadata={"units": "m"})
    sigma_azimuth: float = field(default=1e-3, metadata={"units": "rad"})
    sigma_elevation: float = field(default=1e-3, metadata={"units": "rad"})
    sigma_range_rate: float | None = field(default=None, metadata={"units": "m/s"})

    angle_indices = (1, 2)

    def __post_init__(self) -> None:
        if not (isinstance(self.lat, int | float) and abs(self.lat) <= np.pi / 2):
            raise ValueError(
                f"RadarMeasurement.lat must be in [-pi/2, pi/2] rad (degrees given?), "
                f"got {self.lat!r}"
            )
        if not (isinstance(self.lon, int | float) and abs(self.lon) <= 2.0 * np.pi):
            raise ValueError(
                f"RadarMeasurement.lon must be in [-2 pi, 2 pi] rad (degrees given?), "
                f"got {self.lon!r}"
            )
        if not (isinstance(self.alt, int | float) and -1e4 <= self.alt <= 1e6):
            raise ValueError(f"RadarMeasurement.alt must be in [-1e4, 1e6] m, got {self.alt!r}")
        for name in ("sigma_range", "sigma_azimuth", "sigma_elevation"):
            _check_sigma(name, getattr(self, name))
        if self.sigma_range_rate is not None:
            _check_sigma("sigma_range_rate", self.sigma_range_rate)

    @classmethod
    def from_degrees(
        cls, lat_deg: float, lon_deg: float, alt: float = 0.0, **kw
    ) -> RadarMeasurement:
        """Site in degrees (edge convenience); noise keywords as in the class."""
        return cls(float(np.radians(lat_deg)), float(np.radians(lon_deg)), float(alt), **kw)

    @classmethod
    def from_ecef(cls, site_ecef, **kw) -> RadarMeasurement:
        """Site given as a WGS-84 ECEF position ``(3,)`` [m]; the ENU rotation follows from its
        geodetic latitude and longitude (Zhu 1994 closed form, :mod:`trackers.earth.wgs84`)."""
        site = np.asarray(site_ecef, float)
        if site.shape != (3,) or not np.all(np.isfinite(site)):
            raise ValueError(
                f"RadarMeasurement.from_ecef: site_ecef must be a finite (3,) array, got {site}"
            )
        lat, lon, alt = wgs84.ecef_to_geodetic(site)
        return cls(float(lat), float(lon), float(alt), **kw)

    @property
    def ndim_meas(self) -> int:
        return 3 if self.sigma_range_rate is None else 4

    @cached_property
    def site_ecef(self) -> NDArray:
        """Site ECEF position ``(3,)`` [m]."""
        return wgs84.geodetic_to_ecef(self.lat, self.lon, self.alt)

    @cached_property
    def enu_rotation(self) -> NDArray:
        """ECEF -> ENU rotation ``(3, 3)`` at the site (rows e, n, u)."""
        return wgs84.enu_rotation(self.lat, self.lon)

    def noise_cov(self) -> NDArray:
        """R = diag(sigma_range^2, sigma_az^2, sigma_el^2[, sigma_rr^2]), ``(m, m)``."""
        s = [self.sigma_range, self.sigma_azimuth, self.sigma_elevation]
        if self.sigma_range_rate is not None:
            s.append(self.sigma_range_rate)
        return np.diag(np.square(s))

    def _check(self, x: ArrayLike) -> NDArray:
        x = np.asarray(x, float)
        need = 3 if self.sigma_range_rate is None else 6
        if x.ndim < 1 or x.shape[-1] < need:
            raise ValueError(
                f"RadarMeasurement: state x must have shape (..., n>={need}), got {x.shape}"
            )
        return x

    def measure(self, x: ArrayLike) -> NDArray:
        """h(x): ``(..., n) -> (..., m)`` (module docstring).

        Raises ValueError if a state is at the site (rho = 0: no direction).
        """
        x = self._check(x)
        rel = x[..., :3] - self.site_ecef
        d = rel @ self.enu_rotation.T
        e, n, u = d[..., 0], d[..., 1], d[..., 2]
        p2 = e * e + n * n
        p = np.sqrt(p2)
        rho = np.sqrt(p2 + u * u)
        _check_range(rho)
        out = [rho, np.mod(np.arctan2(e, n), 2.0 * np.pi), np.arctan2(u, p)]
        if self.sigma_range_rate is not None:
            out.append(np.einsum("...i,...i->...", rel, x[..., 3:6]) / rho)
        return np.stack(out, axis=-1)

    def measure_with_jacobian(self, x: ArrayLike) -> tuple[NDArray, NDArray]:
        """(h(x) ``(..., m)``, H = dh/dx ``(..., m, n)``); rows in the module docstring."""
        x = self._check(x)
        rot = self.enu_rotation
        rel = x[..., :3] - self.site_ecef
        d = rel @ rot.T
        e, n, u = d[..., 0], d[..., 1], d[..., 2]
        p2 = e * e + n * n
        p = np.sqrt(p2)
        rho2 = p2 + u * u
        rho = np.sqrt(rho2)
        _check_range(rho)
        ok = p2 > 0
        safe_p2 = np.where(ok, p2, 1.0)
        safe_p = np.where(p > 0, p, 1.0)
        # rows d(rho, az, el)/d(e, n, u), entry by entry (length-N vector operations)
        g = np.empty(d.shape + (3,))
        g[..., 0, 0], g[..., 0, 1], g[..., 0, 2] = e / rho, n / rho, u / rho
        g[..., 1, 0] = np.where(ok, n / safe_p2, 0.0)
        g[..., 1, 1] = np.where(ok, -e / safe_p2, 0.0)
        g[..., 1, 2] = 0.0
        den = safe_p * rho2
        g[..., 2, 0], g[..., 2, 1], g[..., 2, 2] = -e * u / den, -n * u / den, p2 / den
        # w.r.t. ECEF r: G rot, one (3 N, 3) @ (3, 3) product
        rows = (g.reshape(-1, 3) @ rot).reshape(g.shape)
        m = self.ndim_meas
        h = np.zeros(x.shape[:-1] + (m, x.shape[-1]))
        h[..., :3, :3] = rows
        z = [rho, np.mod(np.arctan2(e, n), 2.0 * np.pi), np.arctan2(u, p)]
        if self.sigma_range_rate is not None:
            v = x[..., 3:6]
            los = rel / rho[..., None]
            rr = np.einsum("...i,...i->...", los, v)
            h[..., 3, :3] = (v - rr[..., None] * los) / rho[..., None]
            h[..., 3, 3:6] = los
            z.append(rr)
        return np.stack(z, axis=-1), h
