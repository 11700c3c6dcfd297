"""The workspace specification: its models, vocabularies and parser, under one name.

:mod:`gisapp.config.models` defines the models (types and validation in one definition),
:mod:`gisapp.config.kinds` the facility kinds and travel modes, :mod:`gisapp.config.parse`
turns a file's contents into a spec.  Reading the file is :mod:`gisapp.io.workspace_file`'s.
"""

from __future__ import annotations

from pathlib import Path

from gisapp.config.kinds import FACILITY_KINDS, MODES, Mode
from gisapp.config.models import (
    Consortia,
    DemandGroup,
    DistrictFields,
    FacilityFields,
    LayerSpec,
    Provenance,
    ServiceSpec,
    Standard,
    Text,
    Travel,
    WorkspaceInfo,
    WorkspaceSpec,
)
from gisapp.config.parse import check_workspace, parse_workspace

__all__ = [
    "FACILITY_KINDS",
    "MODES",
    "Consortia",
    "DemandGroup",
    "DistrictFields",
    "FacilityFields",
    "LayerSpec",
    "Mode",
    "Provenance",
    "ServiceSpec",
    "Standard",
    "Text",
    "Travel",
    "WorkspaceInfo",
    "WorkspaceSpec",
    "check_workspace",
    "default_workspace_path",
    "parse_workspace",
]


def default_workspace_path() -> Path:
    """Return the path of the embedded Panzhihua demo workspace (``layers/panzhihua.yaml``)."""
    return Path(__file__).resolve().parents[2] / "layers" / "panzhihua.yaml"
