"""Radar description: site, measurement set, accuracy, timing, coverage and detection budget.

A :class:`Radar` is a frozen dataclass in SI units (rad, m, s). Degrees and km only appear in
the TOML preset files (:mod:`trackers.sensors.catalog`), converted once on load.

Measurement order is fixed: ``(range, azimuth, elevation[, range_rate])`` in the site's local
ENU frame, azimuth from north clockwise in [0, 2 pi) (docs/conventions.md). The measurement
function is

    d   = r_tgt - r_site                        (ECEF, site fixed on the rotating Earth)
    enu = C_enu<-ecef(lat, lon) d
    rho = |d|,  az = atan2(e, n) mod 2 pi,  el = atan2(u, sqrt(e^2 + n^2))
    rho_dot = d . v_tgt / |d|                   (v_tgt ECEF, site velocity zero in ECEF)

References
----------
M. I. Skolnik, *Introduction to Radar Systems*, 3rd ed., McGraw-Hill, 2001 (radar equation,
Swerling models, resolution cell).
Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, Wiley, 2001, sec. 1.5 (polar/spherical measurement models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trackers.earth import wgs84

#: Names of the measurement components, in their fixed order.
MEASUREMENT_NAMES = ("range", "azimuth", "elevation", "range_rate")
#: Units of the measurement components.
MEASUREMENT_UNITS = ("m", "rad", "rad", "m/s")
#: Indices of the angle components (residuals wrapped) in the measurement vector.
ANGLE_INDICES = (1, 2)

PLATFORMS = ("ground", "ship")


def _m(units: str, doc: str) -> dict:
    return {"units": units, "doc": doc}


@dataclass(frozen=True)
class Radar:
    """One radar: where it is, what it measures, how well, how often and how far.

    All values SI. Angles in radians; ``lat``/``lon`` geodetic (WGS-84).

    Attributes
    ----------
    id, type : str
        Unique id (e.g. ``"fps5-sado"``) and radar type (e.g. ``"J/FPS-5"``).
    nation, operator : str
        Host nation of the site / network it reports to (``"JP"``, ``"KR"``) and operator.
    platform : "ground" or "ship"
        A ship has a fixed (assumed) position at sea; ``alt`` is then the antenna height.
    lat, lon [rad], alt [m]
        Site (antenna phase centre), geodetic.
    measures_range_rate : bool
        Whether range-rate is the 4th measurement component.
    sigma_range [m], sigma_az [rad], sigma_el [rad], sigma_range_rate [m/s]
        1-sigma Gaussian measurement noise (``sigma_range_rate`` ignored if not measured).
    revisit [s], revisit_phase [s]
        Scan interval and the time of the first scan after the epoch: scans at
        ``t_k = revisit_phase + k * revisit``.
    min_elevation [rad]
        Minimum elevation above the 4/3-Earth effective horizon (see :mod:`.visibility`).
    min_range, max_range [m]
        Instrumented range interval.
    boresight_az [rad], half_width_az [rad]
        Field of regard in azimuth: ``|wrap(az - boresight_az)| <= half_width_az``
        (``half_width_az = pi`` is all-round).
    el_min, el_max [rad]
        Field of regard in apparent (4/3-Earth refracted) elevation.
    ref_range [m], ref_snr [-]
        A 1 m^2 target at ``ref_range`` has mean SNR ``ref_snr`` (linear power ratio).
    pfa [-]
        Probability of false alarm per resolution cell; sets the threshold ``T = -ln Pfa``.
    range_cell [m], beamwidth [rad]
        Resolution cell: objects with ``|d range| < range_cell`` and angular separation
        ``< beamwidth`` are unresolved (merged).
    false_alarms_per_scan [-]
        Mean number of clutter/false detections per scan over the surveillance volume
        (Poisson). Not tied to ``pfa`` times the number of cells; set it directly.
    max_range_rate [m/s]
        Clutter range-rates are uniform in ``[-max_range_rate, max_range_rate]``.
    source : str
        Where the values come from.
    assumptions : tuple[str, ...]
        Every assumed (unpublished) value, stated in words.
    """

    id: str
    type: str
    lat: float = field(metadata=_m("rad", "geodetic latitude"))
    lon: float = field(metadata=_m("rad", "longitude, east positive"))
    alt: float = field(default=0.0, metadata=_m("m", "height above the ellipsoid"))
    nation: str = ""
    operator: str = ""
    platform: Literal["ground", "ship"] = "ground"
    measures_range_rate: bool = False
    sigma_range: float = field(default=50.0, metadata=_m("m", "range noise 1-sigma"))
    sigma_az: float = field(default=1e-3, metadata=_m("rad", "azimuth noise 1-sigma"))
    sigma_el: float = field(default=1e-3, metadata=_m("rad", "elevation noise 1-sigma"))
    sigma_range_rate: float = field(default=5.0, metadata=_m("m/s", "range-rate 1-sigma"))
    revisit: float = field(default=5.0, metadata=_m("s", "scan interval"))
    revisit_phase: float = field(default=0.0, metadata=_m("s", "first scan time"))
    min_elevation: float = field(default=0.0, metadata=_m("rad", "above 4/3-Earth horizon"))
    min_range: float = field(default=0.0, metadata=_m("m", "instrumented minimum range"))
    max_range: float = field(default=1.0e6, metadata=_m("m", "instrumented maximum range"))
    boresight_az: float = field(default=0.0, metadata=_m("rad", "field-of-regard centre"))
    half_width_az: float = field(default=math.pi, metadata=_m("rad", "azimuth half-width"))
    el_min: float = field(default=0.0, metadata=_m("rad", "field-of-regard lower elevation"))
    el_max: float = field(default=math.pi / 2, metadata=_m("rad", "field-of-regard upper el."))
    ref_range: float = field(default=1.0e6, metadata=_m("m", "range of ref_snr for 1 m^2"))
    ref_snr: float = field(default=20.0, metadata=_m("1", "mean SNR at ref_range, 1 m^2"))
    pfa: float = field(default=1e-6, metadata=_m("1", "false-alarm probability per cell"))
    range_cell: float = field(default=150.0, metadata=_m("m", "range resolution"))
    beamwidth: float = field(default=0.02, metadata=_m("rad", "angular resolution"))
    false_alarms_per_scan: float = field(default=0.0, metadata=_m("1", "Poisson mean"))
    max_range_rate: float = field(default=8000.0, metadata=_m("m/s", "clutter range-rate"))
    source: str = ""
    assumptions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(
                f"radar {self.id!r}: field {name!r} = {getattr(self, name)!r}, expected {expected}"
            )

        if not isinstance(self.id, str) or not self.id:
            raise TypeError(f"radar id must be a non-empty str, got {self.id!r}")
        for name in ("type", "nation", "operator", "source"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"radar {self.id!r}: field {name!r} must be a str")
        if self.platform not in PLATFORMS:
            raise bad("platform", f"one of {PLATFORMS}")
        if not isinstance(self.measures_range_rate, bool):
            raise TypeError(f"radar {self.id!r}: field 'measures_range_rate' must be a bool")
        if not isinstance(self.assumptions, tuple) or not all(
            isinstance(a, str) for a in self.assumptions
        ):
            raise TypeError(f"radar {self.id!r}: field 'assumptions' must be a tuple of str")
        floats = (
            "lat", "lon", "alt", "sigma_range", "sigma_az", "sigma_el", "sigma_range_rate",
            "revisit", "revisit_phase", "min_elevation", "min_range", "max_range",
            "boresight_az", "half_width_az", "el_min", "el_max", "ref_range", "ref_snr", "pfa",
            "range_cell", "beamwidth", "false_alarms_per_scan", "max_range_rate",
        )  # fmt: skip
        for name in floats:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(f"radar {self.id!r}: field {name!r} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise bad(name, "a finite number")
        if abs(self.lat) > math.pi / 2:
            raise bad("lat", "in [-pi/2, pi/2] rad")
        if abs(self.lon) > 2.0 * math.pi:
            raise bad("lon", "in [-2 pi, 2 pi] rad (degrees given as radians?)")
        if not -1.0e3 <= self.alt <= 1.0e4:
            raise bad("alt", "in [-1000, 10000] m")
        positive = ("sigma_range", "sigma_az", "sigma_el", "revisit", "max_range", "ref_range",
                    "ref_snr", "range_cell", "beamwidth", "max_range_rate")  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise bad(name, "> 0")
        if self.measures_range_rate and self.sigma_range_rate <= 0:
            raise bad("sigma_range_rate", "> 0 when range-rate is measured")
        if not 0.0 <= self.revisit_phase < self.revisit:
            raise bad("revisit_phase", f"in [0, revisit = {self.revisit}) s")
        if not 0.0 <= self.min_range < self.max_range:
            raise bad("min_range", f"in [0, max_range = {self.max_range}) m")
        if not 0.0 < self.half_width_az <= math.pi:
            raise bad("half_width_az", "in (0, pi] rad")
        if not -math.pi / 2 <= self.el_min < self.el_max <= math.pi / 2:
            raise bad("el_min", f"-pi/2 <= el_min < el_max = {self.el_max} <= pi/2 rad")
        if not -math.pi / 2 < self.min_elevation < math.pi / 2:
            raise bad("min_elevation", "in (-pi/2, pi/2) rad")
        if not 0.0 < self.pfa < 1.0:
            raise bad("pfa", "in (0, 1)")
        if self.false_alarms_per_scan < 0:
            raise bad("false_alarms_per_scan", ">= 0")

    # ------------------------------------------------------------------ measurement model
    @property
    def ndim_meas(self) -> int:
        """Measurement dimension m: 3, or 4 with range-rate."""
        return 4 if self.measures_range_rate else 3

    @property
    def angle_indices(self) -> tuple[int, ...]:
        """Indices of wrapped angle components (azimuth, elevation)."""
        return ANGLE_INDICES

    @property
    def measurement_names(self) -> tuple[str, ...]:
        return MEASUREMENT_NAMES[: self.ndim_meas]

    @property
    def sigmas(self) -> NDArray[np.float64]:
        """Noise 1-sigmas in measurement order, shape ``(m,)``."""
        s = [self.sigma_range, self.sigma_az, self.sigma_el, self.sigma_range_rate]
        return np.array(s[: self.ndim_meas])

    @property
    def sigmas4(self) -> NDArray[np.float64]:
        """Noise 1-sigmas padded to 4 components (NaN range-rate if not measured), ``(4,)``."""
        rr = self.sigma_range_rate if self.measures_range_rate else np.nan
        return np.array([self.sigma_range, self.sigma_az, self.sigma_el, rr])

    def noise_cov(self) -> NDArray[np.float64]:
        """Measurement noise covariance R = diag(sigma^2), shape ``(m, m)``."""
        return np.diag(self.sigmas**2)

    @property
    def site_ecef(self) -> NDArray[np.float64]:
        """Site position in ECEF [m], shape ``(3,)``."""
        return wgs84.geodetic_to_ecef(self.lat, self.lon, self.alt)

    @property
    def enu_rotation(self) -> NDArray[np.float64]:
        """ECEF -> local ENU rotation at the site, ``(3, 3)`` (rows e, n, u)."""
        return wgs84.enu_rotation(self.lat, self.lon)

    def measure(self, x: ArrayLike) -> NDArray[np.float64]:
        """Noise-free measurement h(x) of ECEF states ``x`` ``(..., 6)`` -> ``(..., m)``.

        range = |d|, az = atan2(e, n) mod 2 pi, el = atan2(u, hypot(e, n)),
        range_rate = d . v / |d| with d = r - r_site.
        """
        x = np.asarray(x, float)
        if x.shape[-1] != 6:
            raise ValueError(f"x must have shape (..., 6) [r, v] ECEF, got {x.shape}")
        return measure_truth(self, x[..., :3], x[..., 3:])[..., : self.ndim_meas]

    def measurement_model(self):
        """The filters' measurement model (:class:`trackers.models.radar.RadarMeasurement`):
        same site, same measurement order and noise sigmas."""
        from trackers.models.radar import RadarMeasurement

        return RadarMeasurement(
            lat=self.lat,
            lon=self.lon,
            alt=self.alt,
            sigma_range=self.sigma_range,
            sigma_azimuth=self.sigma_az,
            sigma_elevation=self.sigma_el,
            sigma_range_rate=self.sigma_range_rate if self.measures_range_rate else None,
        )

    def scan_times(self, t0: float, t1: float) -> NDArray[np.float64]:
        """Scan instants ``revisit_phase + k * revisit`` inside [t0, t1], shape ``(K,)``."""
        k0 = math.ceil((t0 - self.revisit_phase) / self.revisit - 1e-12)
        k1 = math.floor((t1 - self.revisit_phase) / self.revisit + 1e-12)
        k = np.arange(max(k0, 0), k1 + 1)
        return cast("NDArray[np.float64]", self.revisit_phase + k * self.revisit)

    def snr(self, range_m: ArrayLike, rcs: ArrayLike) -> NDArray[np.float64]:
        """Mean SNR from the radar equation: SNR = ref_snr (ref_range / R)^4 (rcs / 1 m^2)."""
        r = np.asarray(range_m, float)
        return self.ref_snr * (self.ref_range / r) ** 4 * np.asarray(rcs, float)


def measure_truth(radar: Radar, r: ArrayLike, v: ArrayLike) -> NDArray[np.float64]:
    """Full 4-component truth measurement (range, az, el, range_rate) ``(..., 4)``.

    ``r``, ``v``: ECEF position [m] and velocity [m/s], ``(..., 3)``. Range-rate is computed
    whether or not the radar reports it (callers slice).
    """
    d = np.asarray(r, float) - radar.site_ecef
    enu = d @ radar.enu_rotation.T
    az, el, rho = wgs84.enu_to_aer(enu)
    rr = np.einsum("...i,...i->...", d, np.asarray(v, float)) / rho
    return np.stack([rho, az, el, rr], axis=-1)
