"""The scalar table lookup shared by Cd(Mach) and pitch schedules equals numpy.interp."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.sim.dynamics import cd_batch, cd_function
from trackers.sim.tables import piecewise_linear


def test_piecewise_linear_equals_numpy_interp() -> None:
    rng = np.random.default_rng(12)
    xs = np.cumsum(rng.uniform(0.1, 2.0, 7))
    ys = rng.normal(size=7)
    f = piecewise_linear(xs, ys)
    x = np.r_[rng.uniform(xs[0] - 3, xs[-1] + 3, 500), xs]  # inside, outside, on breakpoints
    got = np.array([f(float(v)) for v in x])
    np.testing.assert_allclose(got, np.interp(x, xs, ys), rtol=0, atol=1e-14)
    # negative case: linear extrapolation past the ends is not what the table means
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    assert f(xs[-1] + 1.0) != pytest.approx(ys[-1] + slope)
    assert piecewise_linear([3.0], [7.0])(-1e9) == 7.0


def test_cd_scalar_and_batch_agree() -> None:
    table = ((0.0, 0.2), (0.8, 0.25), (1.2, 0.45), (3.0, 0.3))
    mach = np.linspace(-0.5, 4.0, 91)
    f = cd_function(0.15, table)
    np.testing.assert_allclose([f(float(m)) for m in mach], cd_batch(0.15, table, mach), atol=1e-15)
    assert cd_function(0.15, ())(2.0) == 0.15


@pytest.mark.parametrize(("xs", "ys"), [((), ()), ((1.0, 1.0), (0.0, 1.0)), ((1.0,), (0.0, 1.0))])
def test_bad_tables_are_rejected(xs, ys) -> None:
    with pytest.raises(ValueError, match="table"):
        piecewise_linear(xs, ys)
