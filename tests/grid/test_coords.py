"""GCJ-02 / BD-09 conversions against published pairs, and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from gisapp.grid import coords as coords

GEOD = Geod(ellps="WGS84")

# eviltransform's published test vectors: (wgs lat, wgs lon, gcj lat, gcj lon)
EVIL = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# geotool's published triple (WGS84, GCJ-02, BD-09), lon/lat
GEOTOOL = ((121.0917077, 30.6107779), (121.09626935575027, 30.608604331756705),
           (121.10271732371203, 30.61484572185035))

LON_CN = st.floats(min_value=97.0, max_value=124.0)
LAT_CN = st.floats(min_value=20.0, max_value=45.0)


def metres(lon1, lat1, lon2, lat2) -> float:
    return float(np.max(GEOD.inv(lon1, lat1, lon2, lat2)[2]))


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVIL)
def test_wgs_to_gcj_matches_published_pairs(wlat, wlon, glat, glon):
    lon, lat = coords.wgs84_to_gcj02(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVIL)
def test_gcj_inverse_under_one_metre(wlat, wlon, glat, glon):
    lon, lat = coords.gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 1.0
    # and in fact far better than the one-step approximation
    assert metres(lon, lat, wlon, wlat) < 0.01


def test_offsets_have_published_size():
    # standards.md: GCJ vs WGS in Shanghai about -236 m north, +412 m east
    wlat, wlon, glat, glon = EVIL[0]
    assert 150 < metres(wlon, wlat, glon, glat) < 600


def test_bd09_against_geotool():
    (wlon, wlat), (glon, glat), (blon, blat) = GEOTOOL
    lon, lat = coords.wgs84_to_gcj02(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 0.05
    lon, lat = coords.wgs84_to_bd09(wlon, wlat)
    assert metres(lon, lat, blon, blat) < 0.05
    lon, lat = coords.bd09_to_wgs84(blon, blat)
    assert metres(lon, lat, wlon, wlat) < 0.05


@settings(max_examples=200, deadline=None)
@given(LON_CN, LAT_CN)
def test_round_trips_are_sub_millimetre(lon, lat):
    for fwd, inv in ((coords.wgs84_to_gcj02, coords.gcj02_to_wgs84),
                     (coords.wgs84_to_bd09, coords.bd09_to_wgs84)):
        a, b = inv(*fwd(lon, lat))
        assert metres(a, b, lon, lat) < 0.001


def test_outside_china_unchanged():
    lon, lat = coords.wgs84_to_gcj02(2.35, 48.85)
    assert float(lon) == 2.35 and float(lat) == 48.85


def test_vectorised():
    lon = np.linspace(101.2, 102.2, 1000)
    lat = np.linspace(26.1, 27.3, 1000)
    g = coords.wgs84_to_gcj02(lon, lat)
    w = coords.gcj02_to_wgs84(*g)
    assert w[0].shape == (1000,)
    assert metres(w[0], w[1], lon, lat) < 0.001


@pytest.mark.parametrize(("name", "canon"), [("AMap", "GCJ02"), ("bd-09", "BD09"), ("EPSG:4490", "CGCS2000"),
                                             ("wgs84", "WGS84"), ("epsg:4543", "EPSG:4543")])
def test_normalise(name, canon):
    assert coords.normalise_coord_system(name) == canon


def test_unknown_coord_system_names_the_fix():
    with pytest.raises(ValueError, match="Use one of WGS84, CGCS2000, GCJ02"):
        coords.normalise_coord_system("mars")
