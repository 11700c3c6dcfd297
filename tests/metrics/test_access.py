"""2SFCA, E2SFCA and G2SFCA: hand values, conservation, and parity with PySAL ``access``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gisapp.metrics import access as gacc
from gisapp.travel import decay as decay
from gisapp.travel.cost import cost_matrix_from_pairs

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from access import Access
    from access import weights as pweights


def cm_from_long(df: pd.DataFrame, n_origin: int, n_dest: int, cutoff: float):
    return cost_matrix_from_pairs(df["origin"].to_numpy(), df["dest"].to_numpy(), df["cost"].to_numpy(float),
                                  shape=(n_origin, n_dest), unit="min", cutoff=cutoff)


def pysal(demand, supply, cost_df, method, **kw):
    dem = pd.DataFrame({"geoid": np.arange(len(demand)), "pop": demand})
    sup = pd.DataFrame({"geoid": np.arange(len(supply)), "cap": supply})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = Access(demand_df=dem, demand_index="geoid", demand_value="pop",
                   supply_df=sup, supply_index="geoid", supply_value="cap",
                   cost_df=cost_df, cost_origin="origin", cost_dest="dest", cost_name="cost")
        out = getattr(a, method)(name="x", **kw)
    return out.iloc[:, 0].reindex(np.arange(len(demand))).to_numpy(float)


def test_hand_computed_2sfca():
    # two cells (100 and 300 people) share one facility with 4 doctors: R = 4 / 400
    cm = cost_matrix_from_pairs(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([1.0, 2.0, 5.0]),
                                shape=(2, 2), unit="min", cutoff=10)
    a = gacc.two_sfca(cm, [100, 300], [4, 6])
    # facility 1 reaches only cell 1: R1 = 6 / 300; A0 = 0.01, A1 = 0.01 + 0.02
    np.testing.assert_allclose(a, [0.01, 0.03])


def test_empty_catchment_gives_zero_ratio_not_nan():
    cm = cost_matrix_from_pairs(np.array([0]), np.array([0]), np.array([1.0]), shape=(2, 2), unit="m", cutoff=5)
    r = gacc.supply_ratio(cm, [10, 10], [5, 7])
    assert r.tolist() == [0.5, 0.0]
    assert np.isfinite(gacc.two_sfca(cm, [10, 10], [5, 7])).all()


def test_large_catchment_equals_total_supply_over_demand():
    # pysal/access's own check: with everyone reaching everything, A = total supply / total demand
    rng = np.random.default_rng(0)
    n, m = 50, 7
    r, c = np.divmod(np.arange(n * m), m)
    cm = cost_matrix_from_pairs(r, c, rng.uniform(0, 10, n * m), shape=(n, m), unit="min", cutoff=1e9)
    d, s = rng.uniform(1, 100, n), rng.uniform(1, 10, m)
    np.testing.assert_allclose(gacc.two_sfca(cm, d, s), s.sum() / d.sum())


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 60), st.integers(1, 15), st.floats(0.05, 1.0), st.integers(0, 2**31 - 1),
       st.sampled_from(["2sfca", "e2sfca", "g2sfca"]))
def test_conservation(n, m, density, seed, method):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, m)) < density
    mask[rng.integers(0, n, m), np.arange(m)] = True  # every facility reaches some demand
    r, c = np.nonzero(mask)
    cost = rng.uniform(0, 30, r.size)
    cm = cost_matrix_from_pairs(r, c, cost, shape=(n, m), unit="min", cutoff=30)
    d = rng.uniform(1, 500, n)
    s = rng.uniform(0, 50, m)
    if method == "2sfca":
        a = gacc.two_sfca(cm, d, s)
    elif method == "e2sfca":
        a = gacc.e2sfca(cm, d, s)
    else:
        a = gacc.g2sfca(cm, d, s, sigma=10.0)
    assert float((d * a).sum()) == pytest.approx(float(s.sum()), rel=1e-9)


# ---- parity with PySAL access ---------------------------------------------------------------

def hospital_example_costs():
    """The cost scenarios of PySAL access's test_hospital_example (3 tracts)."""
    self_ = [(1, 1, 1), (2, 2, 1), (3, 3, 1)]
    return {
        "gridlock": self_ + [(1, 3, 40), (2, 3, 40), (3, 1, 40), (3, 2, 40)],
        "inbound": self_ + [(1, 3, 40), (2, 3, 40), (3, 1, 70), (3, 2, 70)],
        "uncongested": self_ + [(1, 3, 20), (2, 3, 20), (3, 1, 20), (3, 2, 20), (1, 2, 30), (2, 1, 30)],
    }


@pytest.mark.parametrize("scenario", ["gridlock", "inbound", "uncongested"])
@pytest.mark.parametrize("weight", ["none", "gravity", "gaussian", "step"])
def test_parity_pysal_hospital_example(scenario, weight):
    pop = np.array([100.0, 50.0, 10.0])
    doc = np.array([15.0, 20.0, 100.0])
    rows = hospital_example_costs()[scenario]
    df = pd.DataFrame(rows, columns=["origin", "dest", "cost"])
    df[["origin", "dest"]] -= 1
    fns = {"none": (None, None), "gravity": (pweights.gravity(scale=60, alpha=-1), decay.gravity(60, -1)),
           "gaussian": (pweights.gaussian(20), decay.gaussian(20)),
           "step": (pweights.step_fn({10: 1, 20: 0.68, 60: 0.22}), decay.step({10: 1, 20: 0.68, 60: 0.22}))}
    pfn, ofn = fns[weight]
    expect = pysal(pop, doc, df, "two_stage_fca", max_cost=60, weight_fn=pfn)
    got = gacc.weighted_two_sfca(cm_from_long(df, 3, 3, 60), pop, doc, weight=ofn, max_cost=60)
    np.testing.assert_allclose(got, np.nan_to_num(expect), rtol=1e-9, atol=0)


@pytest.mark.parametrize("seed", range(6))
def test_parity_pysal_random_sparse(seed):
    rng = np.random.default_rng(seed)
    n, m = 400, 30
    # random points; cost = euclidean distance in km, kept within 3 km (sparse)
    p = rng.uniform(0, 20, (n, 2))
    f = rng.uniform(0, 20, (m, 2))
    d = np.hypot(p[:, None, 0] - f[None, :, 0], p[:, None, 1] - f[None, :, 1])
    r, c = np.nonzero(d <= 3.0)
    df = pd.DataFrame({"origin": r, "dest": c, "cost": d[r, c]})
    # every facility must reach someone for PySAL to give finite values
    reach = np.bincount(c, minlength=m) > 0
    pop = rng.integers(1, 1000, n).astype(float)
    sup = np.where(reach, rng.integers(1, 50, m), 0).astype(float)
    cm = cm_from_long(df, n, m, 3.0)
    cases = [
        ("two_stage_fca", {"max_cost": 3.0}, gacc.two_sfca(cm, pop, sup, max_cost=3.0)),
        ("enhanced_two_stage_fca", {"max_cost": 3.0, "weight_fn": pweights.step_fn({1: 1, 2: 0.68, 3: 0.22})},
         gacc.e2sfca(cm, pop, sup, steps={1: 1, 2: 0.68, 3: 0.22}, max_cost=3.0)),
        ("two_stage_fca", {"max_cost": 3.0, "weight_fn": pweights.gaussian(1.5)},
         gacc.g2sfca(cm, pop, sup, sigma=1.5, max_cost=3.0)),
    ]
    for method, kw, ours in cases:
        expect = np.nan_to_num(pysal(pop, sup, df, method, **kw))
        nz = expect != 0
        np.testing.assert_allclose(ours[nz], expect[nz], rtol=1e-9)
        np.testing.assert_array_equal(ours[~nz], 0.0)


@pytest.mark.parametrize(("fn", "match"), [(lambda: decay.gaussian(0), "Sigma must be positive"),
                                           (lambda: decay.step({}), "at least one"),
                                           (lambda: decay.step({1: -1}), "non-negative"),
                                           (lambda: decay.gravity(0, -1), "Scale must be positive")])
def test_decay_factories_validate(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()
