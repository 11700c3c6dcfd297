"""Property-based fuzzing of the facility reader and the workspace reader (Hypothesis).

Any bytes, and valid files mutated (columns dropped, garbage cells, wrong types, broken YAML),
give either a result or a problem the user is shown (:class:`WorkspaceError` /
:class:`GisAppError`, or a :class:`Problem` appended by a reader), never another exception.
"""

from __future__ import annotations

import copy
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gisapp._errors import GisAppError, Problem, WorkspaceError
from gisapp.config.models import LayerSpec
from gisapp.io.layers import read_facilities
from gisapp.io.workspace_file import read_workspace
from gisapp.workspace import load_workspace
from tests.conftest import TINY

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FAC_FIELDS: dict[str, Any] = {"id": "id", "name": "name", "kind": "type", "lon": "lon", "lat": "lat",
                              "capacity": ["beds", "doctors", "seats"], "consortium": "consortium",
                              "is_lead": "lead"}
FACILITIES = pd.read_csv(TINY.parent / "facilities.csv", dtype=str, keep_default_na=False)
SPEC = yaml.safe_load((TINY).read_text(encoding="utf-8"))

#: cell values a user's table may hold
GARBAGE = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "NA", "inf", "-inf", "1e400", "-1", "0", "1,000", "十", "１２",
                     "102.0", "26.56", "true", "None", "null", "\"", "'", ";", "\t", "\\n", "=1+1", "#"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10**20, 10**20).map(str),
)


def _tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="gisapp-fuzz-"))


def _read(path: Path, fields: dict[str, Any] | None = None, crs: str | None = "WGS84") -> None:
    """Read facilities; assert the only outcomes are a frame or problems (never another exception)."""
    problems: list[Problem] = []
    notices: list[Problem] = []
    spec = LayerSpec(role="facilities", path=path, crs=crs, fields=dict(FAC_FIELDS if fields is None else fields))
    try:
        out = read_facilities(spec, problems, notices, {})
    except GisAppError:
        return
    if out is None:
        assert problems, "no facilities and no problem said why"
        return
    assert isinstance(out, gpd.GeoDataFrame)
    assert len(out) == len(out["facility_id"])
    for p in problems + notices:  # every problem renders in both languages
        assert p.render("zh") and p.render("en")


# ---- the facility reader ----------------------------------------------------------------------------
@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".txt", ".xlsx", ".geojson", ".gpkg", ".zip"]))
def test_any_bytes_as_facilities(data, suffix):
    d = _tmpdir()
    try:
        p = d / f"facilities{suffix}"
        p.write_bytes(data)
        _read(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@st.composite
def mutated_table(draw: st.DrawFn) -> pd.DataFrame:
    df = FACILITIES.copy()
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["drop", "cell", "column", "rows", "rename", "dup"]))
        if action == "drop" and len(df.columns) > 0:
            df = df.drop(columns=[draw(st.sampled_from(list(df.columns)))])
        elif action == "cell" and len(df) and len(df.columns):
            r, c = draw(st.integers(0, len(df) - 1)), draw(st.sampled_from(list(df.columns)))
            df.loc[df.index[r], c] = draw(GARBAGE)
        elif action == "column" and len(df.columns):
            c = draw(st.sampled_from(list(df.columns)))
            df[c] = [draw(GARBAGE) for _ in range(len(df))]
        elif action == "rows":
            df = df.iloc[: draw(st.integers(0, len(df)))]
        elif action == "rename" and len(df.columns):
            c = draw(st.sampled_from(list(df.columns)))
            df = df.rename(columns={c: draw(st.text(max_size=6))})
        elif action == "dup" and len(df):
            df = pd.concat([df, df.iloc[[draw(st.integers(0, len(df) - 1))]]])
    return df


@FUZZ
@given(df=mutated_table(), form=st.sampled_from(["utf-8", "gb18030", "xlsx", "truncated"]))
def test_mutated_facility_tables(df, form):
    d = _tmpdir()
    try:
        if form == "xlsx":
            from openpyxl.utils.exceptions import IllegalCharacterError

            p = d / "facilities.xlsx"
            try:
                df.to_excel(p, index=False)
            except IllegalCharacterError:  # a control character no workbook can hold: not a user's file
                assume(False)
        else:
            buf = io.StringIO()
            df.to_csv(buf, index=False)
            text = buf.getvalue()
            data = text.encode("utf-8") if form != "gb18030" else text.encode("gb18030", errors="replace")
            if form == "truncated":
                data = data[: len(data) * 2 // 3]
            p = d / "facilities.csv"
            p.write_bytes(data)
        _read(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


FIELD_VALUES = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=5),
                         st.sampled_from(["id", "name", "type", "lon", "lat", "beds"]),
                         st.lists(st.sampled_from(["beds", "doctors", "x", "id"]), max_size=3),
                         st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@FUZZ
@given(key=st.sampled_from(sorted(FAC_FIELDS)), value=FIELD_VALUES,
       crs=st.sampled_from(["WGS84", "GCJ02", "BD09", "CGCS2000", "EPSG:4326", "EPSG:4543", None]))
def test_wrong_field_mappings(key, value, crs):
    fields = dict(FAC_FIELDS)
    if value is None:
        fields.pop(key)
    else:
        fields[key] = value
    _read(TINY.parent / "facilities.csv", fields, crs)


# ---- the workspace reader ---------------------------------------------------------------------------
def _read_ws(path: Path, *, load: bool = False) -> None:
    try:
        spec = read_workspace(path)
        if load:
            load_workspace(spec)
    except WorkspaceError as exc:
        assert exc.problems or exc.title_code
        assert exc.text("zh") and exc.text("en")
    except GisAppError as exc:
        assert exc.text("zh") and exc.text("en")


@FUZZ
@given(data=st.binary(max_size=600))
def test_any_bytes_as_workspace(data):
    d = _tmpdir()
    try:
        p = d / "workspace.yaml"
        p.write_bytes(data)
        _read_ws(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)


YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
              st.text(max_size=8), st.sampled_from(["WGS84", "EPSG:4543", "auto", "walking", "population.tif"])),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_spec(draw: st.DrawFn) -> Any:
    raw = copy.deepcopy(SPEC)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(raw) if p]
        if not paths:
            break
        where = draw(st.sampled_from(paths))
        parent = raw
        for k in where[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(YAML_VALUES)
    return raw


@FUZZ
@given(raw=mutated_spec(), load=st.booleans())
def test_mutated_workspace_files(raw, load):
    d = _tmpdir()
    try:
        shutil.copytree(TINY.parent, d, dirs_exist_ok=True)
        p = d / "workspace.yaml"
        p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        _read_ws(p, load=load)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@FUZZ
@given(pos=st.floats(0, 1), junk=st.text(max_size=6), cut=st.booleans())
def test_broken_yaml_text(pos, junk, cut):
    text = TINY.read_text(encoding="utf-8")
    i = int(pos * len(text))
    broken = text[:i] + junk + ("" if cut else text[i:])
    d = _tmpdir()
    try:
        shutil.copytree(TINY.parent, d, dirs_exist_ok=True)
        p = d / "workspace.yaml"
        p.write_text(broken, encoding="utf-8", errors="surrogatepass")
        _read_ws(p, load=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_fuzz_catches_a_crash(monkeypatch):
    """The harness itself: an exception of another kind escapes it (so a crash would fail the fuzz tests)."""
    import gisapp.io.layers as layers

    monkeypatch.setattr(layers, "_to_bool", lambda s: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _read(TINY.parent / "facilities.csv")
