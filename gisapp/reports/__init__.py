"""Coverage reports: the report data, then one writer per format (HTML, XLSX, GeoPackage, PDF) and its charts.

Imports flow one way, each module reading only those before it:

- :mod:`.data`: :func:`~.data.collect` computes every service once into a
  :class:`~.data.ReportData`; the language-aware :class:`~.data.Table` builders;
- :mod:`.charts`: the PNG figures of the HTML and PDF pages;
- :mod:`.html` (jinja2 templates in ``templates/``, autoescaped), :mod:`.xlsx`, :mod:`.gpkg`,
  :mod:`.pdf`: one writer per format, each building its file in memory;
- :mod:`.write`: :func:`~.write.write_report` computes once and writes the chosen files as one
  atomic set through :mod:`gisapp.io.atomic`.
"""
