"""Tests of gisapp.travel.friction: speed tables, the merged speed surface, slope models."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import LineString, Polygon

from gisapp._errors import CRSMismatchError, LayerSchemaError, UnitsError
from gisapp.travel.friction import (
    BICYCLE_MAX_FACTOR,
    Mode,
    bicycle_factor,
    read_speed_table,
    speed_surface,
    speed_table_from_frame,
    tobler_factor,
    uniform_surface,
)

CRS = "EPSG:32613"
# 6 x 8 grid of 10 m cells; x from 0 to 80, y from 0 to 60
T = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 60.0)
TABLE = pd.DataFrame({
    "class": [1, 2, 1001, 1002],
    "label": ["grass", "urban", "highway", "track"],
    "speed": [4, 15, 80, 10],
    "mode": ["WALKING", "BICYCLING", "MOTORIZED", "BICYCLING"],
})


@pytest.fixture
def table():
    return speed_table_from_frame(TABLE)


def _frame(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=CRS)


def row_line(row: int) -> LineString:
    """A line along the centres of one grid row."""
    y = 60.0 - 10.0 * row - 5.0
    return LineString([(0.0, y), (80.0, y)])


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_read_speed_table_csv_and_xlsx(tmp_path: Path, suffix: str):
    path = tmp_path / f"model{suffix}"
    if suffix == ".csv":
        TABLE.to_csv(path, index=False)
    else:
        TABLE.to_excel(path, index=False)
    t = read_speed_table(path)
    assert t.classes.tolist() == [1, 2, 1001, 1002]
    assert t.speed_kph.tolist() == [4.0, 15.0, 80.0, 10.0]
    assert [Mode(m) for m in t.mode] == [Mode.WALKING, Mode.BICYCLING, Mode.MOTORIZED,
                                         Mode.BICYCLING]
    assert t.labels[2] == "highway"
    assert list(t.to_frame().columns) == ["class", "label", "speed_kph", "mode"]


def test_speed_table_problems_are_collected():
    bad = pd.DataFrame({"class": [1, 1, 2.5], "speed": [4, -1, 3], "mode": ["WALKING", "FLY", "car"]})
    with pytest.raises(LayerSchemaError) as err:
        speed_table_from_frame(bad, source="model.csv")
    text = str(err.value)
    assert "model.csv" in text
    assert "integers" in text and "more than once" in text and ">= 0" in text
    assert "FLY" in text and "WALKING, BICYCLING or MOTORIZED" in text


def test_speed_table_missing_column():
    with pytest.raises(LayerSchemaError, match="column 'mode' is missing"):
        speed_table_from_frame(pd.DataFrame({"class": [1], "speed": [4]}))


def test_read_speed_table_rejects_other_formats(tmp_path: Path):
    path = tmp_path / "model.txt"
    path.write_text("class speed mode\n")
    with pytest.raises(LayerSchemaError, match=r"\.csv or \.xlsx"):
        read_speed_table(path)


# --------------------------------------------------------------------------- surface


def test_landcover_lookup_and_nodata(table):
    lc = np.ones((6, 8), dtype=int)
    lc[:, 4:] = 2
    lc[0, 0] = 255
    s = speed_surface(lc, table, transform=T, landcover_nodata=255)
    assert s.speed_kph[1, 0] == 4 and s.mode[1, 0] == Mode.WALKING
    assert s.speed_kph[1, 5] == 15 and s.mode[1, 5] == Mode.BICYCLING
    assert not s.passable[0, 0] and s.klass[0, 0] == -1
    assert s.cell_size_m == (10.0, 10.0)


def test_unknown_class_is_an_error(table):
    lc = np.ones((6, 8), dtype=int)
    lc[2, 2] = 7
    with pytest.raises(LayerSchemaError, match=r"classes \[7\] have no row"):
        speed_surface(lc, table, transform=T)


def test_road_burned_in_and_faster_road_wins(table):
    lc = np.ones((6, 8), dtype=int)
    col_x = 35.0  # centre of column 3
    roads = _frame([row_line(2), LineString([(col_x, 0.0), (col_x, 60.0)])], **{"class": [1002, 1001]})
    s = speed_surface(lc, table, transform=T, roads=roads, crs=CRS)
    assert (s.klass[2, :] == np.where(np.arange(8) == 3, 1001, 1002)).all()
    assert (s.klass[:, 3] == 1001).all()
    assert s.speed_kph[2, 3] == 80  # the crossing takes the faster road
    s2 = speed_surface(lc, table, transform=T, roads=roads, road_priority=[1002])
    assert s2.klass[2, 3] == 1002


def test_road_class_missing_from_table(table):
    roads = _frame([row_line(1)], **{"class": [9]})
    with pytest.raises(LayerSchemaError, match=r"road classes \[9\]"):
        speed_surface(np.ones((6, 8), int), table, transform=T, roads=roads)


def test_line_barrier_blocks_every_cell_it_touches_and_roads_bridge_it(table):
    lc = np.ones((6, 8), dtype=int)
    river = _frame([LineString([(45.0, 0.0), (45.0, 60.0)])])  # along column 4
    road = _frame([row_line(3)], **{"class": [1001]})
    s = speed_surface(lc, table, transform=T, roads=road, barriers=river)
    blocked = ~s.passable
    assert blocked[:, 4].sum() == 5 and s.klass[3, 4] == 1001  # the road is a bridge
    assert s.barrier[0, 4] and not s.barrier[3, 4]
    cut = speed_surface(lc, table, transform=T, roads=road, barriers=river, bridges=False)
    assert (~cut.passable[:, 4]).all()


def test_polygon_barrier_closes_roads(table):
    lc = np.ones((6, 8), dtype=int)
    area = _frame([Polygon([(20, 0), (50, 0), (50, 60), (20, 60)])])  # columns 2-4
    road = _frame([row_line(3)], **{"class": [1001]})
    s = speed_surface(lc, table, transform=T, roads=road, barriers=area)
    assert not s.passable[:, 2:5].any()
    assert s.passable[3, 1] and s.passable[3, 5]


def test_diagonal_bridge_pattern_hand_made(table):
    lc = np.ones((4, 4), dtype=int)
    t = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 40.0)
    # barrier cells (1, 2) and (2, 1); a road at (1, 1) touches (2, 2) only diagonally
    barrier = _frame([LineString([(25, 25), (25.5, 25.5)]), LineString([(15, 15), (15.5, 15.5)])])
    road = _frame([LineString([(15, 25), (15.5, 25.5)])], **{"class": [1001]})
    kept = speed_surface(lc, table, transform=t, roads=road, barriers=barrier, clean_bridges=False)
    assert kept.passable[1, 1] and not kept.passable[1, 2] and not kept.passable[2, 1]
    cleaned = speed_surface(lc, table, transform=t, roads=road, barriers=barrier)
    assert not cleaned.passable[1, 1] and cleaned.barrier[1, 1]


def test_crs_mismatch_is_raised(table):
    roads = gpd.GeoDataFrame({"class": [1001]}, geometry=[row_line(1)], crs="EPSG:4326")
    with pytest.raises(CRSMismatchError, match="reproject"):
        speed_surface(np.ones((6, 8), int), table, transform=T, roads=roads, crs=CRS)


def test_rotated_grid_is_rejected(table):
    with pytest.raises(UnitsError, match="north-up"):
        speed_surface(np.ones((2, 2), int), table, transform=Affine(10, 1, 0, 0, -10, 20))


def test_uniform_surface():
    ok = np.ones((2, 3), bool)
    ok[0, 1] = False
    s = uniform_surface((2, 3), T, speed_kph=5.0, mode=Mode.MOTORIZED, passable=ok)
    assert s.passable.tolist() == ok.tolist()
    assert s.mode[1, 1] == Mode.MOTORIZED and s.speed_kph[0, 1] == 0
    with pytest.raises(UnitsError, match="positive"):
        uniform_surface((2, 2), T, speed_kph=0.0)


# --------------------------------------------------------------------------- slope models


def test_tobler_factor_is_normalised_to_the_flat():
    assert tobler_factor(0.0) == pytest.approx(1.0)
    assert tobler_factor(-0.05) == pytest.approx(np.exp(0.175))  # the fastest: 5 % down
    s = np.linspace(0.01, 0.5, 20)
    assert (tobler_factor(s) < tobler_factor(-s)).all()  # uphill slower than downhill
    assert (np.diff(tobler_factor(s)) < 0).all()
    # symmetric about the -5 % optimum
    assert tobler_factor(-0.05 + 0.2) == pytest.approx(tobler_factor(-0.05 - 0.2))


def test_bicycle_factor_power_model():
    assert bicycle_factor(0.0, 15.0) == pytest.approx(1.0)
    s = np.linspace(-0.3, 0.3, 61)
    f = bicycle_factor(s, 15.0, max_factor=None)
    assert (np.diff(f) < 0).all()  # steeper climbs are slower, steeper descents faster
    capped = bicycle_factor(s, 15.0)
    assert capped.max() == pytest.approx(BICYCLE_MAX_FACTOR)
    assert np.array_equal(capped[s > 0], f[s > 0])
    # climbing: the rider's flat power spent lifting; about 4 km/h up 5 % at 15 km/h flat
    assert 15.0 * bicycle_factor(0.05, 15.0) == pytest.approx(4.03, abs=0.05)
    # faster riders lose a smaller share of their speed to a climb
    assert bicycle_factor(0.05, 25.0) > bicycle_factor(0.05, 15.0)
