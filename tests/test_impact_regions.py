"""Alert regions: known places in / out, prefecture coverage, EEZ vs the rough published limit."""

import numpy as np
import pytest
import shapely
import shapely.affinity

from trackers.impact.regions import Region, contains, load_regions
from trackers.sim.geography import JAPAN_EEZ_WEST


@pytest.fixture(scope="module")
def regions():
    return load_regions()


def _in(region, lat_deg, lon_deg):
    return bool(contains(region, np.radians(lat_deg), np.radians(lon_deg)))


def test_ids_and_types(regions):
    assert {"japan-land", "hokkaido", "japan-eez-sea-of-japan"} <= set(regions)
    prefs = [k for k in regions if k.startswith("jp-")]
    assert len(prefs) == 47
    for r in regions.values():
        assert isinstance(r, Region)
        assert r.polygon.is_valid and not r.polygon.is_empty
        assert "Natural Earth" in r.source


@pytest.mark.parametrize(
    ("name", "lat", "lon"),
    [
        ("Cape Erimo, 1 km inland", 41.94, 143.24),
        ("Cape Soya", 45.50, 141.93),
        ("Sapporo", 43.06, 141.35),
        ("Hakodate coast", 42.10, 140.30),
    ],
)
def test_hokkaido_land_points(regions, name, lat, lon):
    assert _in(regions["hokkaido"], lat, lon), name
    assert _in(regions["japan-land"], lat, lon), name
    assert not _in(regions["japan-eez-sea-of-japan"], lat, lon), name  # the EEZ is sea only


def test_cape_erimo_tip_within_map_accuracy(regions):
    # The cape's tip (41.93 N, 143.25 E) is 0.6 km off the 1:10m coastline, which is generalised
    # at about that scale; the coarse 1:110m outline put it 20 km out at sea.
    hk = regions["hokkaido"].polygon
    tip = shapely.Point(143.25, 41.93)
    d_km = shapely.affinity.scale(hk, xfact=np.cos(np.radians(41.93)), origin=tip).distance(tip)
    assert d_km * 111.2 < 1.0


def test_tokyo_in_japan_not_hokkaido(regions):
    assert _in(regions["japan-land"], 35.68, 139.69)
    assert _in(regions["jp-tokyo"], 35.68, 139.69)
    assert not _in(regions["hokkaido"], 35.68, 139.69)


@pytest.mark.parametrize(
    ("name", "lat", "lon"),
    [("Pacific east of Hokkaido", 41.8, 157.2), ("Pyongyang", 39.03, 125.75)],
)
def test_points_outside_japan(regions, name, lat, lon):
    assert not _in(regions["japan-land"], lat, lon), name
    assert not _in(regions["japan-eez-sea-of-japan"], lat, lon), name


def test_eez_membership(regions):
    eez = regions["japan-eez-sea-of-japan"]
    assert not _in(eez, 43.15, 136.37)  # nearer to Russia: beyond the median line
    assert _in(eez, 41.0, 138.5)  # west of Aomori, well inside
    assert _in(eez, 43.5, 139.5)  # west of Hokkaido
    assert not _in(eez, 40.0, 145.0)  # Pacific: not the Sea of Japan


def test_eez_matches_rough_published_limit(regions):
    # Distance from each published limit point to the derived polygon's boundary, in a local
    # equirectangular metric (error < 0.5 % at these separations).
    boundary = regions["japan-eez-sea-of-japan"].polygon.boundary
    for lat, lon in JAPAN_EEZ_WEST:
        k = np.cos(np.radians(lat))
        local = shapely.affinity.scale(boundary, xfact=k, yfact=1.0, origin=(lon, lat))
        d_km = local.distance(shapely.Point(lon, lat)) * 111.2
        assert d_km < 50.0, (lat, lon, d_km)


def test_prefectures_tile_japan(regions):
    union = shapely.union_all([r.polygon for k, r in regions.items() if k.startswith("jp-")])
    land = regions["japan-land"].polygon
    # The 47 prefectures cover Japan's land to within 0.1 % of its area (rounding only).
    assert shapely.symmetric_difference(union, land).area < 1e-3 * land.area
    assert regions["hokkaido"].polygon.equals(regions["jp-hokkaido"].polygon)


@pytest.mark.parametrize(
    ("pref", "lat", "lon"),
    [
        ("aomori", 40.82, 140.74),
        ("niigata", 38.05, 138.40),  # Sado
        ("okinawa", 24.34, 124.16),  # Ishigaki
        ("kagoshima", 28.37, 129.49),  # Amami Oshima
        ("tokyo", 34.75, 139.38),  # Izu Oshima
        ("nagasaki", 34.40, 129.33),  # Tsushima
        ("hyogo", 34.45, 134.85),  # Awaji
    ],
)
def test_prefecture_islands(regions, pref, lat, lon):
    assert _in(regions[f"jp-{pref}"], lat, lon)
    others = [k for k in regions if k.startswith("jp-") and k != f"jp-{pref}"]
    assert not any(_in(regions[k], lat, lon) for k in others)


def test_contains_vectorised_and_broadcast(regions):
    lat = np.radians([[43.06, 35.68], [41.8, 42.10]])
    lon = np.radians([[141.35, 139.69], [157.2, 140.30]])
    got = contains(regions["hokkaido"], lat, lon)
    assert got.shape == (2, 2)
    np.testing.assert_array_equal(got, [[True, False], [False, True]])
    assert not contains(regions["hokkaido"], np.nan, np.nan)
    # longitudes given in [180, 360) wrap
    assert contains(regions["hokkaido"], np.radians(43.06), np.radians(141.35 + 360.0))


def test_bad_input(regions):
    with pytest.raises(TypeError, match="region"):
        contains("hokkaido", 0.7, 2.4)
    with pytest.raises(TypeError, match="polygon"):
        Region("x", "x", shapely.Point(0, 0))


def test_data_is_small():
    from importlib import resources

    size = resources.files("trackers.data").joinpath("regions/japan_regions.json").stat().st_size
    assert size < 1_000_000
