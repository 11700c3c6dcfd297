"""The PostgreSQL scenario store and PostGIS layers, against a real server on loopback.

The server (tests/pg_server.py) is a new PostgreSQL cluster with PostGIS, started for this
module on 127.0.0.1 and removed after.  Without PostgreSQL or PostGIS the tests skip, which
under CI=true counts as a failure (tests/conftest.py).
"""

from __future__ import annotations

import threading

import geopandas as gpd
import pytest
import shapely

from gisapp._errors import GisAppError
from gisapp.io import scenario_store_pg as pg
from gisapp.io.postgis import read_postgis
from tests import pg_server


@pytest.fixture(scope="module")
def db_url():
    why = pg_server.missing()
    if why is not None:
        pytest.skip(why)
    with pg_server.server() as url:
        yield url


def _row(name: str, author: str, edits: str = "[]") -> dict[str, str]:
    return {"name": name, "author": author, "saved_at": "2026-12-01T00:00:00Z", "workspace": "tiny",
            "notes": "", "edits": edits, "content_hash": "h"}


def test_versions_append_and_read_back(db_url):
    assert pg.append_version(db_url, _row("甲", "王"), base_version=0) == 1
    assert pg.append_version(db_url, _row("甲", "李", '[{"op": "close"}]'), base_version=1) == 2
    assert pg.append_version(db_url, _row("乙", "王"), base_version=0) == 1
    latest = {r["name"]: (r["version"], r["author"]) for r in pg.latest_rows(db_url)}
    assert latest == {"甲": (2, "李"), "乙": (1, "王")}
    assert [r["version"] for r in pg.history_rows(db_url, "甲")] == [1, 2]
    assert pg.version_row(db_url, "甲", 1)["author"] == "王"
    assert pg.version_row(db_url, "甲")["edits"] == '[{"op": "close"}]'
    assert pg.version_row(db_url, "丙") is None


def test_a_stale_save_is_refused_and_names_who_saved_first(db_url):
    pg.append_version(db_url, _row("丁", "王"), base_version=0)
    with pytest.raises(GisAppError) as ei:
        pg.append_version(db_url, _row("丁", "李"), base_version=0)
    assert ei.value.code == "scenario_conflict"
    assert "王" in ei.value.text("zh")
    assert [r["author"] for r in pg.history_rows(db_url, "丁")] == ["王"]


def test_two_planners_saving_at_once_lose_nothing(db_url):
    """Eight planners save the same scenario from the same base at once: one wins, the rest are told."""
    barrier = threading.Barrier(8)
    outcomes: list[object] = []
    lock = threading.Lock()

    def save(i: int) -> None:
        barrier.wait()
        try:
            out: object = pg.append_version(db_url, _row("戊", f"planner{i}"), base_version=0)
        except GisAppError as exc:
            out = exc.code
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, outcomes)) == ["1"] + ["scenario_conflict"] * 7
    assert len(pg.history_rows(db_url, "戊")) == 1
    # without a base version every save is a new version: none is lost
    barrier = threading.Barrier(6)
    versions: list[int] = []

    def save_any(i: int) -> None:
        barrier.wait()
        v = pg.append_version(db_url, _row("己", f"p{i}"), base_version=None)
        with lock:
            versions.append(v)

    threads = [threading.Thread(target=save_any, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


def test_an_unreachable_database_is_named_without_its_password():
    with pytest.raises(GisAppError) as ei:
        pg.latest_rows("postgresql://planner:s3cret@127.0.0.1:1/none")
    assert ei.value.code == "scenario_db_unreachable"
    text = ei.value.text("zh")
    assert "s3cret" not in text and "127.0.0.1:1" in text


def _layer_table(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS clinics")
        con.execute("CREATE TABLE clinics (code text, name text, kind text, doctors double precision, "
                    "geom geometry(Point, 4326))")
        con.execute("INSERT INTO clinics VALUES ('C1', '甲卫生院', 'village_clinic', 2, "
                    "ST_SetSRID(ST_MakePoint(101.7, 26.58), 4326)), "
                    "('C2', '乙卫生室', 'village_clinic', NULL, ST_SetSRID(ST_MakePoint(101.8, 26.6), 4326))")


def test_a_table_and_a_query_read_as_geodataframes(db_url):
    _layer_table(db_url)
    t = read_postgis(db_url, table="clinics")
    assert isinstance(t, gpd.GeoDataFrame)
    assert t.crs.to_epsg() == 4326
    assert list(t["code"]) == ["C1", "C2"] and "geom" not in t.columns
    assert shapely.equals(t.geometry.iloc[0], shapely.Point(101.7, 26.58))
    q = read_postgis(db_url, sql="SELECT code, ST_Transform(geom, 4543) AS g FROM clinics WHERE doctors > 1")
    assert list(q["code"]) == ["C1"] and q.crs.to_epsg() == 4543


def test_bad_database_layers_get_clear_errors(db_url):
    _layer_table(db_url)
    with pytest.raises(GisAppError) as ei:
        read_postgis(db_url, table="no_such_table")
    assert ei.value.code == "postgis_query_failed" and "no_such_table" in ei.value.text("zh")
    with pytest.raises(GisAppError) as ei:
        read_postgis(db_url, sql="SELECT code FROM clinics")
    assert ei.value.code == "postgis_no_geometry"
    with pytest.raises(GisAppError) as ei:
        read_postgis(db_url, sql="SELECT geom, geom AS g2 FROM clinics")
    assert ei.value.code == "postgis_many_geometries"
    with pytest.raises(GisAppError) as ei:
        read_postgis(db_url, table="clinics; DROP TABLE clinics")
    assert ei.value.code == "postgis_bad_table"
    assert len(read_postgis(db_url, table="clinics")) == 2  # nothing was dropped


def test_the_scenario_store_saves_versions_in_the_database(db_url):
    from gisapp.planning.scenario import Edit, ScenarioStore

    store = ScenarioStore(db_url)
    assert store.database == db_url and "@127.0.0.1" in store.where
    assert store.save_version("方案甲", [Edit("close", "C1")], workspace="tiny", author="王", base_version=0) == 1
    assert store.save_version("方案甲", [], workspace="tiny", author="李", base_version=1) == 2
    with pytest.raises(GisAppError) as ei:
        store.save_version("方案甲", [Edit("close", "C2")], workspace="tiny", author="赵", base_version=1)
    assert ei.value.code == "scenario_conflict"
    assert [(v.version, v.author, v.n_edits) for v in store.history("方案甲")] == [(1, "王", 1), (2, "李", 0)]
    assert store.load("方案甲", 1).edits == [Edit("close", "C1")]
    assert [v.name for v in store.list()] == sorted({v.name for v in store.list()})
    # a scenario file downloaded from the database store imports into a folder store unchanged
    import tempfile

    folder = ScenarioStore(tempfile.mkdtemp())
    name, version = folder.import_bytes(store.export_bytes("方案甲", 1), file="甲.gpkg", author="王")
    assert (name, version) == ("方案甲", 1) and folder.load(name).edits == [Edit("close", "C1")]


def test_the_app_uses_the_database_named_by_the_environment(db_url, monkeypatch, tmp_path):
    from pathlib import Path

    from gisapp.planning.scenario import Edit
    from gisapp.ui import planning_state as ps

    monkeypatch.setenv(ps.SCENARIO_DB_ENV, db_url)
    s = ps.store(Path(tmp_path))
    assert s.database == db_url
    v = s.save_version("环境方案", [Edit("close", "C9")], workspace="tiny", author="王", base_version=0)
    assert ps.store(Path("/elsewhere")).load("环境方案", v).edits == [Edit("close", "C9")]
    assert not any(tmp_path.iterdir())  # nothing written in the folder
    monkeypatch.delenv(ps.SCENARIO_DB_ENV)
    assert ps.store(Path(tmp_path)).database is None


def test_a_workspace_reads_facilities_and_districts_from_postgis(db_url, tmp_path, monkeypatch):
    """The tiny workspace with its districts and facilities in PostGIS loads like the files."""
    import shutil

    import psycopg
    import yaml

    from gisapp.workspace import load_workspace
    from tests.conftest import TINY

    files = load_workspace(TINY)
    with psycopg.connect(db_url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS tiny_districts, tiny_facilities")
        con.execute("CREATE TABLE tiny_districts (code text, label text, geom geometry(Polygon, 4543))")
        for _, d in files.districts.iterrows():
            con.execute("INSERT INTO tiny_districts VALUES (%s, %s, ST_GeomFromText(%s, 4543))",
                        (d["district_id"], d["district_name"], d.geometry.wkt))
        f = files.facilities
        con.execute("CREATE TABLE tiny_facilities (fid text, fname text, fkind text, beds float, doctors float, "
                    "seats float, geom geometry(Point, 4326))")
        for _, r in f.iterrows():
            con.execute("INSERT INTO tiny_facilities VALUES (%s, %s, %s, %s, %s, %s, "
                        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                        (r["facility_id"], r["name"], r["kind"], r["beds"], r["doctors"], r["seats"], r["lon"], r["lat"]))
    spec = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    for name in ("population",):
        src = TINY.parent / spec["layers"][name]["path"]
        shutil.copy(src, tmp_path / src.name)
        spec["layers"][name]["path"] = src.name
    monkeypatch.setenv("TINY_DB", db_url)
    spec["layers"]["districts"] = {"database": "${TINY_DB}", "table": "tiny_districts",
                                   "fields": {"id": "code", "name": "label"}}
    spec["layers"]["facilities"] = {"database": "${TINY_DB}", "sql": "SELECT * FROM tiny_facilities",
                                    "fields": {"id": "fid", "name": "fname", "kind": "fkind",
                                               "capacity": ["beds", "doctors", "seats"]}}
    for role in list(spec["layers"]):
        if role not in ("population", "districts", "facilities"):
            del spec["layers"][role]
    p = tmp_path / "db.yaml"
    p.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    ws = load_workspace(p)
    assert list(ws.districts["district_id"]) == list(files.districts["district_id"])
    assert list(ws.facilities["facility_id"]) == list(files.facilities["facility_id"])
    assert ws.facilities["x"].to_numpy() == pytest.approx(files.facilities["x"].to_numpy(), abs=1e-6)
    assert ws.grid.pop.sum() == pytest.approx(files.grid.pop.sum())
    assert ws.facilities["doctors"].to_numpy() == pytest.approx(files.facilities["doctors"].to_numpy())
    # a field missing in the table gets the same message as in a file, naming the table
    from gisapp._errors import WorkspaceError

    spec["layers"]["facilities"] = {"database": "${TINY_DB}", "table": "tiny_facilities",
                                    "fields": {"id": "fid", "name": "fname", "kind": "no_such_column",
                                               "capacity": ["beds", "doctors", "seats"]}}
    p.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(WorkspaceError) as ei:
        load_workspace(p)
    text = ei.value.text("zh")
    assert "no_such_column" in text and "tiny_facilities" in text
