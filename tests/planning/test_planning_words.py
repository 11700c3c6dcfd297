"""Planning in the user's language: the kernels' argument errors, edits in words, suggested sites named by place,
the export tables (headers in the language, whole people)."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from gisapp._errors import GisAppError
from gisapp.i18n import t
from gisapp.planning import cover, mclp, scenario, suggest
from gisapp.planning.scenario import Edit
from gisapp.travel.cost import cost_matrix_from_pairs

CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?: +[A-Za-z][A-Za-z'-]*){2,}")
#: code a Chinese error may quote: `identifiers`, function names with their call, quoted values
CODE = re.compile(r"`[^`]*`|[\w.]+\([^)]*\)|'[^']*'")
COVER = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
W = np.array([5.0, 1.0, 4.0, 3.0])


def _chinese(text: str) -> bool:
    return bool(CJK.search(text)) and not ENGLISH_RUN.search(CODE.sub(" ", text))


@pytest.mark.parametrize("call", [
    lambda: mclp.mclp_exact(COVER.astype(float), W, 1),
    lambda: mclp.mclp_exact(sp.csc_array(COVER.astype(float)), W, 1),
    lambda: mclp.mclp_greedy(COVER, W, 0),
    lambda: mclp.mclp_greedy(COVER, W, 4),
    lambda: mclp.mclp_exact(COVER, W[:3], 1),
    lambda: mclp.mclp_exact(COVER, -W, 1, capacity=-1.0),
    lambda: mclp.mclp_greedy(COVER, W, 1, already_covered=np.zeros(4)),
    lambda: mclp.mclp_greedy(COVER, W, 1, capacity=np.ones(2)),
    lambda: mclp.mclp_greedy(COVER, W, 1, tabu_iter=-1),
    lambda: mclp.mclp_exact(COVER, W, 1, time_limit_s=0),
    lambda: mclp.mclp_exact(COVER, W, 1, mip_rel_gap=2.0),
    lambda: mclp.mclp_target(COVER, W, 1.5),
    lambda: mclp.suggest_sites(COVER, W, 1, method="fast"),  # type: ignore[arg-type]
    lambda: cover.candidate_grid([0.0], [0.0], [1.0], spacing_m=0.0),
    lambda: cover.candidate_grid([0.0, 1.0], [0.0], [1.0], spacing_m=100),
    lambda: cover.candidate_grid([0.0], [0.0], [1.0], spacing_m=100, at="middle"),  # type: ignore[arg-type]
    lambda: cover.coverage_sets(np.zeros((2, 2)), -1.0),
    lambda: cover.coverage_sets(np.zeros((2, 2)), [1.0, 2.0, 3.0]),
    lambda: cover.coverage_sets(np.zeros(2), 1.0),
    lambda: cover.coverage_sets(cost_matrix_from_pairs(np.array([0]), np.array([0]), np.array([1.0]), shape=(1, 1),
                                                       unit="m", cutoff=10), 20.0),
])
def test_kernel_argument_errors_have_codes_and_chinese_texts(call):
    with pytest.raises(GisAppError) as ei:
        call()
    err = ei.value
    assert err.code is not None
    zh, en = err.text("zh"), err.text("en")
    assert en == str(err) and not CJK.search(en)
    assert _chinese(zh), zh


def test_several_input_problems_are_listed_in_the_language_of_the_message():
    with pytest.raises(GisAppError) as ei:
        mclp.mclp_exact(COVER, -W, 1, capacity=-1.0)
    zh = ei.value.text("zh")
    assert "权重" in zh and "服务能力" in zh
    assert "`weights` must be finite" in str(ei.value) and "`capacity` must be non-negative" in str(ei.value)
    assert t("error.cover_beyond_cutoff", "zh", threshold=20, cutoff=10, unit="米").count("米") == 2


# ---- edits in words --------------------------------------------------------------------------------


def test_capacities_in_words():
    assert scenario.capacity_text({"seats": 1000}) == "学位 1,000 个"
    assert scenario.capacity_text({"beds": 120.0, "doctors": 2.5}, "zh") == "床位 120 张、医生 2.5 名"
    assert scenario.capacity_text({"beds": 120.0}, "en") == "120 beds"
    assert scenario.capacity_text({"nurses": 4}, "zh") == "nurses 4"  # a field of the workspace's own: its name
    assert "seats" not in scenario.capacity_text({"seats": 3}, "zh")


def test_comparison_workbook_in_chinese_has_no_english(tiny_ws):
    edits = {"扩建": [Edit("capacity", "C1", capacity={"doctors": 9.0}),
                    Edit("add", "N1", lon=101.7, lat=26.6, name="新卫生室", kind="village_clinic",
                         capacity={"doctors": 2.0})]}
    table = scenario.compare_scenarios(tiny_ws, "clinic", {"扩建": edits["扩建"][:1]})
    xl = scenario.comparison_workbook(table, edits, service="clinic", service_title="诊所")
    book = pd.read_excel(io.BytesIO(xl), sheet_name=None)
    rows = book[t("cmp.sheet.edits", "zh")]
    cap = t("col.edit_capacity", "zh")
    assert rows[cap].tolist() == ["医生 9 名", "医生 2 名"]
    assert rows[t("col.kind", "zh")].fillna("").tolist() == ["", "村卫生室"]
    assert rows[t("col.op", "zh")].tolist() == ["调整能力", "新增"]
    assert book[t("cmp.sheet.about", "zh")].iloc[0, 0] == "诊所"
    for sheet in book.values():
        for text in [*map(str, sheet.columns), *(str(v) for v in sheet.to_numpy().ravel())]:
            assert not ENGLISH_RUN.search(text) and not re.search(r"\b(doctors|seats|beds|baseline|covered)\b", text), text
    assert scenario.edit_text(edits["扩建"][1]) == "新增 N1 新卫生室 村卫生室 医生 2 名"


def test_a_missing_scenario_file_is_named_without_its_folder(tmp_path):
    with pytest.raises(GisAppError) as ei:
        scenario.load_scenario(tmp_path / "文件夹" / "甲.gpkg")
    assert ei.value.code == "scenario_missing"
    assert "甲.gpkg" in ei.value.text("zh") and str(tmp_path) not in ei.value.text("zh")
    bad = tmp_path / "乙.gpkg"
    bad.write_bytes(b"nope")
    with pytest.raises(GisAppError) as ei:
        scenario.load_scenario(bad)
    assert ei.value.code == "not_a_scenario" and str(tmp_path) not in ei.value.text("zh")
    assert _chinese(ei.value.text("zh"))


def test_method_text_has_no_english():
    for method in ("exact", "exact+capacity", "greedy", "greedy+swap", "greedy+swap+capacity",
                   "exact (time limit)", "greedy+capacity"):
        text = suggest.method_text(method, "zh")
        assert CJK.search(text) and not re.search(r"[A-Za-z]", text), text


# ---- suggested sites named by place ----------------------------------------------------------------


def test_sites_without_settlements_are_named_by_coordinates_and_the_suggestion_says_why(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", k=2, spacing_m=100, method="exact")
    assert s.named_by == "coordinates"
    assert all(re.fullmatch(r"东经 \d+\.\d{4}° 北纬 \d+\.\d{4}°", n) for n in s.sites["name"]), s.sites["name"].tolist()
    assert s.naming_note("zh") == t("sug.names_by_coordinates", "zh") and s.naming_note("en")
    en = suggest.suggest(tiny_ws, "clinic", k=2, spacing_m=100, method="exact", lang="en")
    assert all(n.endswith("°N") for n in en.sites["name"])
    assert s.sites["candidate_id"].str.fullmatch(r"C\d+").all()


def test_the_users_names_are_kept(tiny_ws):
    from tests.conftest import cell_lonlat

    pts = pd.DataFrame([dict(zip(["lon", "lat"], cell_lonlat(tiny_ws, 8, 1), strict=True)) | {"name": "角落"}])
    s = suggest.suggest(tiny_ws, "clinic", k=1, candidates="points", candidate_points=pts)
    assert s.named_by == "user" and s.sites["name"].tolist() == ["角落"] and s.naming_note("zh") == ""


def test_sites_are_named_by_the_place_they_are_in(demo_ws):
    from gisapp.metrics.places import place_index, place_label

    idx = place_index(demo_ws)
    village = idx.places.iloc[10]
    x, y = float(village["x"]), float(village["y"])
    # two sites 50 m apart in the same village, one in another district's village
    other = idx.places[idx.places["district_id"] != village["district_id"]].iloc[0]
    xs = np.array([x + 50.0, x - 50.0, float(other["x"]) + 30.0])
    ys = np.array([y, y, float(other["y"])])
    names = suggest.site_names(demo_ws, xs, ys, "zh")
    label = place_label(demo_ws, xs[:1], ys[:1], "zh")[0]
    assert str(village["place"]) in label and str(village["district_name"]) in label
    assert names[:2] == [f"{label} 附近（1）", f"{label} 附近（2）"]
    assert names[2].endswith(" 附近") and str(other["place"]) in names[2]
    en = suggest.site_names(demo_ws, xs, ys, "en")
    assert en[0].startswith(f"near {village['place']}") and en[0].endswith("(1)")
    # a settlement that is itself the place is not "near" it
    own = suggest.site_names(demo_ws, np.array([x]), np.array([y]), "zh", own=[str(village["place"])])
    assert own == [label]


def test_suggestion_on_the_demo_names_sites_by_place_and_exports_whole_people(demo_ws):
    s = suggest.suggest(demo_ws, "kindergarten", k=5, method="greedy")
    assert s.named_by == "place" and s.naming_note("zh") == ""
    assert not s.sites["name"].str.fullmatch(r"[GC]\d+").any()
    assert s.sites["name"].str.contains(" · ").all()
    sites = suggest.sites_export(s, "zh")
    curve = suggest.curve_export(s, "zh")
    added = sites[t("col.plan_people_added", "zh")].to_numpy()
    covered = curve[t("col.plan_people_covered", "zh")].to_numpy()
    assert added.dtype.kind == "i" and covered.dtype.kind == "i"
    assert covered[0] + added.sum() == covered[-1] == sites[t("col.plan_people_covered", "zh")].iloc[-1]
    assert covered[-1] == round(float(s.curve["people_covered"].iloc[-1]))
    assert np.abs(added - s.sites["people_added"].to_numpy()).max() < 1.0
    for head in [*sites.columns, *curve.columns]:
        assert CJK.search(head) and not ENGLISH_RUN.search(head), head
    assert list(suggest.sites_export(s, "en").columns)[2] == t("col.plan_site", "en")
