"""Medical and education consortia: members with their lead, travel to the lead, people served."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gisapp.config.spec import Standard
from gisapp.travel.straight import nearest_straight_line
from gisapp.workspace import EDUCATION_KINDS, HEALTH_KINDS, Workspace

__all__ = ["consortia_members", "consortia_summary"]


def _sector_kinds(sector: str) -> tuple[str, ...]:
    return HEALTH_KINDS if sector == "health" else EDUCATION_KINDS


def consortia_members(ws: Workspace) -> pd.DataFrame:
    """Return every consortium member with its lead and member-to-lead distance and time.

    Columns: ``consortium_id, sector, facility_id, name, kind, district_id, is_lead,
    lead_id, lead_name, distance_m`` (straight line), ``travel_min`` (by the workspace's
    referral standard: distance x circuity / speed), ``beyond_referral`` (bool).
    """
    f = ws.facilities
    c = f[f["consortium_id"].astype(str) != ""].copy()
    if c.empty:
        return pd.DataFrame(columns=["consortium_id", "sector", "facility_id", "name", "kind", "district_id",
                                     "is_lead", "lead_id", "lead_name", "distance_m", "travel_min", "beyond_referral"])
    leads = c[c["is_lead"]].drop_duplicates("consortium_id").set_index("consortium_id")
    c["sector"] = np.where(c["kind"].isin(HEALTH_KINDS), "health", "education")
    c["lead_id"] = c["consortium_id"].map(leads["facility_id"]).fillna("")
    c["lead_name"] = c["consortium_id"].map(leads["name"]).fillna("")
    lx = c["consortium_id"].map(leads["x"]).to_numpy(float)
    ly = c["consortium_id"].map(leads["y"]).to_numpy(float)
    c["distance_m"] = np.hypot(c["x"].to_numpy(float) - lx, c["y"].to_numpy(float) - ly)
    ref = ws.spec.referral_standard or Standard(time_min=60, mode="motorized", speed_kph=40, circuity=1.4)
    speed = ref.speed
    c["travel_min"] = c["distance_m"] * ref.circuity / (speed * 1000.0 / 60.0)
    limit = ref.time_min if ref.time_min is not None else (ref.distance_m or np.inf) * ref.circuity / (speed * 1000 / 60)
    c["beyond_referral"] = c["travel_min"] > limit
    cols = ["consortium_id", "sector", "facility_id", "name", "kind", "district_id", "is_lead",
            "lead_id", "lead_name", "distance_m", "travel_min", "beyond_referral"]
    out: pd.DataFrame = c[cols].sort_values(["sector", "consortium_id", "is_lead", "distance_m"],
                                            ascending=[False, True, False, True]).reset_index(drop=True)
    return out


def consortia_summary(ws: Workspace) -> pd.DataFrame:
    """Return one row per consortium: lead, members, max/mean member-to-lead time, people served.

    ``population_served`` counts the people whose nearest consortium facility of the same
    sector (straight line) belongs to this consortium.
    """
    m = consortia_members(ws)
    cols = ["consortium_id", "sector", "lead_name", "members", "mean_travel_min", "max_travel_min",
            "beyond_referral", "population_served"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    agg = m.groupby("consortium_id").agg(sector=("sector", "first"), lead_name=("lead_name", "first"),
                                         members=("facility_id", "size"), mean_travel_min=("travel_min", "mean"),
                                         max_travel_min=("travel_min", "max"), beyond_referral=("beyond_referral", "sum"))
    served = pd.Series(0.0, index=agg.index)
    f = ws.facilities
    for sector in ("health", "education"):
        sel = f[(f["consortium_id"].astype(str) != "") & f["kind"].isin(_sector_kinds(sector))]
        if sel.empty:
            continue
        _, j = nearest_straight_line(ws.grid.x, ws.grid.y, sel["x"].to_numpy(float), sel["y"].to_numpy(float))
        cid = sel["consortium_id"].to_numpy()[j]
        s = pd.Series(ws.grid.pop).groupby(cid).sum()
        served = served.add(s.reindex(served.index).fillna(0.0), fill_value=0.0)
    agg["population_served"] = served
    return agg.reset_index()[cols]
