"""Read the layer files of a workspace (population, districts, facilities, roads, rasters, points).

Every reader validates what it reads and reports problems as :class:`gisapp._errors.Problem`
objects naming the file, the field and the fix; :func:`gisapp.workspace.load_workspace`
gathers them from every layer and raises once.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.errors import RasterioIOError

from gisapp._errors import GisAppError, Problem
from gisapp.config.models import YEAR_MAX, YEAR_MIN
from gisapp.config.spec import LayerSpec
from gisapp.grid.coords import normalise_coord_system, to_wgs84
from gisapp.i18n import Term

__all__ = [
    "RasterData",
    "read_districts",
    "read_facilities",
    "read_population",
    "read_table",
    "read_class_raster",
    "read_dem",
    "read_lines",
    "read_points",
    "read_vector",
    "role_term",
]

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb"}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xls"}


class RasterData:
    """A population raster read from disk: values, transform, CRS and nodata."""

    def __init__(self, values: NDArray[np.float64], transform: Affine, crs: CRS | None,
                 nodata: float | None) -> None:
        self.values = values
        self.transform = transform
        self.crs = crs
        self.nodata = nodata


def role_term(role: str) -> Term:
    """Return the name of a layer role as shown inside a message ("roads" / "道路"; unknown roles as they are).

    Examples
    --------
    >>> role_term("roads").text("zh"), role_term("roads").text("en"), role_term("wells").text("zh")
    ('道路', 'roads', 'wells')
    """
    return Term(f"role.{role}", role)


def _error(exc: Exception) -> object:
    """The text of a reader's exception as a message parameter (in the message's language if it has a code)."""
    return exc if isinstance(exc, GisAppError) and exc.code is not None else str(exc)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or GBK) or Excel table as strings-preserving frame."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path)
    last: Exception | None = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=enc)
        except UnicodeDecodeError as exc:
            last = exc
    raise GisAppError(code="table_encoding", params={"path": str(path)}) from last


def read_vector(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile or a zipped Shapefile)."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            shp = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        if not shp:
            raise GisAppError(code="zip_without_shp")
        return gpd.read_file(f"zip://{path}!{shp[0]}", engine="pyogrio")
    kw: dict[str, Any] = {"layer": layer} if layer else {}
    return gpd.read_file(path, engine="pyogrio", **kw)


def layer_vector(spec: LayerSpec) -> gpd.GeoDataFrame:
    """Read a vector layer from its file, or from its PostGIS table or query when it names a database.

    A layer with ``database`` (a ``postgresql://`` URL; ``${VAR}`` is replaced from the
    environment, so the password need not be written in the workspace file) and ``table`` or
    ``sql`` is read by :func:`gisapp.io.postgis.read_postgis`; the rows then go through the same
    field mapping and checks as a file's.
    """
    db = spec.options.get("database")
    if db:
        from gisapp.io.postgis import read_postgis

        return read_postgis(os.path.expandvars(str(db)), table=spec.options.get("table"), sql=spec.options.get("sql"))
    return read_vector(spec.path, spec.layer)


def is_database_layer(spec: LayerSpec) -> bool:
    """Return True when the layer is read from a database table or query rather than a file."""
    return bool(spec.options.get("database"))


def read_population(spec: LayerSpec, problems: list[Problem],
                    notices: list[Problem] | None = None) -> RasterData | None:
    """Read the population raster of a workspace; append problems instead of raising.

    Integer rasters (``uint8``, ``int16``, ``int32`` ...) are read as floats; cells equal to the
    nodata value become NaN.  NaN cells of a raster that declares no NaN nodata value count as
    no people and a notice saying so is appended to ``notices`` (problem
    ``population_nan_as_empty``); infinite and negative values are problems.
    """
    f = str(spec.path)
    field = f"band {spec.band}"
    try:
        with rasterio.open(spec.path) as src:
            if spec.band > src.count:
                problems.append(Problem(f, "band", "band_missing", {"band": spec.band, "count": src.count}))
                return None
            vals = src.read(spec.band, masked=False).astype(np.float64)
            crs = CRS.from_user_input(src.crs) if src.crs else None
            transform, nodata = src.transform, src.nodata
    except (RasterioIOError, OSError, ValueError) as exc:
        problems.append(Problem(f, "", "population_unreadable", {"error": str(exc)}))
        return None
    if spec.crs and spec.crs.startswith("EPSG:") and crs is None:
        crs = CRS.from_user_input(spec.crs)
    elif spec.crs in ("WGS84", "CGCS2000") and crs is None:
        crs = CRS.from_epsg(4326 if spec.crs == "WGS84" else 4490)
    if crs is None:
        problems.append(Problem(f, "crs", "population_no_crs"))
    nan_is_nodata = nodata is not None and np.isnan(nodata)
    if nodata is not None and not nan_is_nodata:
        n_nan = int(np.isnan(vals).sum())  # NaN cells besides the declared nodata value
        vals = np.where(vals == nodata, np.nan, vals)
    else:
        n_nan = 0 if nan_is_nodata else int(np.isnan(vals).sum())
    if n_nan and notices is not None:
        notices.append(Problem(f, field, "population_nan_as_empty", {"n": f"{n_nan:,}"}))
    n_inf = int(np.isinf(vals).sum())
    if n_inf:
        problems.append(Problem(f, field, "population_infinite", {"n": f"{n_inf:,}"}))
        vals = np.where(np.isinf(vals), np.nan, vals)
    if not np.isfinite(vals).any() or np.nansum(np.clip(vals, 0, None)) <= 0:
        problems.append(Problem(f, field, "population_empty"))
    neg = vals < 0
    if neg.any():
        problems.append(Problem(f, field, "population_negative",
                                {"n": f"{int(neg.sum()):,}", "min": f"{float(np.nanmin(vals)):g}"}))
    return RasterData(vals, transform, crs, nodata)


def _check_fields(df: pd.DataFrame, spec: LayerSpec, keys: list[str], problems: list[Problem]) -> bool:
    ok = True
    for key in keys:
        col = spec.fields.get(key)
        if col is None:
            continue
        if col not in df.columns:
            cols = ", ".join(map(str, list(df.columns)[:12]))
            problems.append(Problem(str(spec.path), f"fields.{key}", "column_missing",
                                    {"column": col, "field": key, "columns": cols}))
            ok = False
    return ok


def read_districts(spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Read district polygons into columns ``district_id``, ``district_name`` (WGS84 or file CRS)."""
    f = str(spec.path)
    try:
        gdf = layer_vector(spec)
    except Exception as exc:  # pyogrio raises several types
        problems.append(Problem(f, "", "districts_unreadable", {"error": _error(exc)}))
        return None
    if len(gdf) == 0:
        problems.append(Problem(f, "", "districts_empty"))
        return None
    if not _check_fields(gdf, spec, ["id", "name"], problems):
        return None
    if gdf.crs is None:
        if spec.crs in ("WGS84", "CGCS2000") or (spec.crs or "").startswith("EPSG:"):
            gdf = gdf.set_crs(4326 if spec.crs in ("WGS84", "CGCS2000") else spec.crs)
        else:
            problems.append(Problem(f, "crs", "districts_no_crs"))
            return None
    if spec.crs in ("GCJ02", "BD09"):
        gdf = gdf.to_crs(4326)
        import shapely

        def conv(xy: NDArray[np.float64]) -> NDArray[np.float64]:
            lo, la = to_wgs84(xy[:, 0], xy[:, 1], spec.crs or "WGS84")
            return np.column_stack([lo, la])

        gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, conv))
    ids = gdf[spec.fields["id"]].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        problems.append(Problem(f, "fields.id", "duplicate_district_ids", {"ids": ", ".join(dup[:5])}))
    gtypes = set(gdf.geometry.geom_type.dropna())
    if not gtypes <= {"Polygon", "MultiPolygon"}:
        problems.append(Problem(f, "geometry", "districts_not_polygons", {"found": str(sorted(gtypes))}))
        return None
    geom = gdf.geometry.make_valid() if not gdf.geometry.is_valid.all() else gdf.geometry
    out = gpd.GeoDataFrame({"district_id": ids.values, "district_name": gdf[spec.fields["name"]].astype(str).values},
                           geometry=geom.values, crs=gdf.crs)
    return out


def _to_bool(s: pd.Series) -> pd.Series:
    truthy = {"1", "true", "yes", "y", "t", "是", "牵头", "lead"}
    return _as_text(s).str.lower().isin(truthy)


def _as_text(s: pd.Series) -> pd.Series:
    """Return a column as stripped text: empty cells as "", whole numbers of a float column without ".0"."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(float)
        fin = np.isfinite(v)
        if (fin.any() and not np.isinf(v).any() and np.all(v[fin] == np.round(v[fin]))
                and np.all(np.abs(v[fin]) < 2**53)):
            s = s.astype("Int64")
    obj = s.astype(object)
    return obj.where(obj.notna(), "").astype(str).str.strip()


def _bad_mapping(fields: dict[str, Any]) -> str | None:
    """Return the first facility field that is unmapped or not mapped to a column name, else None."""
    for key in ("id", "name", "kind"):
        if not isinstance(fields.get(key), str):
            return key
    for key in ("lon", "lat", "consortium", "is_lead", "opened", "closed"):
        if key in fields and not isinstance(fields[key], str):
            return key
    caps = fields.get("capacity", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        return "capacity"
    return None


def read_facilities(spec: LayerSpec, problems: list[Problem], notices: list[Problem] | None = None,
                    defaulted: dict[str, tuple[str, ...]] | None = None) -> gpd.GeoDataFrame | None:
    """Read facilities into canonical columns, converting coordinates to WGS84.

    Columns: ``facility_id, name, kind, <capacity fields>, consortium_id, is_lead, lon, lat``
    (WGS84 degrees) and point geometry in EPSG:4326; with ``fields.opened`` / ``fields.closed``
    mapped, also ``opened_year`` / ``closed_year`` (float years, NaN where blank).

    An empty capacity cell counts as 0: for each capacity column with empty cells a notice
    (problem ``capacity_blank_as_zero``) is appended to ``notices`` and the ids of those
    facilities are put in ``defaulted`` under the column's name.
    """
    f = str(spec.path)
    suffix = spec.path.suffix.lower()
    fields = spec.fields
    declared = spec.crs or "WGS84"
    bad_key = _bad_mapping(fields)
    if bad_key is not None:
        problems.append(Problem(f, f"fields.{bad_key}", "facility_field_unmapped", {"key": bad_key}))
        return None
    try:
        if suffix in TABLE_SUFFIXES and not is_database_layer(spec):
            df = read_table(spec.path)
            if not _check_fields(df, spec, ["id", "name", "kind", "lon", "lat", "consortium", "is_lead", "opened", "closed"],
                                 problems):
                return None
            if "lon" not in fields or "lat" not in fields:
                problems.append(Problem(f, "fields.lon/lat", "facilities_no_lonlat"))
                return None
            lon = pd.to_numeric(df[fields["lon"]], errors="coerce")
            lat = pd.to_numeric(df[fields["lat"]], errors="coerce")
            bad = df.index[lon.isna() | lat.isna()]
            if len(bad):
                problems.append(Problem(f, f"{fields['lon']}/{fields['lat']}", "coordinates_missing",
                                        {"n": len(bad), "rows": ", ".join(str(i + 2) for i in bad[:5])}))
                return None
            lon_v, lat_v = lon.to_numpy(float), lat.to_numpy(float)
            src_cs = declared
        elif suffix in VECTOR_SUFFIXES or is_database_layer(spec):
            gdf = layer_vector(spec)
            df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
            if not _check_fields(df, spec, ["id", "name", "kind", "consortium", "is_lead", "opened", "closed"], problems):
                return None
            if len(gdf) and not (gdf.geometry.geom_type == "Point").all():
                problems.append(Problem(f, "geometry", "facilities_not_points"))
                return None
            if gdf.crs is None and declared.startswith("EPSG:"):
                gdf = gdf.set_crs(declared)
            elif gdf.crs is None:
                gdf = gdf.set_crs(4326)
            if declared in ("GCJ02", "BD09"):
                g = gdf.to_crs(4326) if not gdf.crs.equals(CRS.from_epsg(4326)) else gdf
                lon_v, lat_v, src_cs = g.geometry.x.to_numpy(), g.geometry.y.to_numpy(), declared
            else:
                g = gdf.to_crs(4326)
                lon_v, lat_v, src_cs = g.geometry.x.to_numpy(), g.geometry.y.to_numpy(), "WGS84"
        else:
            problems.append(Problem(f, "", "unsupported_file_type", {"suffix": suffix}))
            return None
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported, not raised
        problems.append(Problem(f, "", "facilities_unreadable", {"error": _error(exc)}))
        return None
    if len(df) == 0:
        problems.append(Problem(f, "", "facilities_empty"))
        return None
    if src_cs.startswith("EPSG:"):
        problems.append(Problem(f, "crs", "table_projected_crs", {"crs": src_cs}))
        return None
    out_of_range = (np.abs(lon_v) > 180) | (np.abs(lat_v) > 90)
    if out_of_range.any():
        problems.append(Problem(f, f"{fields.get('lon', 'lon')}/{fields.get('lat', 'lat')}",
                                "coordinates_out_of_range", {"n": int(out_of_range.sum())}))
        return None
    lon_w, lat_w = to_wgs84(lon_v, lat_v, normalise_coord_system(src_cs))
    ids = _as_text(df[fields["id"]])
    no_id = np.flatnonzero((ids == "").to_numpy())
    if no_id.size:
        problems.append(Problem(f, f"fields.id ({fields['id']})", "facility_ids_missing",
                                {"n": int(no_id.size), "rows": ", ".join(str(i + 2) for i in no_id[:5])}))
    dup = ids[ids.duplicated() & (ids != "")].unique().tolist()
    if dup:
        problems.append(Problem(f, f"fields.id ({fields['id']})", "duplicate_facility_ids",
                                {"ids": ", ".join(dup[:5])}))
    out = pd.DataFrame({"facility_id": ids.values,
                        "name": _as_text(df[fields["name"]]).values,
                        "kind": _as_text(df[fields["kind"]]).values})
    for cap in fields.get("capacity", []):
        if cap not in df.columns:
            problems.append(Problem(f, "fields.capacity", "capacity_column_missing", {"column": cap}))
            continue
        v = pd.to_numeric(df[cap], errors="coerce")
        nonnum = df[cap].notna() & (v.isna() | np.isinf(v.astype(float)))
        if nonnum.any():
            problems.append(Problem(f, cap, "non_numeric", {"n": int(nonnum.sum()),
                                                            "example": df[cap][nonnum].iloc[0]}))
        v = v.where(~np.isinf(v.astype(float)))
        if (v < 0).any():
            rows = ids[v < 0].tolist()[:5]
            problems.append(Problem(f, cap, "negative_capacity", {"ids": ", ".join(rows)}))
        blank = df[cap].isna().to_numpy()
        if blank.any():
            blank_ids = tuple(ids[blank].tolist())
            if defaulted is not None:
                defaulted[cap] = blank_ids
            if notices is not None:
                notices.append(Problem(f, cap, "capacity_blank_as_zero",
                                       {"column": cap, "n": len(blank_ids), "ids": ", ".join(blank_ids[:5])
                                        + (", …" if len(blank_ids) > 5 else "")}))
        out[cap] = v.fillna(0.0).to_numpy(float)
    cons = fields.get("consortium")
    out["consortium_id"] = (_as_text(df[cons]).values if cons else "")
    lead = fields.get("is_lead")
    out["is_lead"] = _to_bool(df[lead]).values if lead else False
    for key in ("opened", "closed"):  # optional years: blank = always open / never closed
        col = fields.get(key)
        if col:  # columns opened_year / closed_year ("closed" is a scenario's flag of a closed facility)
            out[f"{key}_year"] = _facility_years(df[col], f, key, col, ids, problems)
    if "opened_year" in out and "closed_year" in out:
        o, c = out["opened_year"].to_numpy(float), out["closed_year"].to_numpy(float)
        wrong = np.isfinite(o) & np.isfinite(c) & (c <= o)
        if wrong.any():
            problems.append(Problem(f, f"fields.closed ({fields['closed']})", "facility_closed_before_opened",
                                    {"n": int(wrong.sum()), "ids": _some(ids[wrong].tolist()),
                                     "opened": fields["opened"], "closed": fields["closed"]}))
    out["lon"] = lon_w
    out["lat"] = lat_w
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon_w, lat_w), crs=4326)


def _some(items: list[str], n: int = 5) -> str:
    """Return the first ``n`` items joined by commas, with "…" when there are more."""
    return ", ".join(items[:n]) + (", …" if len(items) > n else "")


def _facility_years(col: pd.Series, f: str, key: str, name: str, ids: pd.Series,
                    problems: list[Problem]) -> NDArray[np.float64]:
    """Return a year column as floats (NaN where blank); a value that is not a year is a problem.

    A year is a whole number from :data:`~gisapp.config.models.YEAR_MIN` to ``YEAR_MAX``
    (``2020`` or ``2020.0``; text such as ``2020年`` or ``2020-05`` is not a year).
    """
    text = _as_text(col)
    v = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(float)
    given = (text != "").to_numpy()
    ok = np.isfinite(v) & (v == np.round(v)) & (v >= YEAR_MIN) & (v <= YEAR_MAX)
    bad = given & ~ok
    if bad.any():
        problems.append(Problem(f, f"fields.{key} ({name})", "facility_bad_year",
                                {"column": name, "n": int(bad.sum()), "example": str(text[bad].iloc[0]),
                                 "ids": _some(ids[bad].tolist()), "min": YEAR_MIN, "max": YEAR_MAX}))
    return np.where(given & ok, v, np.nan)


def read_lines(spec: LayerSpec, crs: CRS, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Read an optional line/polygon layer (roads, barriers) into the analysis CRS."""
    f = str(spec.path)
    try:
        gdf = layer_vector(spec)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(Problem(f, "", "lines_unreadable", {"layer": role_term(spec.role), "error": _error(exc)}))
        return None
    if gdf.crs is None:
        declared = spec.crs or ""
        if declared in ("WGS84", "CGCS2000"):
            gdf = gdf.set_crs(4326)
        elif declared.startswith("EPSG:"):
            gdf = gdf.set_crs(declared)
        else:
            problems.append(Problem(f, "crs", "layer_no_crs", {"layer": role_term(spec.role), "role": spec.role}))
            return None
    col = spec.fields.get("class")
    if col is not None and col not in gdf.columns:
        problems.append(Problem(f, "fields.class", "class_column_missing",
                                {"column": col, "columns": ", ".join(map(str, gdf.columns[:10]))}))
        return None
    return gdf.to_crs(crs)


def _read_on_grid(spec: LayerSpec, crs: CRS, transform: Affine, shape: tuple[int, int],
                  problems: list[Problem], resampling: str) -> NDArray[np.float64] | None:
    from rasterio.warp import Resampling, reproject

    f = str(spec.path)
    try:
        with rasterio.open(spec.path) as src:
            vals = src.read(spec.band).astype(np.float64)
            src_crs, src_t, nodata = src.crs, src.transform, src.nodata
    except (RasterioIOError, OSError) as exc:
        problems.append(Problem(f, "", "raster_unreadable", {"error": str(exc)}))
        return None
    if src_crs is None:
        problems.append(Problem(f, "crs", "raster_no_crs", {"role": spec.role}))
        return None
    out = np.full(shape, np.nan)
    reproject(vals, out, src_transform=src_t, src_crs=src_crs, src_nodata=nodata, dst_transform=transform,
              dst_crs=crs, dst_nodata=np.nan, resampling=getattr(Resampling, resampling))
    return out


def read_dem(spec: LayerSpec, crs: CRS, transform: Affine, shape: tuple[int, int],
             problems: list[Problem]) -> NDArray[np.float64] | None:
    """Read a DEM (metres) onto the analysis grid (bilinear); NaN where it has no data."""
    return _read_on_grid(spec, crs, transform, shape, problems, "bilinear")


def read_class_raster(spec: LayerSpec, crs: CRS, transform: Affine, shape: tuple[int, int],
                      problems: list[Problem]) -> NDArray[np.int64] | None:
    """Read a land-cover class raster onto the analysis grid (nearest); -1 where no data."""
    v = _read_on_grid(spec, crs, transform, shape, problems, "nearest")
    if v is None:
        return None
    return np.where(np.isfinite(v), v, -1).astype(np.int64)


def read_points(spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Read an optional point layer (e.g. settlements or candidate sites) into WGS84.

    Columns: ``name``, ``lon``, ``lat`` (WGS84 degrees), every other mapped field under its key
    (as text, e.g. a settlement's ``township`` and ``level``) and point geometry (EPSG:4326).
    Tables need ``fields: {lon, lat}``; coordinates declared GCJ02/BD09 are converted.
    """
    f = str(spec.path)
    fields = spec.fields
    try:
        if spec.path.suffix.lower() in TABLE_SUFFIXES and not is_database_layer(spec):
            df = read_table(spec.path)
            lon_c, lat_c = fields.get("lon", "lon"), fields.get("lat", "lat")
            missing = [c for c in (lon_c, lat_c) if c not in df.columns]
            if missing:
                problems.append(Problem(f, "fields.lon/lat", "lonlat_columns_missing", {"columns": ", ".join(missing)}))
                return None
            lon = pd.to_numeric(df[lon_c], errors="coerce").to_numpy(float)
            lat = pd.to_numeric(df[lat_c], errors="coerce").to_numpy(float)
            if np.isnan(lon).any() or np.isnan(lat).any():
                problems.append(Problem(f, f"{lon_c}/{lat_c}", "points_coordinates_missing"))
                return None
            lon, lat = to_wgs84(lon, lat, spec.crs or "WGS84")
        else:
            gdf = layer_vector(spec)
            df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
            g = (gdf if gdf.crs is not None else gdf.set_crs(4326)).to_crs(4326)
            lon, lat = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
            if spec.crs in ("GCJ02", "BD09"):
                lon, lat = to_wgs84(lon, lat, spec.crs)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(Problem(f, "", "points_unreadable", {"layer": role_term(spec.role), "error": _error(exc)}))
        return None
    name_c = fields.get("name", "name")
    names = df[name_c].astype(str).to_numpy() if name_c in df.columns else np.array([""] * len(df))
    cols: dict[str, object] = {"name": names, "lon": lon, "lat": lat}
    # the other mapped fields (e.g. a settlement's township and level) under their key
    for key, col in fields.items():
        if key in ("name", "lon", "lat") or not isinstance(col, str):
            continue
        if col not in df.columns:
            problems.append(Problem(f, f"fields.{key}", "points_field_missing", {"column": col, "key": key}))
            return None
        cols[key] = df[col].fillna("").astype(str).to_numpy()
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(lon, lat), crs=4326)
