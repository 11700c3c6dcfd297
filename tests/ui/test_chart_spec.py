"""A chart kept as its Vega-Lite spec (gisapp.ui.frame.vega_spec) is drawn as st.altair_chart draws the chart."""

from __future__ import annotations

import json

import pyarrow as pa
from streamlit.testing.v1 import AppTest


def _script() -> None:
    import altair as alt
    import pandas as pd
    import streamlit as st

    from gisapp.ui import frame

    df = pd.DataFrame({"district_name": ["甲区", "乙区"], "people": [1200.5, 800.0], "what": ["覆盖", "未覆盖"]})
    bars = alt.Chart(df).mark_bar().encode(y=alt.Y("district_name:N", sort=None), x="people:Q",
                                           color=alt.Color("what:N", title=None)).properties(height=260)
    rule = alt.Chart(pd.DataFrame({"cost": [3.0]})).mark_rule(color="#d73027").encode(x="cost:Q")
    for chart in (bars, bars + rule):
        st.altair_chart(chart, width="stretch")
        frame.show_spec(frame.vega_spec(chart))


def _table(data: bytes) -> dict[str, list[object]]:
    t = pa.ipc.open_stream(data).read_all()
    return {c: t.column(c).to_pylist() for c in t.column_names if not c.startswith("__index")}


def _drawn(el: object) -> tuple[dict, list[dict[str, list[object]]]]:
    proto = el.proto  # type: ignore[attr-defined]
    spec = json.loads(proto.spec)
    names = {d.name: i for i, d in enumerate(proto.datasets)}
    text = json.dumps(spec, sort_keys=True)
    for name, i in names.items():  # dataset names differ (object id / content hash): compare by position
        text = text.replace(name, f"dataset{i}")
    return json.loads(text), [_table(d.data.data) for d in proto.datasets]


def test_a_kept_spec_draws_the_same_chart_as_altair() -> None:
    at = AppTest.from_function(_script, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4
    for altair_el, kept_el in (charts[0:2], charts[2:4]):
        a, a_data = _drawn(altair_el)
        k, k_data = _drawn(kept_el)
        assert k == a
        assert k_data == a_data and all(k_data), "the same rows and values"
        assert "config" not in k or k["config"] == a.get("config")
