"""The embedded scenario store: versions with author and time, conflicts refused, old files kept, files in and out."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from gisapp._errors import GisAppError
from gisapp.io.scenario_store import STORE_FILE
from gisapp.planning.scenario import Edit, Scenario, ScenarioStore, load_scenario, save_scenario

ADD = Edit("add", "N1", 101.7, 26.6, name="新卫生室", kind="village_clinic", capacity={"doctors": 2.0})
CLOSE = Edit("close", "C2")


def _rows(folder: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / STORE_FILE) as con:
        return con.execute("SELECT name, version, author FROM scenario_versions ORDER BY name, version").fetchall()


def test_versions_increase_with_author_and_time(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path)
    assert store.list() == []
    assert store.save_version("甲", [ADD], workspace="tiny", author="王", base_version=0) == 1
    assert store.save_version("甲", [ADD, CLOSE], workspace="tiny", author="李", base_version=1) == 2
    assert store.save_version("乙", [], workspace="tiny", author="王") == 1
    listed = {v.name: v for v in store.list()}
    assert (listed["甲"].version, listed["甲"].author, listed["甲"].n_edits) == (2, "李", 2)
    assert listed["甲"].saved_at.endswith("+00:00")  # UTC, ISO
    assert [(v.version, v.author) for v in store.history("甲")] == [(1, "王"), (2, "李")]
    assert store.load("甲").edits == [ADD, CLOSE]
    assert store.load("甲", 1).edits == [ADD]  # an old version is still there
    assert store.load("甲", 1).workspace == "tiny"
    with pytest.raises(GisAppError) as err:
        store.load("甲", 7)
    assert err.value.code == "scenario_missing"


def test_two_planners_from_the_same_base_the_second_is_told(tmp_path: Path) -> None:
    first, second = ScenarioStore(tmp_path), ScenarioStore(tmp_path)  # two sessions, one folder
    first.save_version("甲", [ADD], workspace="tiny", author="王", base_version=0)
    # both open version 1 and edit it
    assert first.save_version("甲", [ADD, CLOSE], workspace="tiny", author="王", base_version=1) == 2
    with pytest.raises(GisAppError) as err:
        second.save_version("甲", [], workspace="tiny", author="李", base_version=1)
    e = err.value
    assert e.code == "scenario_conflict"
    assert e.params["author"] == "王" and e.params["version"] == 2
    for lang in ("zh", "en"):
        assert "甲" in e.text(lang) and "王" in e.text(lang) and str(e.params["saved_at"]) in e.text(lang)
    # the first planner's save is intact and nothing was added
    assert first.load("甲").edits == [ADD, CLOSE]
    assert _rows(tmp_path) == [("甲", 1, "王"), ("甲", 2, "王")]
    # the second planner may save under another name (or save again from the newest version)
    assert second.save_version("甲-李", [], workspace="tiny", author="李", base_version=0) == 1
    assert second.save_version("甲", [], workspace="tiny", author="李", base_version=2) == 3


def test_a_new_name_already_saved_by_someone_else_is_a_conflict(tmp_path: Path) -> None:
    ScenarioStore(tmp_path).save_version("甲", [ADD], workspace="tiny", author="王", base_version=0)
    with pytest.raises(GisAppError, match="王"):
        ScenarioStore(tmp_path).save_version("甲", [CLOSE], workspace="tiny", author="李", base_version=0)
    assert ScenarioStore(tmp_path).load("甲").edits == [ADD]


def _save_many(folder: str, author: str, n: int) -> None:
    store = ScenarioStore(folder)
    for _ in range(n):
        store.save_version("并发", [CLOSE], workspace="tiny", author=author)


def test_concurrent_writers_lose_no_save(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_save_many, args=(str(tmp_path), f"p{k}", 10)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    versions = [v.version for v in ScenarioStore(tmp_path).history("并发")]
    assert versions == list(range(1, 31))


def test_files_of_earlier_releases_are_listed_and_loaded(tmp_path: Path) -> None:
    save_scenario(tmp_path, Scenario("旧方案", [ADD], workspace="tiny"))
    store = ScenarioStore(tmp_path)
    [old] = store.list()
    assert (old.name, old.version, old.author) == ("旧方案", 0, "")
    assert store.load("旧方案").edits == [ADD]
    assert store.load("旧方案", 0).edits == [ADD]
    # a save of that name starts the versions in the store; the old file stays version 0
    assert store.save_version("旧方案", [ADD, CLOSE], workspace="tiny", author="王", base_version=0) == 1
    assert [v.version for v in store.history("旧方案")] == [0, 1]
    assert store.load("旧方案").edits == [ADD, CLOSE]
    assert store.load("旧方案", 0).edits == [ADD]
    assert [v.version for v in store.list()] == [1]


def test_download_and_upload_round_trip(tmp_path: Path) -> None:
    a = ScenarioStore(tmp_path / "a")
    a.save_version("甲", [ADD, CLOSE], workspace="tiny", author="王")
    data = a.export_bytes("甲")
    # the download is a scenario file of the usual format (the CLI's `scenario --file` reads it)
    f = tmp_path / "甲.gpkg"
    f.write_bytes(data)
    assert load_scenario(f).edits == [ADD, CLOSE]
    b = ScenarioStore(tmp_path / "b")
    assert b.import_bytes(data, file="甲.gpkg", author="李") == ("甲", 1)
    assert b.load("甲").edits == [ADD, CLOSE]
    assert b.import_bytes(data, file="甲.gpkg", author="李") == ("甲", 2)  # an import never overwrites


def test_a_bad_upload_is_refused_by_name_and_loses_nothing(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path)
    store.save_version("甲", [ADD], workspace="tiny", author="王")
    for data in (b"not a geopackage", b""):
        with pytest.raises(GisAppError) as err:
            store.import_bytes(data, file="坏文件.gpkg", author="李")
        assert err.value.code == "not_a_scenario"
        assert "坏文件.gpkg" in err.value.text("zh")
    assert [(v.name, v.version) for v in store.list()] == [("甲", 1)]


def test_a_damaged_store_gives_a_message(tmp_path: Path) -> None:
    (tmp_path / STORE_FILE).write_bytes(b"garbage" * 100)
    with pytest.raises(GisAppError) as err:
        ScenarioStore(tmp_path).save_version("甲", [], workspace="tiny", author="王")
    assert err.value.code == "scenario_store_unreadable"
    assert STORE_FILE in err.value.text("zh")


def test_a_writer_killed_mid_save_leaves_the_store_whole(tmp_path: Path) -> None:
    import os
    import signal
    import time

    ScenarioStore(tmp_path).save_version("并发", [ADD], workspace="tiny", author="王")
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_save_many, args=(str(tmp_path), "被杀", 10_000))
    p.start()
    deadline = time.monotonic() + 60
    while len(ScenarioStore(tmp_path).history("并发")) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.pid is not None
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    store = ScenarioStore(tmp_path)
    versions = [v.version for v in store.history("并发")]
    assert versions == list(range(1, len(versions) + 1))
    assert store.load("并发", 1).edits == [ADD]
    assert store.save_version("并发", [], workspace="tiny", author="王") == versions[-1] + 1
