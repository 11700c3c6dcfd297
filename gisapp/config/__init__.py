"""The workspace specification: layers, field mappings, demand groups, services and their standards.

- :mod:`gisapp.config.models`: the models (pydantic dataclasses: one definition for the types
  and their validation);
- :mod:`gisapp.config.kinds`: facility kinds and travel modes;
- :mod:`gisapp.config.parse`: a file's contents to a spec, every error a coded problem;
- :mod:`gisapp.config.spec`: all of the above under one name.

It reads no file: :mod:`gisapp.io.workspace_file` does.
"""
