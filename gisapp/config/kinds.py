"""The fixed vocabularies of a workspace file: facility kinds and travel modes."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["FACILITY_KINDS", "MODES", "Mode"]

#: A travel mode of a standard.
Mode = Literal["walking", "bicycling", "motorized"]

#: Travel modes and their default speeds (km/h) when a standard gives none.
MODES: dict[str, float] = {"walking": 4.5, "bicycling": 12.0, "motorized": 30.0}

#: Facility kinds known to the app, with Chinese and English labels.
FACILITY_KINDS: dict[str, dict[str, str]] = {
    "hospital": {"zh": "医院", "en": "Hospital"},
    "township_health_centre": {"zh": "乡镇卫生院", "en": "Township health centre"},
    "community_health_centre": {"zh": "社区卫生服务中心", "en": "Community health centre"},
    "community_health_station": {"zh": "社区卫生服务站", "en": "Community health station"},
    "village_clinic": {"zh": "村卫生室", "en": "Village clinic"},
    "kindergarten": {"zh": "幼儿园", "en": "Kindergarten"},
    "primary_school": {"zh": "小学", "en": "Primary school"},
    "middle_school": {"zh": "初级中学", "en": "Middle school"},
    "elderly_care_station": {"zh": "社区养老服务站", "en": "Community elderly-care station"},
    "elderly_day_centre": {"zh": "老年人日间照料中心", "en": "Elderly day-care centre"},
    "nursing_home": {"zh": "养老院", "en": "Nursing home"},
    "childcare_centre": {"zh": "托育机构", "en": "Childcare centre"},
}

if set(get_args(Mode)) != set(MODES):  # pragma: no cover - a guard for whoever edits one of them
    msg = "gisapp.config.kinds: Mode and MODES name different travel modes"
    raise RuntimeError(msg)
