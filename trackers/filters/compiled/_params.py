"""Motion-model parameters of the compiled kernels as one flat float vector (no numba here).

A ballistic model is handed to :mod:`trackers.filters.compiled._kernels` as ``par``
``(NPAR,)``: Earth constants, the drag configuration and the U.S. Standard Atmosphere 1976
tables, at the fixed offsets below (the kernels read them as compile-time constants). A
linear model gets zeros. An IMM stacks one vector per mode, ``(M, NPAR)``.

Layout (SI units):

    PAR_MU       GM [m^3/s^2]                PAR_RE     equatorial radius a [m] (also J2's)
    PAR_J2       J2 (0: point-mass gravity)  PAR_W      rotation rate [rad/s] (0: inertial)
    PAR_DRAG     0 none, 1 fixed beta,       PAR_INV_BETA  1 / beta [m^2/kg] (fixed beta)
                 2 ln beta state x[6]
    PAR_AIR      0 none, 1 exponential,      PAR_RHO0, PAR_HS  exponential rho0 [kg/m^3],
                 2 US76                                        scale height [m]
    PAR_E2       first eccentricity^2        PAR_B, PAR_EP2    semi-minor axis b [m],
                                                               second eccentricity^2
    US76_*       layer bases H_b [m] (geopotential), lapse rates L_b [K/m], base temperatures
                 T_b [K] and pressures p_b [Pa] (7 each); Z_86 [m], r0 [m], g0 [m/s^2],
                 M0 [kg/mol], R* [J/(mol K)], tail start [m] and scale height [m]; the PCHIP
                 breakpoints of ln rho over 86-1000 km [m] (US76_NK of them) and the cubic
                 coefficients c[q, j] (4, US76_NK - 1), row-major
                 (:mod:`trackers.earth.atmosphere`).

The kernels compile these offsets in as constants, and numba's on-disk cache is keyed on
``_kernels.py`` only: after changing the layout here, touch ``_kernels.py`` (or clear its
``__pycache__``) so the cached kernels are rebuilt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from trackers.earth import atmosphere as atm
from trackers.models.ballistic import DRHO_STEP, Ballistic

PAR_MU, PAR_RE, PAR_J2, PAR_W = 0, 1, 2, 3
PAR_DRAG, PAR_INV_BETA, PAR_AIR, PAR_RHO0, PAR_HS = 4, 5, 6, 7, 8
PAR_E2, PAR_B, PAR_EP2, PAR_DRHO = 9, 10, 11, 12
#: drag kinds (par[PAR_DRAG])
DRAG_NONE, DRAG_FIXED, DRAG_STATE = 0, 1, 2
#: atmosphere kinds (par[PAR_AIR]) by EarthModel.atmosphere
AIR_KINDS = {"none": 0, "exponential": 1, "us76": 2}
AIR_NONE, AIR_EXP, AIR_US76 = 0, 1, 2
GRAVITY = ("j2", "point-mass")

US76_HB = 16
US76_LB = US76_HB + 7
US76_TB = US76_LB + 7
US76_PB = US76_TB + 7
US76_Z86 = US76_PB + 7
US76_R0, US76_G0, US76_M0, US76_RSTAR = US76_Z86 + 1, US76_Z86 + 2, US76_Z86 + 3, US76_Z86 + 4
US76_ZTOP, US76_HTOP = US76_Z86 + 5, US76_Z86 + 6
US76_NK = int(atm.UPPER_LOG_DENSITY.x.shape[0])
US76_XK = US76_Z86 + 7
US76_C = US76_XK + US76_NK
NPAR = US76_C + 4 * (US76_NK - 1)


def _us76_tables() -> NDArray:
    """The US76 part of ``par`` (module docstring), from :mod:`trackers.earth.atmosphere`."""
    out = np.zeros(NPAR)
    out[US76_HB : US76_HB + 7] = atm.LAYER_BASE_HEIGHTS_M
    out[US76_LB : US76_LB + 7] = atm.LAYER_LAPSE_RATES_KPM
    out[US76_TB : US76_TB + 7] = atm.LAYER_BASE_TEMPERATURES_K
    out[US76_PB : US76_PB + 7] = atm.LAYER_BASE_PRESSURES_PA
    out[US76_Z86] = atm.Z_86
    out[US76_R0] = atm.R0_US76
    out[US76_G0] = atm.G0
    out[US76_M0] = atm.M0
    out[US76_RSTAR] = atm.R_STAR
    out[US76_ZTOP] = atm.TAIL_START_M
    out[US76_HTOP] = atm.TAIL_SCALE_HEIGHT_M
    pp = atm.UPPER_LOG_DENSITY
    out[US76_XK : US76_XK + US76_NK] = pp.x
    out[US76_C:NPAR] = np.asarray(pp.c, float).ravel()
    return out


def motion_params(model: Any, owner: str) -> NDArray:
    """``par`` ``(NPAR,)`` of a motion model (zeros for a linear model).

    Raises ValueError naming ``owner`` and the field for an Earth configuration the kernels
    do not implement.
    """
    par = np.zeros(NPAR)
    if not isinstance(model, Ballistic):
        return par
    e = model.earth
    if e.gravity not in GRAVITY:
        raise ValueError(
            f"{owner}: the compiled backend supports earth.gravity in {GRAVITY}, got {e.gravity!r}"
        )
    if e.atmosphere not in AIR_KINDS:
        raise ValueError(
            f"{owner}: the compiled backend supports earth.atmosphere in {tuple(AIR_KINDS)}, "
            f"got {e.atmosphere!r}"
        )
    from trackers.earth.wgs84 import J2

    a, e2 = float(e.a), float(e.e2)
    b = a * np.sqrt(1.0 - e2)  # as in wgs84.ecef_to_geodetic
    par[PAR_MU], par[PAR_RE], par[PAR_W] = e.mu, a, e.w
    par[PAR_J2] = 0.0 if e.gravity == "point-mass" else J2
    par[PAR_E2], par[PAR_B] = e2, b
    par[PAR_EP2] = (a * a - b * b) / (b * b)
    par[PAR_DRHO] = DRHO_STEP
    if model._has_drag:
        par[PAR_DRAG] = DRAG_STATE if model.drag_state else DRAG_FIXED
        if not model.drag_state:
            assert model.beta is not None  # _has_drag without drag_state: beta is set
            par[PAR_INV_BETA] = 1.0 / float(model.beta)  # as Ballistic._inv_beta
        par[PAR_AIR] = AIR_KINDS[e.atmosphere]
        par[PAR_RHO0], par[PAR_HS] = e.rho0, e.scale_height
        if e.atmosphere == "us76":
            par[US76_HB:] = _us76_tables()[US76_HB:]
    return par
