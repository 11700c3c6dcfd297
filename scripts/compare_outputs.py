"""Prove that a change left the demo's command-line outputs as they were (timestamps aside).

Runs ``python -m gisapp`` on the embedded demo workspace in two source trees, the current one
and a git revision (checked out in a temporary worktree), then compares what a user gets:

- ``coverage`` of every service (straight line) and of primary care in terrain mode:
  ``coverage_by_district.csv`` byte for byte, ``gaps.gpkg`` attribute by attribute and
  geometry by geometry;
- ``suggest``: ``suggested_sites.csv`` and ``coverage_curve.csv`` byte for byte;
- ``report`` (two services): every sheet of ``coverage.xlsx`` cell by cell (the sheet holding
  the generation time excepted for that one cell) and every layer of ``layers.gpkg``.

Usage::

    .venv/bin/python scripts/compare_outputs.py --base 4082c9a      # exit 0: identical

Prints one line per compared output and exits 1 on the first difference it reports.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["primary_care", "community_health", "hospital_beds", "kindergarten", "primary_school", "middle_school"]
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


def run_cli(src: Path, out: Path) -> None:
    """Write every compared output of the source tree ``src`` under ``out``."""
    py = [sys.executable, "-m", "gisapp"]

    def go(*args: str) -> None:
        subprocess.run([*py, *args], cwd=src, check=True, capture_output=True, text=True)

    for s in SERVICES:
        go("coverage", "-s", s, "-o", str(out / f"cov_{s}"))
    go("coverage", "-s", "primary_care", "-o", str(out / "cov_terrain"), "--travel", "terrain")
    go("suggest", "-s", "primary_school", "--k", "5", "--candidates", "settlements", "-o", str(out / "suggest"))
    go("report", "--out", str(out / "report"), "--services", "primary_school", "hospital_beds", "--quiet")


def same_gpkg(a: Path, b: Path) -> list[str]:
    """Return the differences between two GeoPackages, layer by layer."""
    import pyogrio

    diffs = []
    la = sorted(n for n, _ in pyogrio.list_layers(a))
    lb = sorted(n for n, _ in pyogrio.list_layers(b))
    if la != lb:
        return [f"layers {la} != {lb}"]
    for name in la:
        ga = gpd.read_file(a, layer=name)
        gb = gpd.read_file(b, layer=name)
        if ga.crs != gb.crs:
            diffs.append(f"{name}: CRS differs")
        try:
            pd.testing.assert_frame_equal(pd.DataFrame(ga.drop(columns="geometry")),
                                          pd.DataFrame(gb.drop(columns="geometry")))
        except AssertionError as exc:
            diffs.append(f"{name}: attributes differ: {str(exc)[:300]}")
        if not ga.geometry.geom_equals_exact(gb.geometry, tolerance=0).all():
            diffs.append(f"{name}: geometries differ")
    return diffs


def same_xlsx(a: Path, b: Path) -> list[str]:
    """Return the differences between two workbooks, cell by cell (timestamps excepted)."""
    wa, wb = openpyxl.load_workbook(a, read_only=True), openpyxl.load_workbook(b, read_only=True)
    if wa.sheetnames != wb.sheetnames:
        return [f"sheets {wa.sheetnames} != {wb.sheetnames}"]
    diffs = []
    for name in wa.sheetnames:
        ra = list(wa[name].iter_rows(values_only=True))
        rb = list(wb[name].iter_rows(values_only=True))
        if len(ra) != len(rb):
            diffs.append(f"{name}: {len(ra)} rows != {len(rb)}")
            continue
        for i, (x, y) in enumerate(zip(ra, rb, strict=True)):
            if x == y:
                continue
            cells = [(u, v) for u, v in zip(x, y, strict=False) if u != v]
            if all(isinstance(u, str) and isinstance(v, str) and _TIME.search(u) and _TIME.search(v)
                   for u, v in cells):
                continue  # the generation time
            diffs.append(f"{name} row {i + 1}: {cells[:3]}")
    return diffs


def compare(base: Path, new: Path) -> list[str]:
    """Compare the outputs written by :func:`run_cli` in two folders; return the differences."""
    problems = []
    for d in sorted(p.name for p in base.iterdir() if p.is_dir()):
        for f in sorted((base / d).iterdir()):
            g = new / d / f.name
            if not g.exists():
                problems.append(f"{d}/{f.name}: missing")
                continue
            if f.suffix == ".csv":
                ok = filecmp.cmp(f, g, shallow=False)
                diffs = [] if ok else ["bytes differ"]
            elif f.suffix == ".gpkg":
                diffs = same_gpkg(f, g)
            elif f.suffix == ".xlsx":
                diffs = same_xlsx(f, g)
            else:
                continue  # report.html and report.pdf carry folium's random ids and a timestamp
            print(f"{'same' if not diffs else 'DIFFERENT'}  {d}/{f.name}")
            problems += [f"{d}/{f.name}: {x}" for x in diffs]
    return problems


def main() -> int:
    """Run both trees and compare; exit 1 on any difference."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="4082c9a", help="git revision to compare with (default: before the package move)")
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        tree = Path(tmp) / "base-tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            run_cli(tree, work / "base")
            run_cli(ROOT, work / "new")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        problems = compare(work / "base", work / "new")
    for p in problems:
        print("  " + p)
    print("identical" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
