"""Run a service and measure it.

Modules: :mod:`.service` (run a service: nearest facility, coverage, 2SFCA access),
:mod:`.tables` (district and class tables, summary, cumulative curve), :mod:`.gaps` (gap
areas and polygons), :mod:`.capacity` and :mod:`.access` (capacity and access measures),
:mod:`.equity` (Gini, Palma) and :mod:`.consortia` (consortium members and summary).
"""
