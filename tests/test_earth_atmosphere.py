"""US Standard Atmosphere 1976 against its published table (NOAA-S/T 76-1562, Table I)."""

import numpy as np
import pytest

from trackers.earth.atmosphere import US76, Exponential

# Geometric altitude [m], temperature [K], pressure [Pa], density [kg/m^3], sound speed [m/s].
TABLE = [
    (0.0, 288.150, 1.01325e5, 1.2250, 340.294),
    (1000.0, 281.651, 8.98763e4, 1.1117, 336.435),
    (5000.0, 255.676, 5.40482e4, 7.3643e-1, 320.545),
    (10000.0, 223.252, 2.64999e4, 4.1351e-1, 299.532),
    (20000.0, 216.650, 5.52929e3, 8.8910e-2, 295.070),
    (30000.0, 226.509, 1.19703e3, 1.8410e-2, 301.709),
    (40000.0, 250.350, 2.87143e2, 3.9957e-3, 317.189),
    (50000.0, 270.650, 7.97790e1, 1.0269e-3, 329.799),
    (60000.0, 247.021, 2.19586e1, 3.0968e-4, 315.070),
    (70000.0, 219.585, 5.22092, 8.2829e-5, 297.056),
    (80000.0, 198.639, 1.05247, 1.8458e-5, 282.543),
]


@pytest.mark.parametrize("z,t,p,rho,a", TABLE)
def test_lower_atmosphere_matches_table_to_0p1_percent(z, t, p, rho, a):
    s = US76().properties(z)
    assert float(s.temperature) == pytest.approx(t, rel=1e-3)
    assert float(s.pressure) == pytest.approx(p, rel=1e-3)
    assert float(s.density) == pytest.approx(rho, rel=1e-3)
    assert float(s.speed_of_sound) == pytest.approx(a, rel=1e-3)


@pytest.mark.parametrize(
    "z,rho", [(100e3, 5.604e-7), (150e3, 2.076e-9), (300e3, 1.916e-11), (1000e3, 3.561e-15)]
)
def test_upper_atmosphere_table_points(z, rho):
    assert float(US76().density(z)) == pytest.approx(rho, rel=1e-3)


def test_continuous_and_monotone_from_ground_to_1500_km():
    z = np.linspace(-2e3, 1.5e6, 200001)
    rho = US76().density(z)
    assert np.all(np.isfinite(rho)) and np.all(rho > 0)
    assert np.all(np.diff(rho) < 0)
    # no jump at 86 km or 1000 km: relative step no larger than elsewhere nearby
    for z0 in (86e3, 1e6):
        lo, hi = US76().density(np.array([z0 - 1.0, z0 + 1.0]))
        assert hi / lo == pytest.approx(1.0, abs=1e-3)


def test_density_and_properties_agree_and_broadcast():
    z = np.array([[0.0, 5e4], [9e4, 4e5]])
    np.testing.assert_allclose(US76().density(z), US76().properties(z).density, rtol=1e-12)
    assert US76().properties(z).temperature.shape == (2, 2)


def test_exponential_atmosphere_and_validation():
    ex = Exponential(rho0=1.2, scale_height=7000.0)
    assert float(ex.density(7000.0)) == pytest.approx(1.2 / np.e)
    with pytest.raises(ValueError, match="scale_height"):
        Exponential(scale_height=0.0)
