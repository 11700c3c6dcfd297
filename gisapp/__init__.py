"""公共服务人口地图 · Public-Service Population Map: population-weighted coverage of public services.

The engine, layer by layer (each imports only the layers above it in this list):

- :mod:`gisapp.i18n` and :mod:`gisapp._errors`: texts per language, problems with codes;
- :mod:`gisapp.config`: the workspace specification (layers, fields, services, standards);
- :mod:`gisapp.grid`: CRS choice, coordinate conversion, the population grid, town/country;
- :mod:`gisapp.io`: every read and write of user files;
- :mod:`gisapp.workspace`: a loaded workspace (layers validated and projected to the grid);
- :mod:`gisapp.travel`: the sparse cells x facilities cost matrix and its backends;
- :mod:`gisapp.metrics`: running a service, coverage, access, capacity, gaps, tables;
- :mod:`gisapp.planning`: scenarios, their comparison, suggested sites;
- :mod:`gisapp.maps` and :mod:`gisapp.reports`: folium maps and report writers;
- :mod:`gisapp.cli`: ``python -m gisapp``.

It never imports streamlit; :mod:`gisapp.ui` is the Streamlit face on top.
"""

from __future__ import annotations

from gisapp import config as config
from gisapp import grid as grid
from gisapp import i18n as i18n
from gisapp import io as io
from gisapp import metrics as metrics
from gisapp import travel as travel
from gisapp import workspace as workspace
from gisapp._errors import GisAppError as GisAppError
from gisapp._errors import WorkspaceError as WorkspaceError
from gisapp.workspace import load_workspace as load_workspace

__version__ = "0.1.0"
