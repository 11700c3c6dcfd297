"""Every location model on a workspace (issue 11): the dispatcher, the workspace adapter, both travel modes.

The figures are checked against an independent computation: the model solved directly on a
cost matrix built here from :func:`gisapp.travel.terrain.terrain_cost` or
:func:`gisapp.travel.straight.straight_line_cost`, another model on the same matrix, or a full
recompute of the service after the suggestion is applied as scenario edits.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from gisapp._errors import GisAppError
from gisapp.metrics.service import run_service, standard_minutes
from gisapp.metrics.tables import summary
from gisapp.planning import models, scenario, suggest
from gisapp.planning.cover import coverage_sets
from gisapp.travel.straight import straight_line_cost
from gisapp.travel.terrain import terrain_cost

#: a reach that holds every pair of the tiny grid (1 km x 1 km), metres; minutes at 6 km/h
FAR_M = 2000.0
FAR_MIN = 20.0
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


# --------------------------------------------------------------------------- the dispatcher


def test_the_command_line_offers_every_model():
    from gisapp.cli import _MODELS

    assert _MODELS == models.MODELS


def test_solve_mclp_by_hand_with_an_existing_site():
    # rows 0, 1 within 1 of column 0 (existing); rows 2, 3 of column 1; row 3 of column 2
    cost = np.array([[0.0, 5.0, 9.0], [1.0, 5.0, 9.0], [5.0, 1.0, 9.0], [5.0, 0.0, 1.0]])
    r = models.solve("mclp", cost, [10.0, 10.0, 3.0, 4.0], threshold=1.0, p=1, fixed=[0], method="exact")
    assert r.opened.tolist() == [1] and r.closed.tolist() == []
    assert r.objective == 27.0  # 20 already covered + 7
    assert r.assignment.tolist() == [0, 0, 1, 1]
    assert r.proven and r.gap == 0.0 and r.method == "exact"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"model": "nope"}, "unknown_model"),
    ({"model": "mclp", "p": 1}, "model_needs"),
    ({"model": "mclp", "threshold": 1.0}, "model_needs"),
    ({"model": "mclp", "threshold": 1.0, "p": True}, "bad_model_count"),
    ({"model": "p_median", "p": -1}, "bad_model_count"),
    ({"model": "p_center", "p": 1.5}, "bad_model_count"),
    ({"model": "lscp", "threshold": 1.0, "method": "fast"}, "bad_model_method"),
])
def test_solve_refuses_what_a_model_cannot_run(kwargs, code):
    model = kwargs.pop("model")
    with pytest.raises(GisAppError) as ei:
        models.solve(model, np.ones((2, 2)), [1.0, 1.0], **kwargs)
    assert ei.value.code == code
    assert ei.value.text("zh") != ei.value.text("en")


def test_solve_p_median_equals_the_model_called_directly():
    from gisapp.planning.pmedian import p_median

    rng = np.random.default_rng(3)
    cost = rng.uniform(0, 10, (30, 8))
    w = rng.integers(1, 20, 30).astype(float)
    got = models.solve("p_median", cost, w, p=2, fixed=[0])
    want = p_median(cost, w, 2, fixed=[0])
    assert got.opened.tolist() == want.opened.tolist()
    assert got.objective == pytest.approx(want.objective, rel=1e-9)
    # fixed sites stay open: no better answer opens two sites when site 0 is counted free
    best = min(float((w * np.minimum.reduce([cost[:, 0], cost[:, a], cost[:, b]])).sum())
               for a in range(1, 8) for b in range(a + 1, 8))
    assert got.objective == pytest.approx(best, rel=1e-9)


# --------------------------------------------------------------------------- the workspace adapter


def test_mclp_through_the_adapter_keeps_todays_figures(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", k=2, candidates="grid", spacing_m=100, method="exact")
    assert s.model == "mclp" and s.travel == "straight_line" and s.unit == "m"
    assert s.baseline_covered == 1170.0 and s.total == 1990.0
    assert s.curve["people_covered"].tolist() == [1170.0, 1260.0, 1350.0]
    assert s.location is not None and s.location.objective == 1350.0 and s.optimal and s.gap == 0.0
    # the location result names matrix columns: existing facilities first, then candidates
    n_exist = int(run_service(tiny_ws, "clinic").facility_idx.size)
    ids = [f"C{c - n_exist + 1}" for c in s.location.opened]
    assert sorted(ids) == sorted(s.sites["candidate_id"])


def test_lscp_at_100_percent_covers_everyone_coverable_with_the_fewest_sites(tiny_ws):
    for svc in ("clinic", "school"):
        prob = suggest.siting_problem(tiny_ws, svc, spacing_m=100)
        coverable = np.asarray(coverage_sets(prob.cost, prob.threshold).sum(axis=1)).ravel() > 0
        s = suggest.suggest(tiny_ws, svc, model="lscp", target_share=100.0, spacing_m=100)
        assert s.covered_after == pytest.approx(float(prob.weights[coverable].sum()))
        assert s.optimal
        n = len(s.sites)
        assert n >= 1 and s.location is not None and s.location.objective == n
        # one site fewer cannot cover them all: the best maximal covering with n - 1 sites falls short
        fewer = suggest.suggest(tiny_ws, svc, model="mclp", k=n - 1, spacing_m=100, method="exact")
        assert fewer.optimal
        assert fewer.curve["people_covered"].iloc[-1] < s.covered_after


def test_p_median_gives_a_mean_trip_no_longer_than_maximal_covering(tiny_ws):
    mc = suggest.suggest(tiny_ws, "school", model="mclp", k=2, spacing_m=100, reach=FAR_M, method="exact")
    pm = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, reach=FAR_M)
    assert mc.unserved == 0.0 == pm.unserved
    assert pm.mean_trip <= mc.mean_trip + 1e-9
    assert pm.mean_trip == pytest.approx(118.777, abs=1e-3) and mc.mean_trip == pytest.approx(217.568, abs=1e-3)
    # the mean trip is the p-median objective over the people
    assert pm.location is not None
    assert pm.mean_trip == pytest.approx(pm.location.objective / pm.total, rel=1e-9)
    assert pm.optimal


def test_capacitated_p_median_keeps_every_site_within_its_capacity(tiny_ws):
    free = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, reach=FAR_M)
    capped = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, reach=FAR_M, capacity=40.0)
    assert capped.location is not None and capped.location.model == "p_median_capacitated"
    assert capped.location.flows is not None
    served = np.asarray(capped.location.flows.sum(axis=0)).ravel()
    assert served[0] <= 300.0 + 1e-9  # the existing school: 300 seats, one pupil each
    assert (capped.sites["people_served"] <= 40.0 + 1e-9).all()
    assert free.sites["people_served"].max() > 40.0  # the limit binds
    assert capped.unserved == pytest.approx(0.0, abs=1e-9)
    assert capped.mean_trip >= free.mean_trip - 1e-9


def test_people_beyond_reach_are_reported_unserved_not_left_without_an_answer(tiny_ws):
    # 300 m: some children are farther than that from the school and from any 2 new sites
    prob = suggest.siting_problem(tiny_ws, "school", spacing_m=100, reach=300.0)
    for model in ("p_median", "p_center"):
        s = suggest.suggest(tiny_ws, "school", model=model, k=2, spacing_m=100, reach=300.0)
        assert s.location is not None and s.location.status == "optimal" and len(s.sites) == 2
        open_cols = np.concatenate([np.flatnonzero(prob.fixed), s.location.opened])
        reached = np.diff(sp.csr_array(prob.cost.matrix[:, open_cols]).indptr) > 0
        assert s.unserved == pytest.approx(float(prob.weights[~reached].sum())) and s.unserved > 0
        assert (s.location.assignment < prob.cost.shape[1]).all()  # no column beyond the matrix
        assert ((s.location.assignment >= 0) == reached).all()
        assert s.longest_trip <= 300.0
        lines = suggest.summary_lines(s, "zh")
        if model == "p_median":
            assert f"另有 {s.unserved:,.0f} 人离所有站点都超出计算范围（300 米）" in lines[3]
        else:  # the longest trip lies beyond the matrix: the line says so instead of a trip
            assert lines[1].startswith(f"新增 2 个站点后，仍有 {s.unserved:,.0f} 人的路程超出计算范围（300 米）")


def test_p_center_gives_the_shortest_longest_trip(tiny_ws):
    pc = suggest.suggest(tiny_ws, "school", model="p_center", k=2, spacing_m=100, reach=FAR_M)
    pm = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, reach=FAR_M)
    assert pc.longest_trip <= pm.longest_trip
    assert pc.longest_trip == pytest.approx(500.0, abs=1e-6) and pm.longest_trip > 500.0
    assert pc.location is not None and pc.location.objective == pytest.approx(pc.longest_trip)


def _direct(ws, service: str, spacing_m: float, travel: str, reach: float):
    """The cost matrix built here: demand rows x (existing facilities, candidates), minutes or metres."""
    res = run_service(ws, service, travel=travel)
    rows = np.flatnonzero(np.where(res.eligible, res.demand, 0.0) > 0)
    fac = ws.facilities.iloc[res.facility_idx]
    cand = suggest.candidate_sites(ws, "grid", spacing_m=spacing_m)
    x = np.concatenate([fac["x"].to_numpy(float), cand["x"].to_numpy(float)])
    y = np.concatenate([fac["y"].to_numpy(float), cand["y"].to_numpy(float)])
    svc = ws.spec.services[service]
    if travel == "terrain":
        cm = terrain_cost(ws, svc.standard.mode, x, y, max_minutes=reach)
        thr = standard_minutes(svc.standard)
    else:
        cm = straight_line_cost(ws.grid.cell_index, ws.grid.transform, x, y, cutoff_m=reach)
        thr = svc.standard.straight_line_m
    fixed = np.zeros(x.size, dtype=bool)
    fixed[:len(fac)] = True
    return sp.csr_array(cm.matrix[rows]), res.demand[rows], thr, fixed


@pytest.mark.parametrize("travel", ["terrain", "straight_line"])
@pytest.mark.parametrize(("model", "kwargs"), [
    ("mclp", {"k": 2}),
    ("lscp", {}),
    ("p_median", {"k": 2}),
    ("p_center", {"k": 2}),
    ("closures", {"k_close": 1}),
    ("mixed", {"k": 1, "k_close": 1}),
])
def test_the_suggestion_equals_the_model_on_the_travel_costs(tiny_ws, model, kwargs, travel):
    far = FAR_MIN if travel == "terrain" else FAR_M
    reach = None if model in ("mclp", "lscp", "closures", "mixed") else far
    s = suggest.suggest(tiny_ws, "school", model=model, spacing_m=100, travel=travel, reach=reach,
                        method="exact", **kwargs)
    assert s.travel == travel and s.unit == ("min" if travel == "terrain" else "m")
    std = tiny_ws.spec.services["school"].standard
    cost, w, thr, fixed = _direct(tiny_ws, "school", 100, travel,
                                  reach or (standard_minutes(std) if travel == "terrain" else std.straight_line_m))
    if model == "closures":
        cost, fixed = sp.csr_array(cost[:, :int(fixed.sum())]), fixed[:int(fixed.sum())]
    direct = models.solve(model, cost, w, threshold=thr, p=kwargs.get("k"), k_close=kwargs.get("k_close"),
                          fixed=fixed, method="exact")
    assert s.location is not None
    assert s.location.objective == pytest.approx(direct.objective, rel=1e-9)
    assert sorted(s.location.opened.tolist()) == sorted(direct.opened.tolist())
    assert sorted(s.location.closed.tolist()) == sorted(direct.closed.tolist())


def test_terrain_and_straight_line_give_different_answers(tiny_ws):
    ter = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, travel="terrain", reach=FAR_MIN)
    line = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, travel="straight_line",
                           reach=FAR_M)
    assert ter.unit == "min" and line.unit == "m"
    # walking at 6 km/h over the flat fixture: minutes = metres / 100 on a step, more on a diagonal path
    assert ter.mean_trip == pytest.approx(line.mean_trip / 100.0, rel=0.25)
    assert ter.mean_trip != pytest.approx(line.mean_trip)


def test_terrain_baseline_equals_run_service_in_terrain(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", k=1, spacing_m=100, travel="terrain")
    res = run_service(tiny_ws, "clinic", travel="terrain")
    assert s.baseline_covered == pytest.approx(summary(tiny_ws, res)["covered"])
    # the new site's promise holds in a full terrain recompute
    ws2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, suggest.to_edits(s, "village_clinic")))
    assert summary(ws2, run_service(ws2, "clinic", travel="terrain"))["covered"] == pytest.approx(s.covered_after)


@pytest.mark.parametrize("travel", ["straight_line", "terrain"])
def test_closures_lose_what_a_full_recompute_loses(tiny_ws, travel):
    s = suggest.suggest(tiny_ws, "clinic", model="closures", k_close=1, travel=travel)
    assert len(s.closed_names) == 1 and len(s.sites) == 0
    edits = suggest.to_edits(s, "village_clinic")
    assert [e.op for e in edits] == ["close"]
    ws2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, edits))
    before = summary(tiny_ws, run_service(tiny_ws, "clinic", travel=travel))["covered"]
    after = summary(ws2, run_service(ws2, "clinic", travel=travel))["covered"]
    assert before - after == pytest.approx(s.people_losing)
    # no other single closure loses fewer
    for fid in tiny_ws.facilities["facility_id"].iloc[run_service(tiny_ws, "clinic").facility_idx]:
        w3 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, [scenario.Edit("close", str(fid))]))
        assert before - summary(w3, run_service(w3, "clinic", travel=travel))["covered"] >= s.people_losing - 1e-9


def test_a_mixed_budget_delivers_its_coverage(tiny_ws):
    s = suggest.suggest(tiny_ws, "clinic", model="mixed", k=2, k_close=1, spacing_m=100)
    assert len(s.sites) <= 2 and len(s.closed_names) == 1
    ws2 = tiny_ws.with_facilities(scenario.apply_edits(tiny_ws, suggest.to_edits(s, "village_clinic")))
    assert summary(ws2, run_service(ws2, "clinic"))["covered"] == pytest.approx(s.covered_after)
    assert s.location is not None and s.location.objective == pytest.approx(s.covered_after)


def test_progress_is_reported_from_build_to_done(tiny_ws):
    seen: list[tuple[float, str]] = []
    suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, progress=lambda f, s: seen.append((f, s)))
    assert seen[0] == (0.0, "build") and seen[-1] == (1.0, "done")
    assert all(0.0 <= f <= 1.0 for f, _ in seen)
    assert {s for _, s in seen} <= {"build", "heuristic", "solve", "done"}


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"model": "p_median"}, "model_needs"),
    ({"model": "closures"}, "model_needs"),
    ({"model": "mixed", "k": 1}, "model_needs"),
    ({"model": "closures", "k_close": 0}, "bad_close_count"),
    ({"model": "closures", "k_close": 9}, "too_many_closures"),
    ({"model": "what"}, "unknown_model"),
    ({"model": "p_center", "k": 2, "travel": "teleport"}, "unknown_travel_mode"),
])
def test_adapter_errors_carry_codes(tiny_ws, kwargs, code):
    with pytest.raises(GisAppError) as ei:
        suggest.suggest(tiny_ws, "clinic", spacing_m=100, **kwargs)
    assert ei.value.code == code
    assert ei.value.text("zh") != ei.value.text("en")


def test_summary_lines_say_the_model_its_figure_and_whether_it_is_proven(tiny_ws):
    pm = suggest.suggest(tiny_ws, "school", model="p_median", k=2, spacing_m=100, reach=FAR_M)
    zh, en = suggest.summary_lines(pm, "zh"), suggest.summary_lines(pm, "en")
    assert zh[0].startswith("规划模型：平均路程最短") and "直线距离" in zh[0]
    assert "平均路程 119 米" in zh[1]
    assert zh[-1].startswith("已证明最优")
    assert not any(ENGLISH_WORD.search(line) for line in zh), zh
    assert en[0] == "Planning model: Shortest average trip (Straight line)"
    assert "the average trip is 119 m" in en[1] and en[-1].startswith("proven optimal")


def test_proof_text_reports_the_gap_of_an_unproven_answer():
    base = suggest.Suggestion("x", pd.DataFrame(), pd.DataFrame(), 0.0, 0.0, None)
    loc = models.solve("mclp", np.array([[0.0, 1.0], [1.0, 0.0]]), [1.0, 1.0], threshold=0.5, p=1)
    import dataclasses

    unproven = dataclasses.replace(loc, optimal=False, status="time_limit", gap=0.0123)
    s = dataclasses.replace(base, location=unproven)
    assert suggest.proof_text(s, "zh") == "未证明最优，与最优解的差距至多 1.23%"
    assert suggest.proof_text(s, "en") == "not proven optimal, at most 1.23% from the optimum"
    assert suggest.method_text(s.method, "zh").endswith("（达到时间上限）")
