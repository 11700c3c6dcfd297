"""A workspace's analysis grid on disk, in chunks (Zarr): for inputs larger than memory.

The single-machine path and the dask engine read the population raster whole into the
process that runs them (the client).  A grid store keeps it on disk instead, cut into
``chunk`` x ``chunk`` blocks that a worker reads one window at a time:

- ``pop`` (float64): people per cell of the analysis grid, 0 outside every district (the
  cells' values of :func:`gisapp.grid.population.build_grid`);
- ``district`` (int32): the district position of each cell (row of the workspace's district
  table), -1 outside every district;
- ``block_pop`` (float64): people per 1 km block, for the Degree of Urbanisation (a
  hundredth of the cells at 100 m, small enough to hold);
- attributes: the grid (transform, shape, CRS), the district ids in order, the people of the
  source raster and those clipped away, and a fingerprint of the files it was made from
  (size and modification time), so that a store older than its workspace is refused.

The store is written into a hidden temporary folder beside its target and renamed over it
when complete: a reader sees the previous store or the new one, never a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.io.atomic import temporary_prefix

__all__ = ["FORMAT", "GridStore", "RasterWindows", "commit_store", "drop_store", "fingerprint", "new_result_store",
           "open_grid_store", "raster_windows", "read_results", "rewrite_command", "write_result_block", "writing_store"]

#: Version of the store's layout; a store of another version is refused with the fix.
FORMAT = 1


def _zarr() -> Any:
    try:
        import zarr
    except ImportError as exc:  # pragma: no cover - zarr is in the cluster extra
        raise GisAppError(code="grid_store_needs_zarr") from exc
    return zarr


def fingerprint(paths: list[Path]) -> dict[str, list[int]]:
    """Return each file's size and modification time (ns), keyed by its absolute path."""
    out: dict[str, list[int]] = {}
    for p in paths:
        st = Path(p).stat()
        out[str(Path(p).resolve())] = [int(st.st_size), int(st.st_mtime_ns)]
    return out


@dataclass(frozen=True)
class GridStore:
    """An opened grid store: what it holds, and windows read on demand (see the module)."""

    path: Path
    transform: Affine
    shape: tuple[int, int]
    crs_wkt: str
    chunk: int
    district_ids: tuple[str, ...]
    block_cells: int
    source_population: float
    outside_pop: float
    inputs: dict[str, list[int]]
    terrain: dict[str, Any] = field(default_factory=dict)

    def read_array(self, name: str, r0: int, r1: int, c0: int, c1: int) -> NDArray[Any]:
        """Return rows ``r0:r1``, columns ``c0:c1`` of the grid array ``name`` (e.g. ``speed_walking``)."""
        root = _zarr().open_group(str(self.path), mode="r")
        return np.asarray(root[name][r0:r1, c0:c1])

    def read(self, r0: int, r1: int, c0: int, c1: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Return the people and district positions of the window rows ``r0:r1``, columns ``c0:c1``."""
        root = _zarr().open_group(str(self.path), mode="r")
        pop = np.asarray(root["pop"][r0:r1, c0:c1], dtype=np.float64)
        dist = np.asarray(root["district"][r0:r1, c0:c1], dtype=np.int64)
        return pop, dist

    def block_pop(self) -> NDArray[np.float64]:
        """Return the people per 1 km block (rows, cols of blocks)."""
        root = _zarr().open_group(str(self.path), mode="r")
        return np.asarray(root["block_pop"][:], dtype=np.float64)

    def district_of(self, rows: NDArray[np.int64], cols: NDArray[np.int64]) -> NDArray[np.int64]:
        """Return the district position of the cells at ``rows``, ``cols`` (-1 off the grid or outside)."""
        out = np.full(np.asarray(rows).size, -1, dtype=np.int64)
        ok = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        if ok.any():
            root = _zarr().open_group(str(self.path), mode="r")
            out[ok] = np.asarray(root["district"].get_coordinate_selection((rows[ok], cols[ok])), dtype=np.int64)
        return out

    def stale(self, paths: list[Path]) -> list[str]:
        """Return the files among ``paths`` that changed (or are not those) since the store was made."""
        now = fingerprint(paths)
        return [p for p, v in now.items() if self.inputs.get(p) != v]


def rewrite_command(path: str | Path, workspace: str | Path | None = None) -> str:
    """Return the command that (re)writes the store at ``path`` (the fix in the store's messages)."""
    ws = f" --workspace {workspace}" if workspace else ""
    return f"python -m gisapp grid-store{ws} --out {path}"


def open_grid_store(path: str | Path) -> GridStore:
    """Open a grid store written by :func:`writing_store`.

    Raises
    ------
    GisAppError
        ``grid_store_missing`` when ``path`` holds no store; ``grid_store_format`` when it was
        written by another version of the layout.
    """
    p = Path(path)
    zarr = _zarr()
    try:
        root = zarr.open_group(str(p), mode="r")
        attrs = dict(root.attrs)
    except Exception as exc:  # zarr raises several types for a missing or broken store
        raise GisAppError(code="grid_store_missing", params={"path": str(p), "error": str(exc),
                                                             "cmd": rewrite_command(p)}) from exc
    if attrs.get("gisapp_grid_store") != FORMAT:
        raise GisAppError(code="grid_store_format",
                          params={"path": str(p), "found": attrs.get("gisapp_grid_store"), "expected": FORMAT,
                                  "cmd": rewrite_command(p)})
    t = attrs["transform"]
    return GridStore(path=p, transform=Affine(*t[:6]), shape=(int(attrs["shape"][0]), int(attrs["shape"][1])),
                     crs_wkt=str(attrs["crs"]), chunk=int(attrs["chunk"]),
                     district_ids=tuple(str(d) for d in attrs["district_ids"]),
                     block_cells=int(attrs["block_cells"]), source_population=float(attrs["source_population"]),
                     outside_pop=float(attrs["outside_pop"]), inputs=dict(attrs["inputs"]),
                     terrain=dict(attrs.get("terrain", {})))


class _Writer:
    """The arrays of a store being written (see :func:`writing_store`)."""

    def __init__(self, root: Any, shape: tuple[int, int], chunk: int, block_cells: int) -> None:
        self.root = root
        self.shape = shape
        self.attrs: dict[str, Any] = {}
        ch = (min(chunk, shape[0]), min(chunk, shape[1]))
        self.ch = ch
        self.pop = root.create_array("pop", shape=shape, chunks=ch, dtype="float64", fill_value=0.0)
        self.district = root.create_array("district", shape=shape, chunks=ch, dtype="int32", fill_value=-1)
        nb = (-(-shape[0] // block_cells), -(-shape[1] // block_cells))
        self.blocks = np.zeros(nb, dtype=np.float64)
        self.block_cells = block_cells

    def window(self, r0: int, c0: int, pop: NDArray[np.float64], district: NDArray[np.int64]) -> None:
        """Write one window (people already cleaned and 0 outside every district) and add its blocks."""
        h, w = pop.shape
        self.pop[r0:r0 + h, c0:c0 + w] = pop
        self.district[r0:r0 + h, c0:c0 + w] = district.astype(np.int32)
        f = self.block_cells
        rr, cc = np.nonzero(pop > 0)
        nb = self.blocks.shape
        self.blocks += np.bincount(((rr + r0) // f) * nb[1] + (cc + c0) // f, weights=pop[rr, cc],
                                   minlength=nb[0] * nb[1]).reshape(nb)

    def put(self, name: str, r0: int, c0: int, values: NDArray[Any], dtype: str, fill: float) -> None:
        """Write a window of another grid array (made at its first window), e.g. a friction surface."""
        if name not in self.root:
            self.root.create_array(name, shape=self.shape, chunks=self.ch, dtype=dtype, fill_value=fill)
        h, w = values.shape
        self.root[name][r0:r0 + h, c0:c0 + w] = values.astype(dtype)


@contextlib.contextmanager
def writing_store(path: str | Path, *, transform: Affine, shape: tuple[int, int], crs_wkt: str, chunk: int,
                  district_ids: list[str], block_cells: int, inputs: dict[str, list[int]]
                  ) -> Iterator[tuple[_Writer, dict[str, float]]]:
    """Write a grid store atomically: yield a writer and a dict for ``source_population`` and ``outside_pop``.

    Everything is written into a hidden folder beside ``path``; when the block ends without an
    error, the attributes are set and the folder replaces ``path`` (a previous store is removed
    only after the new one is complete).  On an error the temporary folder is removed and
    ``path`` is left as it was.
    """
    dest = Path(path)
    tmp = _temporary(dest)
    zarr = _zarr()
    try:
        root = zarr.open_group(str(tmp), mode="w")
        writer = _Writer(root, shape, chunk, block_cells)
        totals: dict[str, float] = {"source_population": 0.0, "outside_pop": 0.0}
        yield writer, totals
        nb = writer.blocks.shape
        b = root.create_array("block_pop", shape=nb, chunks=nb, dtype="float64", fill_value=0.0)
        b[:] = writer.blocks
        root.attrs.update({
            "gisapp_grid_store": FORMAT, "transform": list(transform)[:6], "shape": list(shape), "crs": crs_wkt,
            "chunk": int(chunk), "district_ids": list(district_ids), "block_cells": int(block_cells),
            "source_population": float(totals["source_population"]), "outside_pop": float(totals["outside_pop"]),
            "inputs": inputs, **writer.attrs})
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    commit_store(tmp, dest)


def _temporary(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.parent / f"{temporary_prefix(dest.name)}{os.urandom(4).hex()}.part"


def commit_store(tmp: Path, dest: Path) -> None:
    """Put a complete store written at ``tmp`` in the place of ``dest`` (a previous one is removed after)."""
    old = dest.parent / f"{temporary_prefix(dest.name)}{os.urandom(4).hex()}.old"
    if dest.exists():
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def drop_store(tmp: Path) -> None:
    """Remove a store that will not be completed."""
    shutil.rmtree(tmp, ignore_errors=True)


def new_result_store(dest: str | Path, *, shape: tuple[int, int], tile: int, transform: Affine, crs_wkt: str,
                     names: tuple[str, ...]) -> Path:
    """Create, beside ``dest``, a hidden store of float64 arrays ``names`` (NaN), one chunk per tile.

    Tasks fill it a tile each (:func:`write_result_block`: no two write one chunk); the caller
    then puts it in place with :func:`commit_store`, or removes it with :func:`drop_store`.
    """
    tmp = _temporary(Path(dest))
    root = _zarr().open_group(str(tmp), mode="w")
    ch = (min(tile, shape[0]), min(tile, shape[1]))
    for name in names:
        root.create_array(name, shape=shape, chunks=ch, dtype="float64", fill_value=float("nan"))
    root.attrs.update({"gisapp_results": FORMAT, "transform": list(transform)[:6], "crs": crs_wkt,
                       "shape": list(shape)})
    return tmp


def write_result_block(path: str | Path, block: tuple[int, int, int, int], lr: NDArray[np.int64],
                       lc: NDArray[np.int64], values: dict[str, NDArray[Any]]) -> None:
    """Write one tile (``r0, c0, h, w``) of a result store: ``values[name]`` at local rows ``lr``, cols ``lc``."""
    r0, c0, h, w = block
    root = _zarr().open_group(str(path), mode="r+")
    for name, v in values.items():
        a = np.full((h, w), np.nan)
        a[lr, lc] = v
        root[name][r0:r0 + h, c0:c0 + w] = a


def read_results(path: str | Path) -> dict[str, NDArray[np.float64]]:
    """Read a whole result store (for tests and small grids): name -> (rows, cols) array."""
    root = _zarr().open_group(str(path), mode="r")
    return {name: np.asarray(arr[:], dtype=np.float64) for name, arr in root.arrays()}


@dataclass(frozen=True)
class RasterWindows:
    """A population raster opened for reading by windows: its grid, and each window's values.

    Values are float64 with the nodata value as NaN (as :func:`gisapp.io.layers.read_population`
    reads the whole raster); nothing of the raster is held between two reads.
    """

    path: Path
    band: int
    transform: Affine
    shape: tuple[int, int]
    crs_wkt: str | None
    nodata: float | None

    def read(self, r0: int, r1: int, c0: int, c1: int) -> NDArray[np.float64]:
        """Return rows ``r0:r1``, columns ``c0:c1`` of the band."""
        import rasterio
        from rasterio.windows import Window

        with rasterio.open(self.path) as src:
            vals = np.asarray(src.read(self.band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=False),
                              dtype=np.float64)
        if self.nodata is not None and not np.isnan(self.nodata):
            vals[vals == self.nodata] = np.nan
        return vals


def raster_windows(path: str | Path, band: int) -> RasterWindows:
    """Open a raster's metadata for :class:`RasterWindows` (its values are read later, by window).

    Raises
    ------
    WorkspaceError
        Naming the file: ``population_unreadable`` when it cannot be opened, ``band_missing``.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as src:
            if band > src.count:
                raise WorkspaceError([Problem(str(path), "band", "band_missing", {"band": band, "count": src.count})])
            return RasterWindows(path=Path(path), band=int(band), transform=src.transform,
                                 shape=(int(src.height), int(src.width)),
                                 crs_wkt=src.crs.to_wkt() if src.crs else None, nodata=src.nodata)
    except (RasterioIOError, OSError, ValueError) as exc:
        raise WorkspaceError([Problem(str(path), "", "population_unreadable", {"error": str(exc)})]) from exc
