"""Write the tiny test workspace in tests/data/tiny (run once; outputs are committed).

A 10 x 10 grid of 100 m cells in EPSG:4543 near Panzhihua.  Every cell holds 10 people
except cell (7, 7) with 1,000.  District A holds columns 0-4, district B columns 5-9.
Facilities (cell centres): C1 clinic at cell (2, 2); C2 clinic at cell (7, 7);
S1 school at cell (2, 7).  Expected values are worked out in tests/test_analysis.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer

HERE = Path(__file__).parent / "tiny"
X0, Y1, RES = 500_000.0, 2_940_000.0, 100.0


def cell_centre(r: int, c: int) -> tuple[float, float]:
    return X0 + (c + 0.5) * RES, Y1 - (r + 0.5) * RES


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    pop = np.full((10, 10), 10, dtype=np.int32)
    pop[7, 7] = 1000
    prof = {"driver": "GTiff", "height": 10, "width": 10, "count": 1, "dtype": "int32",
            "crs": "EPSG:4543", "transform": Affine(RES, 0, X0, 0, -RES, Y1), "nodata": -1}
    with rasterio.open(HERE / "population.tif", "w", **prof) as dst:
        dst.write(pop, 1)
    tr = Transformer.from_crs(4543, 4326, always_xy=True)

    def ring(x0: float, x1: float) -> list[list[float]]:
        pts = [(x0, Y1 - 1000), (x1, Y1 - 1000), (x1, Y1), (x0, Y1), (x0, Y1 - 1000)]
        return [[round(v, 9) for v in tr.transform(x, y)] for x, y in pts]

    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "510001", "name": "甲区"},
         "geometry": {"type": "Polygon", "coordinates": [ring(X0, X0 + 500)]}},
        {"type": "Feature", "properties": {"code": "510002", "name": "乙区"},
         "geometry": {"type": "Polygon", "coordinates": [ring(X0 + 500, X0 + 1000)]}},
    ]}
    (HERE / "districts.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    rows = [("C1", "甲卫生院", "township_health_centre", 2, 2, 10, 4, 0, "YGT-1", 1),
            ("C2", "乙卫生室", "village_clinic", 7, 7, 0, 1, 0, "YGT-1", 0),
            ("S1", "乙小学", "primary_school", 2, 7, 0, 0, 300, "", 0)]
    lines = ["id,name,type,lon,lat,beds,doctors,seats,consortium,lead"]
    for fid, name, kind, r, c, beds, docs, seats, cons, lead in rows:
        lon, lat = tr.transform(*cell_centre(r, c))
        lines.append(f"{fid},{name},{kind},{lon:.9f},{lat:.9f},{beds},{docs},{seats},{cons},{lead}")
    (HERE / "facilities.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
