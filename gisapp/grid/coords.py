"""Convert coordinates between WGS84, CGCS2000, GCJ-02 (AMap, Tencent) and BD-09 (Baidu).

GCJ-02 and BD-09 are deliberate, non-EPSG offsets of WGS84 used by Chinese web maps; PROJ
does not know them.  The forward transforms follow the published formulas; the inverses
iterate the forward transform (fixed point), which converges to well under a millimetre in
a few iterations, far better than the one-step approximation (1-2 m) most code uses.
CGCS2000 (EPSG:4490) differs from WGS84 by centimetres and is treated as equal here, as is
usual for data of 10 m accuracy or coarser.

All functions take and return numpy arrays (or scalars) of longitude and latitude in
degrees and are vectorised.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gisapp._errors import GisAppError

__all__ = [
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalise_coord_system",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02, m
_EE: Final = 0.00669342162296594323  # its first eccentricity squared
_X_PI: Final = np.pi * 3000.0 / 180.0

#: Names accepted for a layer's declared coordinate system, mapped to a canonical name.
COORD_SYSTEMS: Final[dict[str, str]] = {
    "wgs84": "WGS84",
    "epsg:4326": "WGS84",
    "4326": "WGS84",
    "cgcs2000": "CGCS2000",
    "epsg:4490": "CGCS2000",
    "4490": "CGCS2000",
    "gcj02": "GCJ02",
    "gcj-02": "GCJ02",
    "amap": "GCJ02",
    "tencent": "GCJ02",
    "bd09": "BD09",
    "bd-09": "BD09",
    "baidu": "BD09",
}

Floats = NDArray[np.float64]


def normalise_coord_system(name: str) -> str:
    """Return the canonical name of a declared coordinate system.

    Parameters
    ----------
    name
        ``"WGS84"``, ``"CGCS2000"``, ``"GCJ02"``, ``"BD09"`` (any case, with or without
        hyphen), ``"EPSG:4326"``, ``"EPSG:4490"``, or any other ``"EPSG:<code>"``.

    Returns
    -------
    str
        ``"WGS84"``, ``"CGCS2000"``, ``"GCJ02"``, ``"BD09"`` or the EPSG string unchanged.

    Raises
    ------
    GisAppError
        If the name is none of these.

    Examples
    --------
    >>> normalise_coord_system("gcj-02")
    'GCJ02'
    """
    key = str(name).strip().lower()
    if key in COORD_SYSTEMS:
        return COORD_SYSTEMS[key]
    if key.startswith("epsg:") and key[5:].isdigit():
        return f"EPSG:{key[5:]}"
    raise GisAppError(code="coord_system_unknown", params={"name": name})


def _out_of_china(lon: Floats, lat: Floats) -> NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _arr(v: ArrayLike) -> Floats:
    return np.asarray(v, dtype=np.float64)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Convert WGS84 longitude/latitude (degrees) to GCJ-02; points outside China unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.397, 39.909)
    >>> round(float(lon) - 116.397, 4), round(float(lat) - 39.909, 4)
    (0.0062, 0.0014)
    """
    lo, la = _arr(lon), _arr(lat)
    dlon, dlat = _delta(lo, la)
    out = _out_of_china(lo, la)
    return np.where(out, lo, lo + dlon), np.where(out, la, la + dlat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[Floats, Floats]:
    """Convert GCJ-02 longitude/latitude (degrees) to WGS84 by iterating the forward transform.

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates, degrees.
    tol_deg
        Stop when every point moves less than this (degrees; 1e-10 deg is about 0.01 mm).
    max_iter
        Upper bound on iterations (5-6 are usually enough).

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude, degrees; ``wgs84_to_gcj02`` of the result reproduces
        the input to better than 1 mm.
    """
    glon, glat = _arr(lon), _arr(lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if float(np.max(np.abs(elon), initial=0.0)) < tol_deg and float(
            np.max(np.abs(elat), initial=0.0)
        ) < tol_deg:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Convert GCJ-02 longitude/latitude (degrees) to BD-09 (Baidu)."""
    x, y = _arr(lon), _arr(lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[Floats, Floats]:
    """Convert BD-09 longitude/latitude (degrees) to GCJ-02, iterating the forward transform."""
    blon, blat = _arr(lon), _arr(lat)
    # closed-form first guess, then fixed-point refinement
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon, glat = glon - elon, glat - elat
        if float(np.max(np.abs(elon), initial=0.0)) < tol_deg and float(
            np.max(np.abs(elat), initial=0.0)
        ) < tol_deg:
            break
    return glon, glat


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Convert WGS84 longitude/latitude (degrees) to BD-09 (Baidu)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Floats, Floats]:
    """Convert BD-09 (Baidu) longitude/latitude (degrees) to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, coord_system: str) -> tuple[Floats, Floats]:
    """Convert longitude/latitude declared in ``coord_system`` to WGS84.

    Parameters
    ----------
    lon, lat
        Coordinates, degrees.
    coord_system
        WGS84, CGCS2000, GCJ02 or BD09 (see :func:`normalise_coord_system`).

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude, degrees.

    Examples
    --------
    >>> lon, lat = to_wgs84(*wgs84_to_bd09(101.7, 26.5), "BD09")
    >>> abs(float(lon) - 101.7) < 1e-9 and abs(float(lat) - 26.5) < 1e-9
    True
    """
    cs = normalise_coord_system(coord_system)
    if cs in ("WGS84", "CGCS2000"):
        return _arr(lon), _arr(lat)
    if cs == "GCJ02":
        return gcj02_to_wgs84(lon, lat)
    if cs == "BD09":
        return bd09_to_wgs84(lon, lat)
    raise GisAppError(code="coord_system_not_geographic", params={"name": coord_system})
