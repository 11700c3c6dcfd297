"""Faults: a process killed (SIGKILL) while saving a scenario or exporting a report.

Each test starts a real writer in a subprocess (``sys.executable -c``) and kills it with
``SIGKILL``, either at a chosen point (the child replaces ``os.replace`` or a GeoPackage write
by a version that prints ``PAUSED`` and sleeps; the parent kills it on that line: no hook in
the application code) or at random times while it writes in a loop.  Then it checks that the
previous files are intact (byte for byte, or at worst the new complete version), that the
scenario list shows no partial or temporary entry, and that the temporary files of the dead
writer are cleaned away.  The child must be reaped (``wait``) before checking: a zombie still
counts as a running writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL and process liveness checks are POSIX")

#: run first in every child: hooks that pause (print PAUSED, sleep) at a chosen point
PRELUDE = r"""
import json, os, sys, time
cfg = json.loads(sys.argv[1])

def pause(tag):
    print("PAUSED " + tag, flush=True)
    time.sleep(120)

_real_replace = os.replace
_replaces = [0]

def _replace(src, dst):  # counts the renames into the output folder only
    if os.path.dirname(os.path.abspath(dst)) != os.path.abspath(cfg["folder"]):
        return _real_replace(src, dst)
    _replaces[0] += 1
    if _replaces[0] == cfg.get("pause_before_replace"):
        pause("replace %d" % _replaces[0])
    return _real_replace(src, dst)

os.replace = _replace

if cfg.get("pause_between_layers"):
    import geopandas as gpd
    _real_to_file = gpd.GeoDataFrame.to_file

    def _to_file(self, path, *a, **kw):
        out = _real_to_file(self, path, *a, **kw)
        if kw.get("layer") == "scenario":  # the first layer is on disk, the edits are not
            pause("between layers")
        return out

    gpd.GeoDataFrame.to_file = _to_file
"""

#: a scenario saver: versions A and B of the scenario ``plan`` in turn (or once)
SCENARIO_CHILD = r"""
from gisapp.planning.scenario import Edit, Scenario, save_scenario

def version(tag, n):
    return Scenario(name="plan", notes=tag, edits=[
        Edit(op="add", facility_id=f"{tag}{i}", lon=101.7 + i * 1e-5, lat=26.5, name=f"新学校{i}",
             kind="primary", capacity={"seats": float(i)}) for i in range(n)])

versions = [version("A", cfg["n"]), version("B", cfg["n"] + 1)]
print("READY", flush=True)
k = 0
while True:
    save_scenario(cfg["folder"], versions[k % 2])
    k += 1
    if cfg.get("once"):
        break
print("DONE", flush=True)
"""

#: a report-like set of files (the file names of gisapp.reports.write), versions A and B in turn
SET_NAMES = ("report.html", "coverage.xlsx", "layers.gpkg", "report.pdf")
SET_CHILD = r"""
from gisapp.io.atomic import atomic_files
names = cfg["names"]
size = cfg["size"]
blobs = {tag: [(tag * 7 + n).encode() * (size // 8) for n in names] for tag in "AB"}
print("READY", flush=True)
k = cfg.get("start", 0)
while True:
    tag = "AB"[k % 2]
    with atomic_files(cfg["folder"]) as files:
        for name, blob in zip(names, blobs[tag]):
            files.add_bytes(name, blob)
            if cfg.get("pause_after_files") == names.index(name) + 1:
                pause("after %d files" % (names.index(name) + 1))
    k += 1
    if cfg.get("once"):
        break
print("DONE", flush=True)
"""

#: a real report export of the tiny workspace
REPORT_CHILD = r"""
from gisapp.reports.write import write_report
from gisapp.workspace import load_workspace
ws = load_workspace(cfg["workspace"])
print("READY", flush=True)
write_report(ws, cfg["folder"], progress=False, base_tiles=False, generated=cfg["generated"])
print("DONE", flush=True)
"""


def _kill(body: str, cfg: dict[str, object], log: Path, *, delay: float | None = None) -> str:
    """Run a child; kill it on its PAUSED line (``delay`` None) or ``delay`` s after READY.

    Returns the line it was killed on ("" for a timed kill); the child is reaped.
    """
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", PRELUDE + body, json.dumps(cfg)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline().strip() == "READY", log.read_text()
            if delay is None:
                line = proc.stdout.readline().strip()
                assert line.startswith("PAUSED"), f"child did not pause: {line!r}\n{log.read_text()}"
            else:
                time.sleep(delay)
                line = ""
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, f"child ended before the kill\n{log.read_text()}"
    return line


def _run(body: str, cfg: dict[str, object], log: Path) -> None:
    """Run a child to the end (no kill)."""
    with open(log, "w") as err:
        subprocess.run([sys.executable, "-c", PRELUDE + body, json.dumps({**cfg, "once": True})], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=err, check=True, timeout=300)


def _digest(folder: Path, names: tuple[str, ...]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---- scenarios ------------------------------------------------------------------------------
def _save_previous(folder: Path):
    from gisapp.planning.scenario import Edit, Scenario, load_scenario, save_scenario

    prev = Scenario(name="plan", notes="previous", edits=[
        Edit(op="add", facility_id="p1", lon=101.71, lat=26.55, name="旧方案学校", kind="primary",
             capacity={"seats": 900.0}),
        Edit(op="close", facility_id="S3")])
    path = save_scenario(folder, prev)
    return path, path.read_bytes(), load_scenario(path)


@pytest.mark.parametrize("hook", ["pause_between_layers", "pause_before_replace"])
def test_scenario_save_killed_mid_write_keeps_the_previous_file(tmp_path: Path, hook: str) -> None:
    """Killed with one layer of the new file written, or with the new file complete but not renamed."""
    from gisapp.planning.scenario import list_scenarios, load_scenario

    folder = tmp_path / "scenarios"
    path, before, prev = _save_previous(folder)
    cfg = {"folder": str(folder), "n": 5000, "once": True, hook: 1}
    _kill(SCENARIO_CHILD, cfg, tmp_path / "child.log")

    assert path.read_bytes() == before
    assert load_scenario(path) == prev  # the old scenario loads with its edits
    assert _hidden(folder), "the killed writer's temporary file should be there before listing"
    assert list_scenarios(folder) == {"plan": path}  # no partial or temporary entry
    assert _hidden(folder) == []  # ... and listing removed the dead writer's temporary file
    assert path.read_bytes() == before


def test_scenario_save_killed_at_random_times(tmp_path: Path) -> None:
    """A loop of saves of a large scenario killed at random moments: always one whole version."""
    from gisapp.planning.scenario import list_scenarios, load_scenario

    folder = tmp_path / "scenarios"
    path, _, prev = _save_previous(folder)
    rng = random.Random(13)
    seen, mid_write, attempt = set(), 0, 0
    while attempt < 3 or (not mid_write and attempt < 12):  # at least one kill in the middle of a save
        attempt += 1
        cfg = {"folder": str(folder), "n": 10_000}
        _kill(SCENARIO_CHILD, cfg, tmp_path / f"child{attempt}.log", delay=rng.uniform(0.05, 1.2))
        mid_write += bool(_hidden(folder))
        sc = load_scenario(path)  # never a partial file: it loads, as one of the versions
        if sc == prev:
            seen.add("previous")
        else:
            assert sc.notes in {"A", "B"}
            n = 10_000 + (sc.notes == "B")
            assert len(sc.edits) == n and sc.edits[-1].facility_id == f"{sc.notes}{n - 1}"
            seen.add(sc.notes)
        assert list(list_scenarios(folder)) == ["plan"]
        assert [p.name for p in folder.iterdir()] == ["plan.gpkg"]  # temporary files swept
    assert seen  # which versions were hit depends on the timing; each was whole
    assert mid_write, "no kill landed in the middle of a save"


# ---- report sets ----------------------------------------------------------------------------
def _set_digests(size: int) -> dict[str, dict[str, str]]:
    """The digests of versions A and B of the set written by :data:`SET_CHILD`."""
    return {tag: {n: hashlib.sha256((tag * 7 + n).encode() * (size // 8)).hexdigest() for n in SET_NAMES}
            for tag in "AB"}


@pytest.mark.parametrize(("where", "value", "renamed"), [
    ("pause_after_files", 2, 0),      # half the new files written
    ("pause_before_replace", 1, 0),   # all new files written, before the commit journal
    ("pause_before_replace", 2, 0),   # journal written, no file renamed yet
    ("pause_before_replace", 4, 2),   # two of the four files renamed
    ("pause_before_replace", 5, 3),   # three renamed
])
def test_report_set_killed_at_each_step(tmp_path: Path, where: str, value: int, renamed: int) -> None:
    """Each file is whole at every moment; the next write into the folder makes the set whole.

    Before the commit journal exists the previous set stays exactly as it was; once it exists
    (all new files complete), :func:`sweep` finishes the renames of the dead writer.
    """
    from gisapp.io.atomic import sweep

    folder = tmp_path / "out"
    size = 1 << 20
    versions = _set_digests(size)
    _run(SET_CHILD, {"folder": str(folder), "names": list(SET_NAMES), "size": size}, tmp_path / "prev.log")
    assert _digest(folder, SET_NAMES) == versions["A"]  # the previous set

    _kill(SET_CHILD, {"folder": str(folder), "names": list(SET_NAMES), "size": size, "once": True, "start": 1,
                      where: value}, tmp_path / "child.log")
    after_kill = _digest(folder, SET_NAMES)  # each file whole: the first ``renamed`` new, the rest old
    assert after_kill == {n: versions["B" if k < renamed else "A"][n] for k, n in enumerate(SET_NAMES)}
    assert _hidden(folder), "the killed writer leaves hidden temporary files (and perhaps a journal)"

    sweep(folder)  # what the next export into the folder does first
    journal_written = where == "pause_before_replace" and value >= 2
    assert _digest(folder, SET_NAMES) == versions["B" if journal_written else "A"]
    assert _hidden(folder) == []


def test_report_set_killed_at_random_times(tmp_path: Path) -> None:
    """A loop of set writes killed at random moments: every file whole, the set whole after the sweep."""
    from gisapp.io.atomic import atomic_files

    folder = tmp_path / "out"
    size = 3 << 20
    versions = _set_digests(size)
    _run(SET_CHILD, {"folder": str(folder), "names": list(SET_NAMES), "size": size}, tmp_path / "prev.log")
    rng = random.Random(6)
    mid_write, attempt = 0, 0
    while attempt < 3 or (not mid_write and attempt < 12):  # at least one kill in the middle of an export
        attempt += 1
        _kill(SET_CHILD, {"folder": str(folder), "names": list(SET_NAMES), "size": size, "start": attempt},
              tmp_path / f"child{attempt}.log", delay=rng.uniform(0.05, 1.0))
        mid_write += bool(_hidden(folder))
        got = _digest(folder, SET_NAMES)
        assert all(got[n] in {versions["A"][n], versions["B"][n]} for n in SET_NAMES)
        with atomic_files(folder):  # the next export (here writing nothing) completes or clears first
            pass
        got = _digest(folder, SET_NAMES)
        assert got in (versions["A"], versions["B"])
        assert _hidden(folder) == []
    assert mid_write, "no kill landed in the middle of an export"


def test_real_report_export_killed_mid_commit(tmp_path: Path) -> None:
    """write_report of the tiny workspace killed with two of its four files renamed."""
    import pyogrio
    from openpyxl import load_workbook

    from gisapp.io.atomic import sweep

    folder = tmp_path / "report"
    names = ("report.html", "coverage.xlsx", "layers.gpkg", "report.pdf")  # gisapp.reports.write.FILE_NAMES
    folder.mkdir()
    for n in names:  # the previous export (any content: it must survive byte for byte)
        (folder / n).write_bytes(f"previous {n}".encode())
    old = _digest(folder, names)

    cfg = {"folder": str(folder), "workspace": str(TINY), "generated": "2025-06-30T00:00:00",
           "pause_before_replace": 4}
    _kill(REPORT_CHILD, cfg, tmp_path / "child.log")
    got = _digest(folder, names)
    assert [got[n] == old[n] for n in names] == [False, False, True, True]  # html, xlsx new; gpkg, pdf old
    assert "2025-06-30" in (folder / "report.html").read_text(encoding="utf-8")
    load_workbook(folder / "coverage.xlsx").close()  # the new files are whole and readable

    sweep(folder)  # the next export into the folder does this first
    got = _digest(folder, names)
    assert all(got[n] != old[n] for n in names)  # the whole new set
    assert _hidden(folder) == []
    assert pyogrio.list_layers(folder / "layers.gpkg").size
    assert (folder / "report.pdf").read_bytes().rstrip().endswith(b"%%EOF")


def test_sweep_leaves_live_writers_alone(tmp_path: Path) -> None:
    """Temporary files and journals of a running writer, or of another machine, stay; a dead one's go."""
    from gisapp.io import atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid no longer runs
    live, host = os.getppid(), atomic._HOST  # noqa: SLF001
    files = {
        f".plan.~{dead.pid}-{host}~abcd1234.part.gpkg": False,          # dead writer: removed
        f".plan.~{dead.pid}-{host}~abcd1234.part.gpkg-journal": False,  # ... with SQLite's side file
        f".plan.~{live}-{host}~abcd1234.part.gpkg": True,               # running writer: kept
        f".plan.~{dead.pid}-ffffff~abcd1234.part.gpkg": True,           # another machine: kept (until old)
        ".plan.abcd1234.part.gpkg": True,                               # untagged: kept until old
        ".hidden_user_file": True, "plan.gpkg": True,                   # not ours: never touched
    }
    for name in files:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / f".gisapp-commit.~{live}-{host}~abcd1234.json").write_text(
        json.dumps([[f".plan.~{live}-{host}~abcd1234.part.gpkg", "plan.gpkg"]]))
    atomic.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [n for n, keep in files.items() if keep] + [f".gisapp-commit.~{live}-{host}~abcd1234.json"])
    old = time.time() - atomic.STALE_SECONDS - 60
    for name in files:
        if name.startswith(".plan") and (tmp_path / name).exists():
            os.utime(tmp_path / name, (old, old))
    atomic.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".hidden_user_file", "plan.gpkg", f".gisapp-commit.~{live}-{host}~abcd1234.json"])
