"""Write a synthetic workspace of N populated 100 m cells, in the README's workspace format.

The workspace is what a provincial bureau would hand the app, at any size (1 M cells is about
Panzhihua x 1.3, 50 M about Sichuan at 100 m):

- ``population_100m.tif``: a float32 GeoTIFF in EPSG:4543 (CGCS2000 / 3-degree Gauss-Kruger
  CM 102E) on the analysis grid itself (no resampling on load), every cell populated: a rural
  background (0.05 + a gamma draw, people per cell) plus towns (Gaussian bumps of 20-300
  people per cell at their centre, one town per 25,000 cells).  It is written in windows of
  :data:`WINDOW_ROWS` rows, each drawn from its own seeded generator, so that 50 M cells need
  little more memory than one window, and the output does not depend on the machine;
- ``districts.gpkg``: a kx x ky block of rectangles (12 to 42 districts) whose edges lie on
  cell edges, covering the raster exactly (every cell is inside one district, so the grid has
  exactly rows x cols cells);
- ``facilities.csv``: about one facility per 1,500 cells (lon/lat WGS84), half placed around
  towns and half uniformly, at random points inside cells (several may share a cell), with a
  capacity ``doctors`` (1-20), kinds ``township_health_centre`` (10 %) and ``village_clinic``;
- ``roads.gpkg``: gently waving lines crossing the whole area west-east and north-south,
  class 3 every 6 km, class 2 every 24 km, class 1 every 96 km, and two class-1 diagonals;
- ``workspace.yaml``: the workspace, with two services on every facility: ``clinic15``
  (15 min at 30 km/h, motorized, circuity 1.4: the demo's primary-care standard) and
  ``walk1000`` (a 1,000 m walk), both with capacity ``doctors`` and a norm of 2.77 per 1,000 (so 2SFCA and
  the people served within capacity run), and a
  ``travel`` section with ``walking`` and ``motorized`` speeds (the demo's) for terrain mode;
  ``workspace_nonorm.yaml`` is the same workspace without the norms (the ``coverage`` command
  then skips the people served within capacity, which the dask engine does not compute).

A folder already holding a complete workspace of the same parameters (``scale.json``, written
last) is reused as it is.

Usage: ``python benchmarks/scale_workspace.py 4M [--out DIR] [--seed S] [--force]``
(default folder ``/tmp/gisapp-scale/<N>``); in Python ``build(4_000_000)`` returns the
YAML's path.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: rows per window of the population raster (fixed: the values depend on it)
WINDOW_ROWS = 512
RES = 100.0
CRS = "EPSG:4543"
#: the grid's centre: on the zone's central meridian (102 E), about 29.8 N
CENTRE_X, CENTRE_Y = 500_000.0, 3_300_000.0
CELLS_PER_FACILITY = 1500
CELLS_PER_TOWN = 25_000
DEFAULT_SEED = 20261201
DEFAULT_ROOT = Path("/tmp/gisapp-scale")
#: the workspace without ``norm_per_1000`` (no people-served step), beside ``workspace.yaml``
NO_NORM_YAML = "workspace_nonorm.yaml"
#: version of the generator: a folder written by another version is rebuilt
VERSION = 3


@dataclass(frozen=True)
class Params:
    """What a workspace folder was built from (kept in ``scale.json``)."""

    cells_asked: int
    rows: int
    cols: int
    seed: int
    version: int = VERSION
    populated: float = 1.0

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    @property
    def facilities(self) -> int:
        return max(2, round(self.cells / CELLS_PER_FACILITY))

    @property
    def towns(self) -> int:
        return max(2, self.cells // CELLS_PER_TOWN)

    @property
    def x0(self) -> float:
        return CENTRE_X - round(self.cols / 2) * RES

    @property
    def y1(self) -> float:
        return CENTRE_Y + round(self.rows / 2) * RES


def parse_size(text: str) -> int:
    """Return a cell count from ``"4M"``, ``"20k"``, ``"1_000_000"`` or ``"1e6"``.

    Examples
    --------
    >>> parse_size("4M"), parse_size("20k"), parse_size("1_000")
    (4000000, 20000, 1000)
    """
    t = text.strip().replace("_", "").replace(",", "").upper()
    mult = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(t[-1:], 1)
    return int(round(float(t[:-1] if mult > 1 else t) * mult))


def size_label(cells: int) -> str:
    """Return a short label of a cell count: ``4M``, ``20k``, ``1234``."""
    if cells >= 1_000_000 and cells % 1_000_000 == 0:
        return f"{cells // 1_000_000}M"
    if cells >= 1_000 and cells % 1_000 == 0:
        return f"{cells // 1_000}k"
    return str(cells)


def grid_shape(cells: int) -> tuple[int, int]:
    """Return (rows, cols) of a near-square grid with about ``cells`` cells (rows x cols >= cells).

    Examples
    --------
    >>> grid_shape(4_000_000), grid_shape(20_000)
    ((2000, 2000), (141, 142))
    """
    rows = max(2, int(math.isqrt(cells)))
    cols = max(2, -(-cells // rows))
    return rows, cols


def _district_blocks(p: Params) -> tuple[int, int]:
    """Return (kx, ky): 3 x 4 = 12 districts at 1 M cells up to 6 x 7 = 42 at 50 M."""
    k = int(min(6, max(3, round(2.4 + 0.55 * math.sqrt(p.cells / 1e6)))))
    return k, k + 1


def _towns(p: Params) -> np.ndarray:
    """Return towns as rows of (centre row, centre col, sigma in cells, peak people per cell)."""
    rng = np.random.default_rng([p.seed, 0])
    n = p.towns
    r = rng.uniform(0, p.rows, n)
    c = rng.uniform(0, p.cols, n)
    sigma = rng.uniform(3.0, 15.0, n)
    peak = 20.0 * np.exp(rng.uniform(0.0, math.log(15.0), n))  # 20-300, log-uniform
    return np.column_stack([r, c, sigma, peak])


def _population_window(p: Params, towns: np.ndarray, r0: int, r1: int) -> np.ndarray:
    """Return people per cell of rows r0..r1-1 (float32, every cell > 0)."""
    rng = np.random.default_rng([p.seed, 1, r0 // WINDOW_ROWS])
    win = (0.05 + rng.gamma(1.2, 1.0, size=(r1 - r0, p.cols))).astype(np.float32)
    if p.populated < 1.0:  # empty land: a share of the rural cells hold no people (towns stay whole)
        empty = np.random.default_rng([p.seed, 4, r0 // WINDOW_ROWS]).uniform(size=win.shape) >= p.populated
        win[empty] = 0.0
    reach = 4.0 * towns[:, 2]
    near = np.flatnonzero((towns[:, 0] + reach >= r0) & (towns[:, 0] - reach < r1))
    for i in near:
        tr, tc, s, peak = towns[i]
        a, b = max(r0, int(tr - 4 * s)), min(r1, int(tr + 4 * s) + 1)
        c0, c1 = max(0, int(tc - 4 * s)), min(p.cols, int(tc + 4 * s) + 1)
        if a >= b or c0 >= c1:
            continue
        dr = (np.arange(a, b) + 0.5 - tr)[:, None]
        dc = (np.arange(c0, c1) + 0.5 - tc)[None, :]
        win[a - r0:b - r0, c0:c1] += (peak * np.exp(-(dr * dr + dc * dc) / (2 * s * s))).astype(np.float32)
    return win


def _write_population(p: Params, dest: Path) -> float:
    import rasterio
    from affine import Affine

    towns = _towns(p)
    prof = {"driver": "GTiff", "height": p.rows, "width": p.cols, "count": 1, "dtype": "float32",
            "crs": CRS, "transform": Affine(RES, 0, p.x0, 0, -RES, p.y1), "nodata": -1.0,
            "tiled": True, "blockxsize": 256, "blockysize": 256, "BIGTIFF": "IF_SAFER"}
    total = 0.0
    with rasterio.open(dest, "w", **prof) as dst:
        for r0 in range(0, p.rows, WINDOW_ROWS):
            r1 = min(p.rows, r0 + WINDOW_ROWS)
            win = _population_window(p, towns, r0, r1)
            total += float(win.sum(dtype=np.float64))
            dst.write(win, 1, window=rasterio.windows.Window(0, r0, p.cols, r1 - r0))
    return total


def _write_districts(p: Params, dest: Path) -> int:
    import geopandas as gpd
    from shapely.geometry import box

    kx, ky = _district_blocks(p)
    cx = np.linspace(0, p.cols, kx + 1).round().astype(int)
    cy = np.linspace(0, p.rows, ky + 1).round().astype(int)
    rows = []
    for j in range(ky):
        for i in range(kx):
            n = j * kx + i + 1
            geom = box(p.x0 + cx[i] * RES, p.y1 - cy[j + 1] * RES, p.x0 + cx[i + 1] * RES, p.y1 - cy[j] * RES)
            rows.append({"code": f"9{n:05d}", "name": f"合成区{n:02d}", "geometry": geom})
    gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_file(dest, driver="GPKG", layer="districts",
                                                                  engine="pyogrio")
    return len(rows)


def _write_facilities(p: Params, dest: Path) -> int:
    from pyproj import Transformer

    rng = np.random.default_rng([p.seed, 2])
    towns = _towns(p)
    n = p.facilities
    n_town = n // 2
    w = towns[:, 3] * towns[:, 2] ** 2  # people of a town ~ peak x sigma^2
    pick = rng.choice(len(towns), size=n_town, p=w / w.sum())
    r = np.concatenate([towns[pick, 0] + rng.normal(0, 1, n_town) * towns[pick, 2] * 1.5,
                        rng.uniform(0, p.rows, n - n_town)])
    c = np.concatenate([towns[pick, 1] + rng.normal(0, 1, n_town) * towns[pick, 2] * 1.5,
                        rng.uniform(0, p.cols, n - n_town)])
    # a random point inside the cell (kept 5 m off its edges)
    rr = np.clip(np.floor(r), 0, p.rows - 1) + rng.uniform(0.05, 0.95, n)
    cc = np.clip(np.floor(c), 0, p.cols - 1) + rng.uniform(0.05, 0.95, n)
    x, y = p.x0 + cc * RES, p.y1 - rr * RES
    lon, lat = Transformer.from_crs(CRS, 4326, always_xy=True).transform(x, y)
    kind = np.where(rng.uniform(size=n) < 0.1, "township_health_centre", "village_clinic")
    doctors = rng.integers(1, 21, n)
    with dest.open("w", encoding="utf-8", newline="\n") as f:
        f.write("id,name,type,lon,lat,doctors,consortium,lead\n")
        for i in range(n):
            f.write(f"F{i + 1:07d},合成卫生室{i + 1},{kind[i]},{lon[i]:.9f},{lat[i]:.9f},{doctors[i]},,0\n")
    return n


def _wavy(start: tuple[float, float], end: tuple[float, float], seed: list[int]) -> list[tuple[float, float]]:
    """Return a line from start to end waving ±800 m across it (vertices every 2.5 km)."""
    rng = np.random.default_rng(seed)
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    k = max(2, int(length / 2500) + 1)
    t = np.linspace(0.0, 1.0, k)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    phase, wave = rng.uniform(0, 2 * math.pi), rng.uniform(15_000, 40_000)
    off = 800.0 * np.sin(phase + t * length / wave * 2 * math.pi)
    off[0] = off[-1] = 0.0  # ends on the area's edge
    return [(float(x0 + (x1 - x0) * s + nx * o), float(y0 + (y1 - y0) * s + ny * o)) for s, o in zip(t, off, strict=True)]


def _write_roads(p: Params, dest: Path) -> int:
    import geopandas as gpd
    from shapely.geometry import LineString

    w, h = p.cols * RES, p.rows * RES
    x1, y0 = p.x0 + w, p.y1 - h
    feats = []
    for axis, extent in (("ew", h), ("ns", w)):
        for k, off in enumerate(np.arange(3000.0, extent, 6000.0)):
            cls = 1 if k % 16 == 0 else 2 if k % 4 == 0 else 3
            if axis == "ew":
                line = _wavy((p.x0, p.y1 - off), (x1, p.y1 - off), [p.seed, 3, 0, k])
            else:
                line = _wavy((p.x0 + off, p.y1), (p.x0 + off, y0), [p.seed, 3, 1, k])
            feats.append({"road_id": f"{axis}{k}", "class": cls, "geometry": LineString(line)})
    feats.append({"road_id": "d0", "class": 1, "geometry": LineString(_wavy((p.x0, p.y1), (x1, y0), [p.seed, 3, 2]))})
    feats.append({"road_id": "d1", "class": 1, "geometry": LineString(_wavy((p.x0, y0), (x1, p.y1), [p.seed, 3, 3]))})
    gpd.GeoDataFrame(feats, geometry="geometry", crs=CRS).to_file(dest, driver="GPKG", layer="roads",
                                                                   engine="pyogrio")
    return len(feats)


WORKSPACE_YAML = """\
# Synthetic scale workspace ({label} cells), written by benchmarks/scale_workspace.py (seed {seed}).
workspace:
  name: scale_{label}
  title: {{zh: 规模测试工作区（{label}个格网）, en: Scale test workspace ({label} cells)}}
  analysis_crs: {crs}
  resolution_m: 100
layers:
  population:
    path: population_100m.tif
    band: 1
    unit: people
    provenance: {{status: synthetic, zh: 合成人口格网（规模测试）, en: synthetic population grid (scale test)}}
  districts:
    path: districts.gpkg
    fields: {{id: code, name: name}}
    provenance: {{status: synthetic, zh: 合成区县（矩形）, en: synthetic rectangular districts}}
  facilities:
    path: facilities.csv
    crs: WGS84
    fields: {{id: id, name: name, kind: type, lon: lon, lat: lat, capacity: [doctors], consortium: consortium, is_lead: lead}}
    provenance: {{status: synthetic, zh: 合成设施, en: synthetic facilities}}
  roads:
    path: roads.gpkg
    fields: {{class: class}}
    provenance: {{status: synthetic, zh: 合成道路（贯穿全区）, en: synthetic roads crossing the whole area}}
demand_groups:
  total:
    title: {{zh: 常住人口, en: Residents}}
    share: 1.0
services:
  clinic15:
    title: {{zh: 卫生室（15分钟车程）, en: Clinic (15 min at 30 km/h)}}
    sector: health
    kinds: [township_health_centre, village_clinic]
    demand: total
    standard: {{time_min: 15, mode: motorized, speed_kph: 30, circuity: 1.4}}
    capacity: doctors
    norm_per_1000: 2.77
    source: {{standard: {{zh: 规模测试的合成标准, en: synthetic standard of the scale test}}}}
  walk1000:
    title: {{zh: 卫生室（步行1000米）, en: "Clinic (1,000 m walk)"}}
    sector: health
    kinds: [township_health_centre, village_clinic]
    demand: total
    standard: {{distance_m: 1000, mode: walking}}
    capacity: doctors
    norm_per_1000: 2.77
    source: {{standard: {{zh: 规模测试的合成标准, en: synthetic standard of the scale test}}}}
travel:
  default: straight_line
  neighbours: 16
  speeds:
    walking:   {{offroad: [4.0, WALKING], 1: [5.0, WALKING], 2: [5.0, WALKING], 3: [5.0, WALKING]}}
    motorized: {{offroad: [12.0, MOTORIZED], 1: [50.0, MOTORIZED], 2: [35.0, MOTORIZED], 3: [25.0, MOTORIZED]}}
  source: {{zh: 与演示工作区相同的速度假设, en: the demo workspace's speed assumptions}}
"""


def default_folder(cells: int, populated: float = 1.0) -> Path:
    """Return ``/tmp/gisapp-scale/<N>`` for a cell count (``<N>-p30`` with 30 % of the rural cells populated)."""
    return DEFAULT_ROOT / folder_name(cells, populated)


def folder_name(cells: int, populated: float = 1.0) -> str:
    """Return ``4M``, or ``4M-p30`` when only 30 % of the rural cells hold people."""
    return size_label(cells) + ("" if populated >= 1.0 else f"-p{round(populated * 100)}")


def build(cells: int, out: str | Path | None = None, *, seed: int = DEFAULT_SEED, force: bool = False,
          quiet: bool = True, populated: float = 1.0) -> Path:
    """Write (or reuse) the synthetic workspace of about ``cells`` cells; return its YAML's path.

    ``populated`` < 1 leaves that share of the rural background cells populated and the rest
    empty (the grid still has every cell; towns stay whole): below about 0.4 the uncovered
    people of a short walk fall apart into many small gap areas (the gap polygons' hard case).

    The facts of the workspace (cells, rows, cols, facilities, districts, roads, people) are
    in ``scale.json`` beside it (:func:`facts`).
    """
    rows, cols = grid_shape(cells)
    p = Params(cells_asked=int(cells), rows=rows, cols=cols, seed=int(seed), populated=float(populated))
    folder = Path(out) if out is not None else default_folder(cells, populated)
    yaml_path = folder / "workspace.yaml"
    manifest = folder / "scale.json"
    if not force and manifest.exists() and yaml_path.exists() and (folder / NO_NORM_YAML).exists():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if {"populated": 1.0, **old.get("params", {})} == asdict(p):  # (folders from before ``populated``)
            return yaml_path
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    say(f"writing {p.cells:,} cells ({rows} x {cols}) to {folder}")
    people = _write_population(p, folder / "population_100m.tif")
    n_d = _write_districts(p, folder / "districts.gpkg")
    n_f = _write_facilities(p, folder / "facilities.csv")
    n_r = _write_roads(p, folder / "roads.gpkg")
    label = size_label(p.cells_asked)
    text = WORKSPACE_YAML.format(label=label, seed=p.seed, crs=CRS)
    yaml_path.write_text(text, encoding="utf-8")
    # the same workspace without norms: the coverage command then skips the people served within
    # capacity (as the dask engine does), for a like-for-like comparison of the engines
    (folder / NO_NORM_YAML).write_text(text.replace("    norm_per_1000: 2.77\n", ""), encoding="utf-8")
    facts_ = {"params": asdict(p), "cells": p.cells, "rows": rows, "cols": cols, "facilities": n_f,
              "districts": n_d, "roads": n_r, "people": people, "towns": p.towns}
    manifest.write_text(json.dumps(facts_, indent=1), encoding="utf-8")  # last: marks the folder complete
    say(json.dumps({k: v for k, v in facts_.items() if k != "params"}))
    return yaml_path


def facts(yaml_path: str | Path) -> dict[str, object]:
    """Return the facts ``build`` recorded beside a workspace YAML (``scale.json``)."""
    return json.loads((Path(yaml_path).parent / "scale.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="+", help="cell counts: 1M 4M 16M 50M 20k ...")
    ap.add_argument("--out", default=None, help="folder (one size only); default /tmp/gisapp-scale/<N>")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--force", action="store_true", help="rewrite even when a complete folder exists")
    ap.add_argument("--populated", type=float, default=1.0,
                    help="share of the rural cells that hold people (default 1: every cell populated)")
    a = ap.parse_args(argv)
    if a.out and len(a.sizes) > 1:
        ap.error("--out takes one size")
    for s in a.sizes:
        path = build(parse_size(s), a.out, seed=a.seed, force=a.force, quiet=False, populated=a.populated)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
