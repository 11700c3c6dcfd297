"""Parsing a workspace file's contents (pure: no file is read by the code under test)."""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gisapp._errors import Problem, WorkspaceError
from gisapp.config.parse import check_workspace, parse_workspace
from gisapp.config.spec import FACILITY_KINDS, MODES, LayerSpec, Mode
from gisapp.i18n import CATALOGUES, t
from tests.conftest import DEMO, TINY

CJK = re.compile(r"[\u4e00-\u9fff]")
#: two English words in a row: a sentence left untranslated
ENGLISH = re.compile(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}")


def _raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def tiny() -> dict[str, Any]:
    return _raw(TINY)


def _problems(raw: dict[str, Any], path: Path = TINY) -> list[Problem]:
    spec, problems = check_workspace(raw, path)
    assert problems, "expected problems"
    with pytest.raises(WorkspaceError) as ei:
        parse_workspace(raw, path)
    assert ei.value.problems == problems
    return problems


# --- valid files --------------------------------------------------------------------------------

def test_demo_spec_parses():
    spec = parse_workspace(_raw(DEMO), DEMO)
    assert spec.name == "panzhihua" and spec.title("en") == "Panzhihua (demo workspace)"
    assert spec.analysis_crs == "EPSG:4543" and spec.resolution_m == 100.0
    assert list(spec.layers) == ["population", "districts", "facilities", "roads", "settlements"]
    assert spec.layers["districts"].path == DEMO.parent / "../data/panzhihua/districts.geojson"
    assert spec.layers["population"].options == {"unit": "people"}
    assert spec.layers["facilities"].fields["capacity"] == ["beds", "doctors", "seats", "care_beds", "places"]
    # issue 14: years of the facilities and the population per year, paths joined to the file's folder
    assert {k: spec.layers["facilities"].fields[k] for k in ("opened", "closed")} == {"opened": "opened",
                                                                                      "closed": "closed"}
    assert spec.layers["population"].years == {
        2020: DEMO.parent / "../data/panzhihua/population_100m.tif",
        2025: DEMO.parent / "../data/panzhihua/population_2025_100m.tif"}
    assert spec.services["childcare_places"].norm_group == "total"
    assert spec.services["childcare_places"].demand == "under3"
    assert spec.layers["roads"].role == "roads" and spec.layers["roads"].fields == {"class": "class"}
    assert {lay.provenance.status for lay in spec.layers.values()} == {"real", "synthetic"}
    assert list(spec.demand_groups)[0] == "total" and spec.demand_groups["preschool"].share == 0.034
    svc = spec.services["primary_school"]
    assert svc.name == "primary_school" and svc.kinds == ("primary_school",) and svc.demand == "primary_age"
    assert svc.standard.distance_m == 500 and svc.rural_standard is not None and svc.rural_standard.time_min == 30
    assert svc.title("zh").startswith("小学") and svc.sector == "education" and svc.capacity == "seats"
    assert spec.services["hospital_beds"].norm_per_1000 == 6.0
    assert spec.referral_standard is not None and spec.referral_standard.time_min == 60
    assert spec.travel["neighbours"] == 16 and spec.travel["speeds"]["walking"][1] == (5.0, "WALKING")


def test_implicit_parts_are_filled_in(tiny):
    spec = parse_workspace(tiny, Path("some/dir/ws.yaml"))
    assert spec.path == Path("some/dir/ws.yaml")
    assert spec.layers["population"].path == Path("some/dir/population.tif")
    assert spec.demand_groups["total"].en == "Residents" and spec.services["clinic"].demand == "total"
    assert spec.services["clinic_time"].title("zh") == "clinic_time"  # no title: its name
    assert spec.layers["population"].provenance.en == "test fixture"


def test_optional_layers_keep_their_extra_keys_as_options(tiny):
    tiny["layers"]["landcover"] = {"path": "lc.tif", "crs": "epsg:4543", "legend": {"1": "forest"}}
    tiny["layers"]["dem"] = {"source": "none yet"}
    spec = parse_workspace(tiny, TINY)
    assert spec.layers["landcover"].crs == "EPSG:4543"
    assert spec.layers["landcover"].options == {"legend": {"1": "forest"}}
    assert spec.layers["dem"].path == TINY.parent and spec.layers["dem"].options == {"source": "none yet"}


def test_coordinate_system_names_are_made_canonical(tiny):
    tiny["layers"]["facilities"]["crs"] = "gcj-02"
    assert parse_workspace(tiny, TINY).layers["facilities"].crs == "GCJ02"


# --- one kind of error each -------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(*path: str | int, value: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        d = raw
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return edit


def _del(*path: str) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        d = raw
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    return edit


CASES: list[tuple[str, Edit, str, str, dict[str, object]]] = [
    ("missing key", _del("services", "clinic", "standard"), "services.clinic.standard", "spec_missing_key",
     {"key": "standard"}),
    ("missing section", _del("workspace"), "workspace", "spec_missing_key", {"key": "workspace"}),
    ("missing layer", _del("layers", "districts"), "layers.districts", "spec_missing_key", {"key": "districts"}),
    ("missing field mapping", _del("layers", "facilities", "fields"), "layers.facilities.fields",
     "spec_missing_key", {"key": "fields"}),
    ("missing mapped field", _del("layers", "facilities", "fields", "kind"), "layers.facilities.fields.kind",
     "spec_missing_key", {"key": "kind"}),
    ("unknown key", _set("services", "school", "typo_key", value=1), "services.school.typo_key",
     "spec_unknown_key", {"key": "typo_key"}),
    ("key of another layer", _set("layers", "districts", "band", value=2), "layers.districts.band",
     "spec_unknown_key", {"key": "band"}),
    ("name filled in from the key", _set("services", "school", "name", value="x"), "services.school.name",
     "spec_unknown_key", {"key": "name"}),
    ("path of the file", _set("path", value="elsewhere.yaml"), "path", "spec_unknown_key", {"key": "path"}),
    ("wrong type: number", _set("services", "clinic", "standard", "distance_m", value="150 m"),
     "services.clinic.standard.distance_m", "spec_not_number", {"value": "150 m"}),
    ("wrong type: boolean is no number", _set("demand_groups", "children", "share", value=True),
     "demand_groups.children.share", "spec_not_number", {"value": "true"}),
    ("wrong type: integer", _set("layers", "population", "band", value=1.5), "layers.population.band",
     "spec_not_integer", {"value": "1.5"}),
    ("wrong type: text", _set("layers", "districts", "fields", "id", value=12), "layers.districts.fields.id",
     "spec_not_text", {"value": "12"}),
    ("wrong type: boolean", _set("services", "school", "urban_only", value="yes"), "services.school.urban_only",
     "spec_not_boolean", {"value": "yes"}),
    ("wrong type: list", _set("layers", "facilities", "fields", "capacity", value="beds"),
     "layers.facilities.fields.capacity", "spec_not_list", {"value": "beds"}),
    ("wrong type: mapping", _set("services", "clinic", "standard", value=150), "services.clinic.standard",
     "spec_not_mapping", {"value": "150"}),
    ("not positive", _set("services", "clinic", "standard", "distance_m", value=-5),
     "services.clinic.standard.distance_m", "spec_must_exceed", {"value": "-5", "limit": "0"}),
    ("below the minimum", _set("services", "clinic_time", "standard", "circuity", value=0.5),
     "services.clinic_time.standard.circuity", "spec_below_minimum", {"value": "0.5", "limit": "1"}),
    ("above the maximum", _set("demand_groups", "children", "share", value=2), "demand_groups.children.share",
     "spec_above_maximum", {"value": "2", "limit": "1"}),
    ("not an allowed value", _set("services", "clinic", "standard", "mode", value="flying"),
     "services.clinic.standard.mode", "spec_not_allowed",
     {"value": "flying", "allowed": "walking, bicycling, motorized"}),
    ("not an allowed number", _set("travel", "neighbours", value=9), "travel.neighbours", "spec_not_allowed",
     {"allowed": "8, 16"}),
    ("not an allowed key", _set("travel", "speeds", "flying", value={}), "travel.speeds.flying",
     "spec_not_allowed", {"value": "flying"}),
    ("provenance status", _set("layers", "districts", "provenance", "status", value="guessed"),
     "layers.districts.provenance.status", "spec_not_allowed", {"value": "guessed"}),
    ("empty list", _set("services", "school", "kinds", value=[]), "services.school.kinds", "spec_too_few",
     {"n": 0, "min": 1}),
    ("no service", _set("services", value={}), "services", "spec_too_few", {"n": 0, "min": 1}),
    ("half a pair", _set("travel", "speeds", "walking", "offroad", value=[6.0]), "travel.speeds.walking.offroad",
     "spec_too_few", {"n": 1, "min": 2}),
    ("too long a pair", _set("travel", "speeds", "walking", "offroad", value=[6.0, "WALKING", 1]),
     "travel.speeds.walking.offroad", "spec_too_many", {"max": 2}),
    ("bad name", _set("workspace", "name", value="攀枝花 demo"), "workspace.name", "spec_bad_name",
     {"value": "攀枝花 demo"}),
    ("bad speed class", _set("travel", "speeds", "walking", "roads", value=[5.0, "WALKING"]),
     "travel.speeds.walking.roads", "spec_bad_speed_class", {"value": "roads"}),
    ("two thresholds", _set("services", "clinic", "standard", "time_min", value=10), "services.clinic.standard",
     "spec_one_threshold", {}),
    ("no threshold", _set("consortia", "referral_standard", value={"mode": "walking"}),
     "consortia.referral_standard", "spec_one_threshold", {}),
    ("unknown crs", _set("layers", "districts", "crs", value="Mars2000"), "layers.districts.crs",
     "spec_unknown_crs", {"crs": "Mars2000"}),
    ("unknown facility kind", _set("services", "school", "kinds", value=["castle"]), "services.school.kinds",
     "spec_unknown_kind", {"kind": "castle"}),
    ("unknown demand group", _set("services", "school", "demand", value="aliens"), "services.school.demand",
     "spec_unknown_demand", {"group": "aliens", "known": "total, children"}),
    ("capacity not listed", _set("services", "school", "capacity", value="chairs"), "services.school.capacity",
     "spec_capacity_not_listed", {"capacity": "chairs"}),
    ("norm without capacity", _del("services", "clinic", "capacity"), "services.clinic.norm_per_1000",
     "spec_norm_needs_capacity", {}),
]


@pytest.mark.parametrize(("edit", "field", "code", "params"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_error_has_its_code_and_field(tiny, edit, field, code, params):
    edit(tiny)
    problems = _problems(tiny)
    assert [(p.field, p.code) for p in problems] == [(field, code)]
    assert params.items() <= problems[0].params.items()
    assert problems[0].file == str(TINY)


def test_english_texts_stay_close_to_the_old_ones(tiny):
    tiny["services"]["school"]["kinds"] = ["castle"]
    tiny["services"]["school"]["demand"] = "aliens"
    msg = str(_problems_error(tiny))
    assert "unknown facility kind 'castle'" in msg and "unknown demand group 'aliens'" in msg
    assert "Fix: use one of hospital, " in msg


def _problems_error(raw: dict[str, Any]) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as ei:
        parse_workspace(raw, TINY)
    return ei.value


def test_all_structural_problems_are_collected_in_one_error(tiny):
    raw = copy.deepcopy(tiny)
    raw["services"]["clinic"]["standard"] = {"distance_m": -5, "mode": "flying"}
    raw["services"]["school"]["typo_key"] = 1
    raw["layers"]["districts"]["crs"] = "Mars2000"
    raw["demand_groups"]["children"]["share"] = 2
    raw["travel"]["neighbours"] = 9
    del raw["layers"]["population"]
    err = _problems_error(raw)
    assert {p.field for p in err.problems} == {
        "services.clinic.standard.distance_m", "services.clinic.standard.mode", "services.school.typo_key",
        "layers.districts.crs", "demand_groups.children.share", "travel.neighbours", "layers.population"}
    assert str(err).startswith("7 problem(s) found in the workspace:")


def test_cross_section_problems_are_collected_in_one_error(tiny):
    tiny["services"]["school"]["kinds"] = ["castle", "fort"]
    tiny["services"]["school"]["demand"] = "aliens"
    tiny["services"]["clinic"]["capacity"] = "chairs"
    assert [p.code for p in _problems_error(tiny).problems] == [
        "spec_capacity_not_listed", "spec_unknown_kind", "spec_unknown_kind", "spec_unknown_demand"]


# --- texts --------------------------------------------------------------------------------------

def _all_problems(tiny: dict[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    for _, edit, *_ in CASES:
        raw = copy.deepcopy(tiny)
        edit(raw)
        out.extend(check_workspace(raw, TINY)[1])
    return out


def test_every_problem_reads_in_chinese_without_english_sentences(tiny):
    problems = _all_problems(tiny)
    assert len({p.code for p in problems}) >= 20
    for p in problems:
        for text in (p.text("zh"), p.fix_text("zh")):
            assert CJK.search(text), text
            # what the user wrote (keys, values, allowed values) may stay as written
            rest = text
            for v in sorted(map(str, p.params.values()), key=len, reverse=True):
                rest = rest.replace(v, "") if v else rest
            assert not ENGLISH.search(rest), text
        assert p.text("en") != f"problem.{p.code}" and p.fix_text("en") != f"problem.{p.code}.fix"


def test_config_codes_have_both_languages_with_the_same_placeholders():
    codes = {k for k in CATALOGUES["en"] if k.startswith("problem.spec_")}
    assert codes == {k for k in CATALOGUES["zh"] if k.startswith("problem.spec_")}
    for k in codes:
        names = [{f for _, f, _, _ in string.Formatter().parse(CATALOGUES[lang][k]) if f} for lang in ("en", "zh")]
        assert names[0] == names[1], k
        assert CJK.search(CATALOGUES["zh"][k]) and not CJK.search(CATALOGUES["en"][k]), k
    assert t("problem.spec_unknown_key", "zh", key="typo") == "无法识别的项“typo”。"


# --- the vocabularies ---------------------------------------------------------------------------

def test_modes_and_kinds():
    from typing import get_args

    assert set(get_args(Mode)) == set(MODES)
    assert all(set(labels) == {"zh", "en"} for labels in FACILITY_KINDS.values())


def test_python_built_layers_skip_the_file_rules():
    # an uploaded layer: its path is taken as it is and its field mapping is free
    lay = LayerSpec(role="facilities", path=Path("up/f.csv"), crs="WGS84", fields={"id": "id", "x": None})
    assert lay.path == Path("up/f.csv") and lay.fields == {"id": "id", "x": None}
    assert lay.provenance.status == "unknown"
