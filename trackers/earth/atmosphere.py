"""Atmosphere models: U.S. Standard Atmosphere 1976 (to 1000 km and beyond) and exponential.

US76 below 86 km (geometric) follows the defining equations: seven layers in geopotential
altitude H = r0 Z / (r0 + Z) (r0 = 6 356 766 m) with linear molecular-scale temperature

    T(H) = T_b + L_b (H - H_b)
    p(H) = p_b [T_b / T(H)]^(g0 M0 / (R* L_b))        (L_b != 0)
    p(H) = p_b exp(-g0 M0 (H - H_b) / (R* T_b))       (L_b == 0)
    rho  = p M0 / (R* T),   a = sqrt(gamma R* T / M0)

(U.S. Standard Atmosphere 1976, NOAA-S/T 76-1562, eqs. 23, 33a, 33b, 42, 50; docs/references.md §3).
Above 86 km the 1976 model integrates diffusion equations per species; here we interpolate its
published table (Table I, 86-1000 km) with a monotone cubic (PCHIP) in log density, log
pressure and temperature, starting from the lower model's own values at 86 km so the profile
is continuous there, and continue exponentially with the 900-1000 km scale height above
1000 km. Speed of sound is reported from the ideal-gas formula at all heights (it has no
physical meaning in the free-molecular regime, but stays finite).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import PchipInterpolator

G0 = 9.80665  # standard gravity [m/s^2]
R_STAR = 8.31432  # universal gas constant used by US76 [J/(mol K)]
M0 = 0.0289644  # sea-level mean molar mass [kg/mol]
GAMMA = 1.4  # ratio of specific heats of air [-]
R0_US76 = 6356766.0  # Earth radius used for geopotential altitude [m]
R_AIR = R_STAR / M0  # specific gas constant [J/(kg K)]

# Layer bases: geopotential altitude H_b [m], lapse rate L_b [K/m].
_H_B = np.array([0.0, 11000.0, 20000.0, 32000.0, 47000.0, 51000.0, 71000.0])
_L_B = np.array([-6.5, 0.0, 1.0, 2.8, 0.0, -2.8, -2.0]) * 1e-3
Z_86 = 86000.0  # geometric top of the lower model [m]


def _layer_bases() -> tuple[NDArray, NDArray]:
    """Base temperatures and pressures of the seven layers, derived from sea level."""
    tb = [288.15]
    pb = [101325.0]
    for i in range(1, len(_H_B)):
        dh = _H_B[i] - _H_B[i - 1]
        t0, p0, lb = tb[-1], pb[-1], _L_B[i - 1]
        t1 = t0 + lb * dh
        if lb == 0.0:
            p1 = p0 * np.exp(-G0 * M0 * dh / (R_STAR * t0))
        else:
            p1 = p0 * (t0 / t1) ** (G0 * M0 / (R_STAR * lb))
        tb.append(t1)
        pb.append(p1)
    return np.array(tb), np.array(pb)


_T_B, _P_B = _layer_bases()

# U.S. Standard Atmosphere 1976, Table I: geometric altitude [km], kinetic temperature [K],
# pressure [Pa], density [kg/m^3], 86-1000 km.
_UPPER = np.array(
    [
        (86, 186.87, 3.7338e-1, 6.958e-6),
        (90, 186.87, 1.8359e-1, 3.416e-6),
        (95, 188.42, 7.5966e-2, 1.393e-6),
        (100, 195.08, 3.2011e-2, 5.604e-7),
        (110, 240.00, 7.1042e-3, 9.708e-8),
        (120, 360.00, 2.5382e-3, 2.222e-8),
        (130, 469.27, 1.2505e-3, 8.152e-9),
        (140, 559.63, 7.2028e-4, 3.831e-9),
        (150, 634.39, 4.5422e-4, 2.076e-9),
        (160, 696.29, 3.0395e-4, 1.233e-9),
        (180, 790.07, 1.5271e-4, 5.194e-10),
        (200, 854.56, 8.4736e-5, 2.541e-10),
        (250, 941.33, 2.4767e-5, 6.073e-11),
        (300, 976.01, 8.7704e-6, 1.916e-11),
        (350, 990.06, 3.4498e-6, 7.014e-12),
        (400, 995.83, 1.4518e-6, 2.803e-12),
        (450, 998.22, 6.4468e-7, 1.184e-12),
        (500, 999.24, 3.0236e-7, 5.215e-13),
        (600, 999.85, 8.2130e-8, 1.137e-13),
        (700, 999.97, 3.1908e-8, 3.070e-14),
        (800, 999.99, 1.7036e-8, 1.136e-14),
        (900, 1000.0, 1.0873e-8, 5.759e-15),
        (1000, 1000.0, 7.5138e-9, 3.561e-15),
    ]
)


def _lower(z: NDArray) -> tuple[NDArray, NDArray]:
    """Temperature and pressure of the 0-86 km model at geometric altitude z [m]."""
    h = R0_US76 * z / (R0_US76 + z)
    i = np.clip(np.searchsorted(_H_B, h, side="right") - 1, 0, len(_H_B) - 1)
    tb, pb, lb, hb = _T_B[i], _P_B[i], _L_B[i], _H_B[i]
    t = tb + lb * (h - hb)
    iso = lb == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        p_grad = pb * (tb / t) ** (G0 * M0 / (R_STAR * np.where(iso, 1.0, lb)))
    p_iso = pb * np.exp(-G0 * M0 * (h - hb) / (R_STAR * tb))
    return t, np.where(iso, p_iso, p_grad)


def _upper_interpolants() -> tuple[PchipInterpolator, PchipInterpolator, PchipInterpolator]:
    z = _UPPER[:, 0] * 1e3
    t86, p86 = _lower(np.array([Z_86]))
    t = _UPPER[:, 1].copy()
    lp = np.log(_UPPER[:, 2])
    lr = np.log(_UPPER[:, 3])
    # Anchor at the lower model's values so the profile is continuous at 86 km.
    t[0] = t86[0]
    lp[0] = np.log(p86[0])
    lr[0] = np.log(p86[0] * M0 / (R_STAR * t86[0]))
    return PchipInterpolator(z, t), PchipInterpolator(z, lp), PchipInterpolator(z, lr)


_T_UP, _LP_UP, _LR_UP = _upper_interpolants()
_Z_TOP = 1.0e6
_H_TOP = 1.0e5 / np.log(_UPPER[-2, 3] / _UPPER[-1, 3])  # density scale height 900-1000 km [m]

# Public, read-only names of the tables above for scalar re-implementations of this model
# (trackers.sim.dynamics.FastEarth): layer bases H_b [m] (geopotential), lapse rates L_b [K/m],
# base temperatures T_b [K] and pressures p_b [Pa]; the PCHIP interpolants of T [K], ln p and
# ln rho over 86-1000 km (geometric, [m]); the start [m] and density scale height [m] of the
# exponential tail above 1000 km.
LAYER_BASE_HEIGHTS_M = _H_B
LAYER_LAPSE_RATES_KPM = _L_B
LAYER_BASE_TEMPERATURES_K = _T_B
LAYER_BASE_PRESSURES_PA = _P_B
UPPER_TEMPERATURE = _T_UP
UPPER_LOG_PRESSURE = _LP_UP
UPPER_LOG_DENSITY = _LR_UP
TAIL_START_M = _Z_TOP
TAIL_SCALE_HEIGHT_M = float(_H_TOP)


@dataclass(frozen=True)
class AtmosphereState:
    """Atmospheric properties at given altitudes; every field has the input's shape."""

    temperature: NDArray = field(metadata={"units": "K"})
    pressure: NDArray = field(metadata={"units": "Pa"})
    density: NDArray = field(metadata={"units": "kg/m^3"})
    speed_of_sound: NDArray = field(metadata={"units": "m/s"})


class US76:
    """U.S. Standard Atmosphere 1976 from -5 km to 1000 km, exponential above (module doc).

    Altitudes are geometric, in metres above the ellipsoid; below -5 km the first layer is
    extrapolated.
    """

    name = "us76"

    def properties(self, alt: ArrayLike) -> AtmosphereState:
        """Temperature, pressure, density and speed of sound at ``alt`` [m]."""
        z = np.asarray(alt, dtype=float)
        low = z <= Z_86
        zl = np.where(low, z, Z_86)
        t_lo, p_lo = _lower(zl)
        zu = np.clip(z, Z_86, _Z_TOP)
        t_up = _T_UP(zu)
        above = np.maximum(z - _Z_TOP, 0.0)
        p_up = np.exp(_LP_UP(zu) - above / _H_TOP)
        r_up = np.exp(_LR_UP(zu) - above / _H_TOP)
        t = np.where(low, t_lo, t_up)
        p = np.where(low, p_lo, p_up)
        rho = np.where(low, p_lo * M0 / (R_STAR * t_lo), r_up)
        return AtmosphereState(t, p, rho, np.sqrt(GAMMA * R_AIR * t))

    def density(self, alt: ArrayLike) -> NDArray:
        """Density [kg/m^3] at geometric altitude ``alt`` [m]."""
        z = np.asarray(alt, dtype=float)
        low = z <= Z_86
        t_lo, p_lo = _lower(np.where(low, z, Z_86))
        zu = np.clip(z, Z_86, _Z_TOP)
        r_up = np.exp(_LR_UP(zu) - np.maximum(z - _Z_TOP, 0.0) / _H_TOP)
        return np.where(low, p_lo * M0 / (R_STAR * t_lo), r_up)

    def speed_of_sound(self, alt: ArrayLike) -> NDArray:
        """Speed of sound [m/s] at ``alt`` [m]."""
        return self.properties(alt).speed_of_sound


@dataclass(frozen=True)
class Exponential:
    """Exponential atmosphere rho(h) = rho0 exp(-h / H), isothermal at ``temperature``."""

    rho0: float = field(default=1.225, metadata={"units": "kg/m^3"})
    scale_height: float = field(default=7200.0, metadata={"units": "m"})
    temperature: float = field(default=288.15, metadata={"units": "K"})
    name = "exponential"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rho0) and self.rho0 >= 0):
            raise ValueError(f"rho0 must be a finite density >= 0 kg/m^3, got {self.rho0!r}")
        if not (np.isfinite(self.scale_height) and self.scale_height > 0):
            raise ValueError(f"scale_height must be > 0 m, got {self.scale_height!r}")
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be > 0 K, got {self.temperature!r}")

    def density(self, alt: ArrayLike) -> NDArray:
        """rho0 exp(-h/H) [kg/m^3]."""
        return self.rho0 * np.exp(-np.asarray(alt, float) / self.scale_height)

    def properties(self, alt: ArrayLike) -> AtmosphereState:
        rho = self.density(alt)
        t = np.full_like(rho, self.temperature)
        return AtmosphereState(t, rho * R_AIR * t, rho, np.sqrt(GAMMA * R_AIR * t))

    def speed_of_sound(self, alt: ArrayLike) -> NDArray:
        return self.properties(alt).speed_of_sound


class Vacuum:
    """No atmosphere: zero density and pressure (for vacuum validation cases)."""

    name = "none"

    def density(self, alt: ArrayLike) -> NDArray:
        return np.zeros_like(np.asarray(alt, float))

    def properties(self, alt: ArrayLike) -> AtmosphereState:
        z = np.zeros_like(np.asarray(alt, float))
        return AtmosphereState(z, z, z, np.full_like(z, np.sqrt(GAMMA * R_AIR * 288.15)))

    def speed_of_sound(self, alt: ArrayLike) -> NDArray:
        return self.properties(alt).speed_of_sound
