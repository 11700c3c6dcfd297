"""Travel-time ("terrain") mode of a workspace: friction surfaces per travel mode, cached.

A workspace may name optional layers ``roads`` (lines with a class field), ``landcover``
(a raster of classes), ``dem`` (elevation, metres) and ``barriers`` (lines/polygons), and a
``travel`` section with a speed per class for each travel mode of the standards::

    travel:
      default: straight_line        # or terrain
      neighbours: 16
      speeds:
        walking:   {offroad: [4.0, WALKING], 1: [5, WALKING], 2: [5, WALKING]}
        motorized: {offroad: [12, MOTORIZED], 1: [50, MOTORIZED], 2: [35, MOTORIZED]}

``offroad`` is the class of cells without land cover (everything, when no land-cover layer
is given).  Walking speeds are slowed on slopes by Tobler's function when a DEM is given;
motorized speeds do not depend on slope.  The surfaces and graphs are built once per
workspace and mode and kept in ``ws.cache``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.i18n import Term
from gisapp.io import layers as _io
from gisapp.travel.cost import CostMatrix, cost_matrix_from_pairs
from gisapp.travel.friction import FrictionSurface, Mode, SpeedTable, speed_surface
from gisapp.travel.grid_search import GridGraph, cost_matrix, grid_graph, points_to_rc
from gisapp.travel.kernel import KernelGrid, kernel_grid
from gisapp.workspace import Workspace

__all__ = ["OFFROAD_CLASS", "available", "dem_for", "graph_for", "kernel_for", "margin_window", "speed_table_of", "surface_for",
           "surface_window", "terrain_cost"]

#: Class code of cells without land cover (the "off-road" entry of a speed table).
OFFROAD_CLASS = 0


def available(ws: Workspace) -> bool:
    """Return True when the workspace defines travel speeds (terrain mode can run)."""
    return bool(ws.spec.travel.get("speeds"))


def _table(ws: Workspace, mode: str) -> SpeedTable:
    return speed_table_of(ws.spec.travel, mode)


def speed_table_of(travel: dict[str, Any], mode: str) -> SpeedTable:
    """Return the speed table of ``mode`` from a workspace's ``travel`` section.

    Raises
    ------
    GisAppError
        ``travel_speeds_missing`` when the workspace gives no speeds for ``mode``.
    """
    speeds: dict[str, Any] = travel.get("speeds", {})
    if mode not in speeds:
        have: object = ", ".join(speeds) if speeds else Term("rep.none")
        raise GisAppError(code="travel_speeds_missing", params={"mode": mode, "have": have})
    classes, kph, modes = [], [], []
    for k, v in speeds[mode].items():
        classes.append(OFFROAD_CLASS if str(k) == "offroad" else int(k))
        kph.append(float(v[0]))
        modes.append(int(Mode[str(v[1]).upper()]))
    return SpeedTable(np.array(classes, dtype=np.int64), np.array(kph, dtype=np.float64),
                      np.array(modes, dtype=np.int8))


def surface_for(ws: Workspace, mode: str) -> FrictionSurface:
    """Return (and cache) the friction surface of ``mode`` on the workspace's analysis grid."""
    key = ("surface", mode)
    if key in ws.cache:
        return ws.cache[key]  # type: ignore[no-any-return]
    g = ws.grid
    problems: list[Problem] = []
    layers = ws.spec.layers
    if "landcover" in layers:
        lc = _io.read_class_raster(layers["landcover"], ws.crs, g.transform, g.shape, problems)
    else:
        lc = np.full(g.shape, OFFROAD_CLASS, dtype=np.int64)
    roads = _io.read_lines(layers["roads"], ws.crs, problems) if "roads" in layers else None
    barriers = _io.read_lines(layers["barriers"], ws.crs, problems) if "barriers" in layers else None
    if problems:
        raise WorkspaceError(problems)
    cls_col = layers["roads"].fields.get("class", "class") if "roads" in layers else "class"
    surf = speed_surface(lc if lc is not None else np.full(g.shape, OFFROAD_CLASS), _table(ws, mode),
                         transform=g.transform, roads=roads, road_class_column=cls_col,
                         barriers=barriers, crs=ws.crs)
    ws.cache[key] = surf
    return surf


def margin_window(window: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Return ``window`` (r0, r1, c0, c1) grown by one cell on each side, inside a grid of ``shape``."""
    r0, r1, c0, c1 = window
    return max(r0 - 1, 0), min(r1 + 1, shape[0]), max(c0 - 1, 0), min(c1 + 1, shape[1])


def surface_window(landcover: NDArray[np.integer], table: SpeedTable, *, transform: Affine,
                   window: tuple[int, int, int, int], shape: tuple[int, int], roads: Any, road_class_column: str,
                   barriers: Any, crs: Any, burn_cache: dict[Any, Any] | None = None) -> FrictionSurface:
    """The friction surface of rows ``r0:r1``, columns ``c0:c1`` of a grid (``transform``, ``shape``),
    equal to that window of the whole grid's :func:`speed_surface`.

    ``landcover`` covers :func:`margin_window` (one more cell on each side inside the grid: the
    bridge cleaning looks at a cell's neighbours); the surface is built on that margin and cut
    to the window.  Roads and barriers are burnt in grid-aligned blocks (``burn_cache`` keeps
    them for the next windows).
    """
    r0, r1, c0, c1 = window
    m0, _, n0, _ = margin_window(window, shape)
    surf = speed_surface(landcover, table, transform=transform * Affine.translation(n0, m0), roads=roads,
                         road_class_column=road_class_column, barriers=barriers, crs=crs, origin=(m0, n0),
                         grid_shape=shape, burn_cache=burn_cache)
    cut = (slice(r0 - m0, r1 - m0), slice(c0 - n0, c1 - n0))
    return FrictionSurface(surf.speed_kph[cut], surf.mode[cut], surf.klass[cut], transform * Affine.translation(c0, r0),
                           surf.barrier[cut], surf.crs)


def dem_for(ws: Workspace) -> NDArray[np.float64] | None:
    """Return (and cache) the workspace's elevation on its grid, metres, or None without a DEM layer."""
    return _dem(ws)


def _dem(ws: Workspace) -> NDArray[np.float64] | None:
    if "dem" not in ws.spec.layers:
        return None
    if "dem" not in ws.cache:
        problems: list[Problem] = []
        d = _io.read_dem(ws.spec.layers["dem"], ws.crs, ws.grid.transform, ws.grid.shape, problems)
        if problems:
            raise WorkspaceError(problems)
        ws.cache["dem"] = d
    return ws.cache["dem"]  # type: ignore[no-any-return]


def graph_for(ws: Workspace, mode: str) -> GridGraph:
    """Return (and cache) the directed move graph of ``mode`` ("towards facilities")."""
    key = ("graph", mode)
    if key not in ws.cache:
        neighbours = int(ws.spec.travel.get("neighbours", 16))
        ws.cache[key] = grid_graph(surface_for(ws, mode), dem=_dem(ws), direction="towards",
                                   neighbours=neighbours)
    return ws.cache[key]  # type: ignore[no-any-return]


def kernel_for(ws: Workspace, mode: str) -> KernelGrid:
    """Return (and cache) the per-cell arrays the compiled search needs for ``mode`` ("towards facilities").

    No graph is built: about 30 bytes per grid cell instead of the CSR graph's 192
    (:mod:`gisapp.travel.kernel`).
    """
    key = ("kernel", mode)
    if key not in ws.cache:
        neighbours = int(ws.spec.travel.get("neighbours", 16))
        ws.cache[key] = kernel_grid(surface_for(ws, mode), dem=_dem(ws), direction="towards",
                                    neighbours=neighbours)
    return ws.cache[key]  # type: ignore[no-any-return]


def terrain_cost(ws: Workspace, mode: str, fac_x: NDArray[np.floating], fac_y: NDArray[np.floating], *,
                 max_minutes: float) -> CostMatrix:
    """Travel time (minutes) from every population cell to each facility within ``max_minutes``.

    Facilities on impassable cells or outside the grid get an empty column (they reach
    nobody), as a facility that cannot be reached.
    """
    g = ws.grid
    rc = points_to_rc(np.asarray(fac_x, float), np.asarray(fac_y, float), g.transform)
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < g.shape[0]) & (rc[:, 1] >= 0) & (rc[:, 1] < g.shape[1])
    rc = np.where(inside[:, None], rc, 0)
    cm = cost_matrix(kernel_for(ws, mode), rc, g.cell_index, max_minutes=max_minutes, on_impassable="skip")
    if not inside.all():
        r, c, v = cm.pairs()
        keep = inside[c]
        cm = cost_matrix_from_pairs(r[keep], c[keep], v[keep], shape=cm.shape, unit="min", cutoff=cm.cutoff)
    return cm
