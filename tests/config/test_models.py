"""The workspace models: frozen, hashable where hashed, a round trip through plain data."""

from __future__ import annotations

import dataclasses
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
            "title": dataclasses.asdict(svc.titles), "source": svc.source}
    assert back == raw
