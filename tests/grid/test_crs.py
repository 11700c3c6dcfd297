"""Choosing the analysis CRS and refusing mismatched inputs."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gisapp._errors import CRSMismatchError, MissingCRSError
from gisapp.grid import crs as gcrs


def test_panzhihua_gets_epsg_4543_by_name():
    c = gcrs.analysis_crs(101.72, 26.58)
    assert c.to_epsg() == 4543
    assert c.name == "CGCS2000 / 3-degree Gauss-Kruger CM 102E"


@pytest.mark.parametrize(("lon", "epsg"), [(75.2, 4534), (104.06, 4544), (116.4, 4548), (121.5, 4549)])
def test_gk_zone_by_longitude(lon, epsg):
    assert gcrs.cgcs2000_gk3_epsg(lon) == epsg


def test_outside_china_uses_utm():
    assert gcrs.analysis_crs(2.35, 48.85).to_epsg() == 32631


def test_declared_crs_wins_and_must_be_projected():
    assert gcrs.analysis_crs(101.7, 26.6, declared="EPSG:32647").to_epsg() == 32647
    with pytest.raises(ValueError, match="not projected"):
        gcrs.analysis_crs(101.7, 26.6, declared="EPSG:4326")


def test_ensure_same_crs_raises_not_warns():
    a = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4543)
    b = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=32647)
    with pytest.raises(CRSMismatchError, match="CRS mismatch"):
        gcrs.ensure_same_crs(cells=a, facilities=b)
    with pytest.raises(MissingCRSError, match="has no CRS"):
        gcrs.ensure_same_crs(cells=a, facilities=gpd.GeoDataFrame(geometry=[Point(0, 0)]))
    assert gcrs.ensure_same_crs(a=a, b=a.copy()).to_epsg() == 4543


def test_require_projected():
    with pytest.raises(MissingCRSError, match="geographic"):
        gcrs.require_projected(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), "cells")
