"""Run the Examples sections of the engine's docstrings (the numpydoc examples are tests too)."""

from __future__ import annotations

import doctest
import importlib

import pytest

ENGINE_MODULES = ["coords", "crs", "decay", "access", "travel", "population", "urban", "analysis",
                  "i18n", "io", "workspace"]


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"gisapp.{name}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
