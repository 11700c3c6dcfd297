"""The engine never imports streamlit."""

from __future__ import annotations

import subprocess
import sys


def test_engine_does_not_import_streamlit():
    code = ("import sys, gisapp, gisapp.analysis, gisapp.cli, gisapp.model\n"
            "import importlib, pkgutil\n"
            "for m in pkgutil.iter_modules(gisapp.__path__):\n"
            "    if m.name != 'ui': importlib.import_module('gisapp.' + m.name)\n"
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
