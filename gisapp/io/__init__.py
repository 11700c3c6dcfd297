"""Every read and write of user files: layers, speed tables, scenarios and report outputs, written atomically.

Modules: :mod:`.layers` (read and validate the layers of a workspace), :mod:`.atomic` (atomic
writes of files and sets of files).  No other package of gisapp opens a file (a test checks).
"""

from __future__ import annotations

from gisapp.io import atomic as atomic
from gisapp.io import layers as layers
from gisapp.io.atomic import atomic_path as atomic_path
