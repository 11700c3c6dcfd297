"""Run the Examples sections of every engine module's docstrings (the numpydoc examples are tests too)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import gisapp

ENGINE_MODULES = sorted(m.name for m in pkgutil.walk_packages(gisapp.__path__, "gisapp.")
                        if not m.name.startswith("gisapp.ui") and m.name != "gisapp.__main__")


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0
    # a module whose source holds examples must really run them (a silent 0 hides broken collection)
    if ">>> " in inspect.getsource(mod):
        assert res.attempted > 0, f"{name} has examples but doctest ran none"


def test_every_engine_package_is_walked():
    packages = {n.split(".")[1] for n in ENGINE_MODULES}
    assert {"config", "grid", "io", "travel", "metrics", "planning", "reports", "i18n"} <= packages
