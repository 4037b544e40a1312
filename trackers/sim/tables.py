"""Scalar table lookups for the right-hand side's hot loop (plain floats, no NumPy).

:func:`piecewise_linear` is ``numpy.interp`` for one float: linear between breakpoints,
held constant beyond the first and last ones,

    f(x) = y_0                                                  x <= x_0
    f(x) = y_{i-1} + (x - x_{i-1}) (y_i - y_{i-1}) / (x_i - x_{i-1})   x_{i-1} < x <= x_i
    f(x) = y_{n-1}                                              x >= x_{n-1}

used for Cd(Mach) tables (:mod:`trackers.sim.dynamics`) and pitch schedules
(:mod:`trackers.sim.guidance`).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence


def piecewise_linear(xs: Sequence[float], ys: Sequence[float]) -> Callable[[float], float]:
    """Clamped linear interpolant of the table (``xs`` strictly increasing, same length as
    ``ys``, at least one entry) as a scalar callable; equals ``numpy.interp(x, xs, ys)``."""
    xk = [float(x) for x in xs]
    yk = [float(y) for y in ys]
    if not xk or len(xk) != len(yk):
        raise ValueError(f"table needs >= 1 entry and equal lengths, got {len(xk)} x, {len(yk)} y")
    if any(b <= a for a, b in itertools.pairwise(xk)):
        raise ValueError(f"table x values must be strictly increasing, got {xk}")
    x0, x1, y0, y1 = xk[0], xk[-1], yk[0], yk[-1]

    def f(x: float) -> float:
        if x <= x0:
            return y0
        if x >= x1:
            return y1
        i = bisect.bisect_left(xk, x)  # xk[i-1] < x <= xk[i]
        a = (x - xk[i - 1]) / (xk[i] - xk[i - 1])
        return yk[i - 1] + a * (yk[i] - yk[i - 1])

    return f
