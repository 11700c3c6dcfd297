"""Write layers.gpkg: districts, facilities, gap areas and the coverage grid with each service's metrics.

The layers are built in memory (analysis CRS) by :func:`gpkg_layers`; :func:`write_gpkg` hands
them to :func:`gisapp.io.atomic.write_layers`.  Column names: :func:`district_metric_column`,
:func:`grid_metric_column`, :func:`facility_metric_column` of :mod:`gisapp.reports.data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from gisapp.i18n import t
from gisapp.io.atomic import LayerOptions, write_layers
from gisapp.metrics.findings import capacity_columns
from gisapp.reports.data import (
    DISTRICT_METRICS,
    ReportData,
    district_metric_column,
    facility_metric_column,
    grid_metric_column,
)

__all__ = ["LAYERS", "districts_layer", "facilities_layer", "gaps_layer", "gpkg_layers", "gpkg_options",
           "grid_layer", "write_gpkg"]

#: The layers of the GeoPackage, in order.
LAYERS: Final = ("districts", "facilities", "gaps", "coverage_grid")
_POLYGON_LAYERS: Final = ("gaps", "districts")


def districts_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return the districts (analysis CRS) with each service's metrics as columns."""
    d = data.ws.districts[["district_id", "district_name", "geometry"]].copy()
    cols: dict[str, np.ndarray] = {}  # built apart and joined once: many services make many columns
    for sr in data.services:
        cov, cap = sr.coverage, sr.capacity
        short, plus = capacity_columns(cap)
        src = {"population": cov["population"], "covered": cov["covered"], "uncovered": cov["uncovered"],
               "covered_pct": cov["covered_pct"], "capacity": cap["capacity"],
               "capacity_per_1000": cap["capacity_per_1000"], "capacity_gap": cap["capacity_gap"],
               "shortfall": short, "surplus": plus, "access_per_1000": cap["access_per_1000"]}
        for metric in DISTRICT_METRICS:
            cols[district_metric_column(sr.name, metric)] = np.asarray(src[metric], dtype=float)
    d = pd.concat([d, pd.DataFrame(cols, index=d.index)], axis=1)
    return gpd.GeoDataFrame(d, geometry="geometry", crs=data.ws.crs)


def facilities_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return the facilities (analysis CRS) with the people each serves, per service.

    ``<service>_served``: people of the service's demand group whose nearest serving
    facility this is; ``<service>_served_covered``: those of them within the standard.
    NaN for facilities that do not serve the service.
    """
    f = data.ws.facilities
    keep = [c for c in f.columns if c not in ("geometry",)]
    out = f[keep].copy()
    out["is_lead"] = out["is_lead"].astype(bool)
    n = len(f)
    for sr in data.services:
        res = sr.result
        ok = res.eligible & (res.nearest_facility >= 0)
        served = np.bincount(res.nearest_facility[ok], weights=res.demand[ok], minlength=n)
        okc = ok & res.covered
        served_c = np.bincount(res.nearest_facility[okc], weights=res.demand[okc], minlength=n)
        mask = np.zeros(n, dtype=bool)
        mask[res.facility_idx] = True
        out[facility_metric_column(sr.name, "served")] = np.where(mask, served, np.nan)
        out[facility_metric_column(sr.name, "served_covered")] = np.where(mask, served_c, np.nan)
    if not data.members.empty:
        m = data.members.set_index("facility_id")
        out["lead_id"] = out["facility_id"].map(m["lead_id"]).fillna("").astype(str)
        out["to_lead_min"] = out["facility_id"].map(m["travel_min"]).astype(float)
    return gpd.GeoDataFrame(out, geometry=f.geometry.values, crs=data.ws.crs)


def gaps_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return every service's contiguous gap areas (analysis CRS) with ``service`` and ``service_name`` columns.

    Each area carries the district, township and place holding most of its people
    (:func:`gisapp.metrics.gaps.gap_areas`); ``service_name`` is the service's title in the
    report's language.
    """
    parts = []
    for sr in data.services:
        g = sr.gaps.drop(columns=["label"]).copy()
        g.insert(0, "service", sr.name)
        g.insert(1, "service_name", sr.spec.title(data.lang))
        parts.append(g)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return gpd.GeoDataFrame(out, geometry="geometry", crs=data.ws.crs)


def grid_layer(data: ReportData) -> gpd.GeoDataFrame:
    """Return populated cells as centre points with each service's covered flag and travel."""
    ws = data.ws
    g = ws.grid
    sel = np.flatnonzero(g.pop > 0)
    cols: dict[str, Any] = {
        "cell_id": sel.astype(np.int64), "pop": g.pop[sel],
        "district_id": ws.districts["district_id"].to_numpy()[g.district[sel]],
        "urban_class": ws.urban_class[sel].astype(np.int16),
    }
    for sr in data.services:
        r = sr.result
        cols[grid_metric_column(sr.name, "covered")] = r.covered[sel].astype(np.int16)
        cols[grid_metric_column(sr.name, "nearest_m")] = r.nearest_m[sel]
        cols[grid_metric_column(sr.name, "travel_m" if sr.unit == "m" else "travel_min")] = r.travel_cost[sel]
        cols[grid_metric_column(sr.name, "access_per_1000")] = r.access_per_1000[sel]
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(g.x[sel], g.y[sel]), crs=ws.crs)



def gpkg_layers(data: ReportData) -> dict[str, gpd.GeoDataFrame]:
    """Return the GeoPackage layers ``districts``, ``facilities``, ``gaps``, ``coverage_grid`` (analysis CRS)."""
    return {"districts": districts_layer(data), "facilities": facilities_layer(data),
            "gaps": gaps_layer(data), "coverage_grid": grid_layer(data)}


def gpkg_options(layers: dict[str, gpd.GeoDataFrame], lang: str = "zh") -> LayerOptions:
    """Return the ``to_file`` options of each layer: polygons as multi-polygons, a type for empty layers.

    Each layer of :data:`LAYERS` gets a name and a description in ``lang`` (GeoPackage
    ``identifier`` and ``description``, shown by QGIS and ArcGIS); the layer and field names
    stay ASCII identifiers.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, gdf in layers.items():
        if len(gdf) == 0:
            out[name] = {"geometry_type": "MultiPolygon" if name in _POLYGON_LAYERS else "Point"}
        elif name in _POLYGON_LAYERS:
            out[name] = {"promote_to_multi": True}
        else:
            out[name] = {}
        if name in LAYERS:
            out[name]["layer_options"] = {"IDENTIFIER": t(f"rep.gpkg.{name}", lang),
                                          "DESCRIPTION": t(f"rep.gpkg.{name}.about", lang)}
    return out


def write_gpkg(data: ReportData, path: str | Path) -> Path:
    """Write the GeoPackage of the report to ``path`` atomically and return it."""
    layers = gpkg_layers(data)
    return write_layers(path, layers, options=gpkg_options(layers, data.lang))
