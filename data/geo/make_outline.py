"""Regenerate trackers/data/outline_east_asia.json (map outline used by the figures).

Source: Natural Earth 1:110m Admin 0 countries (public domain, naturalearthdata.com), as
bundled in the geopandas 0.14.4 wheel (geopandas/datasets/naturalearth_lowres). Needs pyshp.

    pip download --no-deps geopandas==0.14.4 && unzip geopandas-0.14.4-py3-none-any.whl \
        'geopandas/datasets/naturalearth_lowres/*'
    pip install pyshp
    python data/geo/make_outline.py geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import shapefile  # pyshp

BBOX = (100.0, 15.0, 170.0, 60.0)  # lon_min, lat_min, lon_max, lat_max [deg]


def main(shp_path: str) -> None:
    sf = shapefile.Reader(shp_path)
    out = []
    for rec, shp in zip(sf.records(), sf.shapes(), strict=True):
        parts = [*list(shp.parts), len(shp.points)]
        for i0, i1 in itertools.pairwise(parts):
            ring = shp.points[i0:i1]
            lons = [p[0] for p in ring]
            lats = [p[1] for p in ring]
            if (
                max(lons) < BBOX[0]
                or min(lons) > BBOX[2]
                or max(lats) < BBOX[1]
                or min(lats) > BBOX[3]
            ):
                continue
            out.append(
                {
                    "country": rec["name"],
                    "iso_a3": rec["iso_a3"],
                    "lon_deg": [round(v, 4) for v in lons],
                    "lat_deg": [round(v, 4) for v in lats],
                }
            )
    doc = {
        "source": "Natural Earth 1:110m Admin 0 countries (public domain), via geopandas 0.14.4",
        "bbox_lon_lat_deg": BBOX,
        "rings": out,
    }
    dest = Path(__file__).resolve().parents[2] / "trackers" / "data" / "outline_east_asia.json"
    dest.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {len(out)} rings to {dest}")


if __name__ == "__main__":
    main(sys.argv[1])
