"""公共服务人口地图 · Public-Service Population Map: population-weighted coverage of public services.

The engine: read a workspace (:mod:`gisapp.workspace`, :mod:`gisapp.io`), load it onto a metric
grid (:mod:`gisapp.model`), build sparse travel costs (:mod:`gisapp.travel`), and measure
coverage, access and gaps (:mod:`gisapp.analysis`, :mod:`gisapp.access`).  It never imports
streamlit.
"""

from __future__ import annotations

from . import access as access
from . import analysis as analysis
from . import coords as coords
from . import crs as crs
from . import decay as decay
from . import io as io
from . import model as model
from . import population as population
from . import travel as travel
from . import urban as urban
from . import workspace as workspace
from ._errors import GisAppError as GisAppError
from ._errors import WorkspaceError as WorkspaceError
from .model import load_workspace as load_workspace

__version__ = "0.1.0"
