"""Classify cells as town or country with the UN Degree of Urbanisation grid rules (1 km grid).

Urban centre: contiguous 1 km cells (4-connectivity) of at least 1,500 people/km² with at
least 50,000 people in all.  Urban cluster: contiguous cells (8-connectivity) of at least
300 people/km² with at least 5,000 people.  Everything else is rural.  The gap-filling and
smoothing steps of the full GHSL method are not applied (documented simplification).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["CLASS_LABELS", "RURAL", "URBAN_CENTRE", "URBAN_CLUSTER", "classify_blocks", "degree_of_urbanisation",
           "is_town"]

RURAL: Final = 1
URBAN_CLUSTER: Final = 2
URBAN_CENTRE: Final = 3
CLASS_LABELS: Final[dict[int, dict[str, str]]] = {
    URBAN_CENTRE: {"zh": "城市中心", "en": "Urban centre"},
    URBAN_CLUSTER: {"zh": "城镇集群", "en": "Urban cluster"},
    RURAL: {"zh": "农村", "en": "Rural"},
}


def _classify_blocks(density: NDArray[np.float64], block_pop: NDArray[np.float64]) -> NDArray[np.int8]:
    cls = np.full(density.shape, RURAL, dtype=np.int8)
    four = ndimage.generate_binary_structure(2, 1)
    eight = ndimage.generate_binary_structure(2, 2)
    lab, n = ndimage.label(density >= 300.0, structure=eight)
    if n:
        tot = ndimage.sum(block_pop, lab, index=np.arange(1, n + 1))
        ok = np.concatenate([[False], tot >= 5_000.0])
        cls[ok[lab]] = URBAN_CLUSTER
    lab, n = ndimage.label(density >= 1_500.0, structure=four)
    if n:
        tot = ndimage.sum(block_pop, lab, index=np.arange(1, n + 1))
        ok = np.concatenate([[False], tot >= 50_000.0])
        cls[ok[lab]] = URBAN_CENTRE
    return cls


def classify_blocks(block_pop: NDArray[np.float64], block_m: float) -> NDArray[np.int8]:
    """Return the class of each block from its people (blocks of ``block_m`` metres a side).

    The step of :func:`degree_of_urbanisation` after the people are summed per block (the
    chunked engine sums them per tile of a grid on disk).
    """
    area_km2 = (block_m / 1000.0) ** 2
    bp = np.asarray(block_pop, dtype=np.float64)
    return _classify_blocks(np.asarray(bp / area_km2, dtype=np.float64), bp)


def degree_of_urbanisation(row: NDArray[np.integer], col: NDArray[np.integer], pop: NDArray[np.floating],
                           *, shape: tuple[int, int], res_m: float,
                           block_m: float = 1000.0) -> tuple[NDArray[np.int8], NDArray[np.int8], float]:
    """Return the Degree of Urbanisation class of every cell, and of the 1 km blocks.

    Parameters
    ----------
    row, col, pop
        Grid position and people of each cell of the analysis grid.
    shape
        Shape of the analysis grid.
    res_m
        Cell size of the analysis grid, metres.
    block_m
        Size of the classification grid, metres (1 km by the UN rules).

    Returns
    -------
    tuple
        Class per cell (1 rural, 2 urban cluster, 3 urban centre), the class raster of the
        blocks, and the block size actually used (metres; a whole number of cells).

    Examples
    --------
    >>> r, c = np.divmod(np.arange(400), 20)
    >>> p = np.where((r < 10) & (c < 10), 600.0, 1.0)   # 60,000 people on 1 km^2 at 100 m cells
    >>> cls, blocks, size = degree_of_urbanisation(r, c, p, shape=(20, 20), res_m=100.0)
    >>> blocks.tolist(), size
    ([[3, 1], [1, 1]], 1000.0)
    """
    f = max(1, int(round(block_m / res_m)))
    nbr = -(-shape[0] // f)
    nbc = -(-shape[1] // f)
    br = np.asarray(row) // f
    bc = np.asarray(col) // f
    block_pop = np.bincount(br * nbc + bc, weights=np.asarray(pop, dtype=np.float64),
                            minlength=nbr * nbc).reshape(nbr, nbc)
    area_km2 = (f * res_m / 1000.0) ** 2
    blocks = _classify_blocks(np.asarray(block_pop / area_km2, dtype=np.float64), np.asarray(block_pop, dtype=np.float64))
    return blocks[br, bc], blocks, f * res_m


def is_town(cls: NDArray[np.integer]) -> NDArray[np.bool_]:
    """Return True for town (urban centre or cluster) cells, False for country (rural)."""
    return np.asarray(cls) >= URBAN_CLUSTER
