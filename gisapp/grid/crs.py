"""Choose the metric analysis CRS and check that inputs share it."""

from __future__ import annotations

import math

import geopandas as gpd
from pyproj import CRS
from pyproj.exceptions import CRSError

from gisapp._errors import CRSMismatchError, GisAppError, MissingCRSError

__all__ = ["analysis_crs", "cgcs2000_gk3_epsg", "ensure_same_crs", "require_projected"]


def cgcs2000_gk3_epsg(lon_deg: float) -> int:
    """Return the EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (CM form) for a longitude.

    The "CM" variants (EPSG:4534-4554, central meridians 75E-135E, no zone prefix on the
    easting) are used, so eastings stay near 500,000 m.

    Parameters
    ----------
    lon_deg
        Longitude, degrees east; must lie within 73.5E-136.5E (China's extent).

    Returns
    -------
    int
        The EPSG code.

    Raises
    ------
    GisAppError
        (a ``ValueError``) If the longitude lies outside the CGCS2000 3-degree zones.

    Examples
    --------
    >>> cgcs2000_gk3_epsg(101.7)   # Panzhihua, central meridian 102E
    4543
    """
    cm = 3 * round(lon_deg / 3.0)
    if not 75 <= cm <= 135:
        raise GisAppError(code="outside_gk_zones", params={"lon": lon_deg})
    return 4534 + (cm - 75) // 3


def analysis_crs(lon_deg: float, lat_deg: float, *, declared: str | None = None) -> CRS:
    """Return the metric CRS in which a study area is analysed.

    Parameters
    ----------
    lon_deg, lat_deg
        Centre of the study area, WGS84 degrees.
    declared
        The workspace's ``analysis_crs`` ("auto" or None to choose automatically).

    Returns
    -------
    pyproj.CRS
        The declared CRS; otherwise the CGCS2000 3-degree Gauss-Krüger zone in China, or the
        WGS84 UTM zone elsewhere.

    Raises
    ------
    GisAppError
        (a ``ValueError``) If the declared CRS is unknown or not projected.

    Examples
    --------
    >>> analysis_crs(101.7, 26.6).name
    'CGCS2000 / 3-degree Gauss-Kruger CM 102E'
    """
    if declared and str(declared).lower() != "auto":
        try:
            crs = CRS.from_user_input(declared)
        except CRSError as exc:
            raise GisAppError(code="crs_unknown", params={"crs": declared}) from exc
        if not crs.is_projected:
            raise GisAppError(code="crs_not_projected", params={"crs": declared})
        return crs
    in_china = 73.5 <= lon_deg <= 136.5 and 3.0 <= lat_deg <= 54.0
    if in_china:
        return CRS.from_epsg(cgcs2000_gk3_epsg(lon_deg))
    zone = int(math.floor((lon_deg + 180.0) / 6.0)) + 1
    return CRS.from_epsg((32600 if lat_deg >= 0 else 32700) + zone)


def require_projected(gdf: gpd.GeoDataFrame, name: str) -> None:
    """Raise unless ``gdf`` has a projected (metric) CRS.

    Raises
    ------
    MissingCRSError
        If ``gdf`` has no CRS, or a geographic one.
    """
    if gdf.crs is None:
        raise MissingCRSError(code="layer_without_crs", params={"name": name})
    if not gdf.crs.is_projected:
        raise MissingCRSError(code="layer_geographic", params={"name": name, "crs": gdf.crs.name})


def ensure_same_crs(**frames: gpd.GeoDataFrame) -> CRS:
    """Raise unless every frame has the same, non-empty CRS; return it.

    geopandas only warns on a mismatch; we raise before any computation.

    Raises
    ------
    MissingCRSError
        If a frame has no CRS.
    CRSMismatchError
        If the CRSs differ.
    """
    first: CRS | None = None
    first_name = ""
    for name, gdf in frames.items():
        if gdf.crs is None:
            raise MissingCRSError(code="frame_without_crs", params={"name": name})
        if first is None:
            first, first_name = gdf.crs, name
        elif not CRS.from_user_input(gdf.crs).equals(first):
            raise CRSMismatchError(code="crs_mismatch", params={"first": first_name, "first_crs": first.name,
                                                                "name": name, "crs": gdf.crs.name})
    if first is None:
        msg = "ensure_same_crs needs at least one frame."
        raise ValueError(msg)
    return first
