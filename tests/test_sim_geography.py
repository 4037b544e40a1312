"""Point-in-region helpers (trackers.sim.geography) against matplotlib's Path and named places."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path

from trackers.sim.geography import (
    HOKKAIDO,
    HOKKAIDO_WEST_COAST,
    JAPAN_EEZ_SEA_OF_JAPAN,
    JAPAN_EEZ_WEST,
    east_of,
    in_japan_eez_sea_of_japan,
    in_polygon,
    on_hokkaido,
)

#: (lat, lon) [deg] of places, and whether they are on Hokkaido / in the Sea-of-Japan EEZ.
PLACES = {
    "Sapporo": (43.06, 141.35, True, False),
    "Asahikawa": (43.77, 142.37, True, False),
    "Obihiro": (42.92, 143.20, True, False),
    "Nemuro": (43.33, 145.58, True, False),
    "Wakkanai": (45.40, 141.70, True, False),
    "Cape Erimo": (41.93, 143.25, True, False),
    "hokkaido-2023-onland aim point": (42.10, 140.30, True, False),
    "Aomori": (40.82, 140.74, False, False),
    "Akita": (39.72, 140.10, False, False),
    "Pacific east of Hokkaido (issue 12)": (41.80, 157.20, False, False),
    "Sea of Japan off Otaru": (43.00, 139.00, False, True),
    "Sado island": (38.05, 138.40, False, True),
    "Sea of Japan west of the EEZ limit": (41.00, 134.00, False, False),
    "Sea of Okhotsk": (44.80, 143.50, False, False),
    "Noto peninsula (south of 38N)": (37.30, 136.90, False, False),
}


@pytest.mark.parametrize("name", sorted(PLACES))
def test_named_places(name: str) -> None:
    lat, lon, hok, eez = PLACES[name]
    assert on_hokkaido(lat, lon) is hok
    assert in_japan_eez_sea_of_japan(lat, lon) is eez


def test_issue_12_point_is_nowhere_but_east_of_a_line() -> None:
    """41.8N 157.2E is east of Hokkaido's west coast (a side of a line, which is true), but
    in neither region: the region helpers are the ones to ask where a flight fell."""
    assert east_of(41.8, 157.2, HOKKAIDO_WEST_COAST) and east_of(41.8, 157.2, JAPAN_EEZ_WEST)
    assert not on_hokkaido(41.8, 157.2) and not in_japan_eez_sea_of_japan(41.8, 157.2)


@pytest.mark.parametrize("poly", [HOKKAIDO, JAPAN_EEZ_SEA_OF_JAPAN])
def test_matches_matplotlib_path(poly) -> None:
    rng = np.random.default_rng(12)
    lat = rng.uniform(36.0, 47.0, 20000)
    lon = rng.uniform(130.0, 150.0, 20000)
    ref = Path(np.asarray(poly)[:, ::-1]).contains_points(np.column_stack([lon, lat]))
    got = in_polygon(lat, lon, poly)
    assert got.shape == (20000,) and got.dtype == bool
    assert ref.sum() > 500  # the sample does hit the region
    np.testing.assert_array_equal(got, ref)


def test_regions_are_disjoint_and_wrap_longitude() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(38.0, 46.0, 5000)
    lon = rng.uniform(135.0, 146.0, 5000)
    assert not np.any(on_hokkaido(lat, lon) & in_japan_eez_sea_of_japan(lat, lon))
    np.testing.assert_array_equal(on_hokkaido(lat, lon - 360.0), on_hokkaido(lat, lon))
    np.testing.assert_array_equal(on_hokkaido(lat, lon + 360.0), on_hokkaido(lat, lon))


def test_broadcasting_and_bad_input() -> None:
    lat = np.array([[43.06], [41.80], [43.0]])  # (3, 1)
    lon = np.array([141.35, 157.2, 139.0, 100.0])  # (4,)
    got = on_hokkaido(lat, lon)
    assert got.shape == (3, 4)
    assert got[0, 0] and not got[1, 1] and not got[:, 3].any()
    with pytest.raises(ValueError, match="3 vertices"):
        in_polygon(40.0, 140.0, [(40.0, 139.0), (41.0, 140.0)])
