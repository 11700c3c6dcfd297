"""Every read and write of user files: layers, tables, scenarios, uploads and report outputs.

No other package of gisapp opens, lists or writes a file (``tests/io/test_only_io_touches_files.py``
checks the source).  Modules:

- :mod:`.workspace_file`: read a workspace YAML file and check that the files it names exist;
- :mod:`.layers`: read and validate each layer (population raster, districts, facilities, roads,
  class rasters, points), reporting :class:`~gisapp._errors.Problem` objects;
- :mod:`.tables`: configuration tables (speed tables) from CSV or XLSX;
- :mod:`.points`: a user's table of candidate sites;
- :mod:`.scenarios`: the scenario store (GeoPackages with their edits) and the comparison workbook;
- :mod:`.uploads`: files that cross the browser (uploads kept per content hash, downloads);
- :mod:`.assets`: the vendored Leaflet/d3 files and the fonts of the charts and the PDF;
- :mod:`.atomic`: atomic writes of one file or of a set of files (all or nothing).
"""

from __future__ import annotations

from gisapp.io import atomic as atomic
from gisapp.io import layers as layers
from gisapp.io.atomic import atomic_path as atomic_path
