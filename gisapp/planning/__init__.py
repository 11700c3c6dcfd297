"""Planning: scenarios, their comparison, and suggested sites (one module per siting model family).

Modules: :mod:`.scenario` (edits to the facilities, applied incrementally; saving, listing
and comparing scenarios, the store itself being :mod:`gisapp.io.scenarios`), :mod:`.cover`
(the covering problem every siting model shares: coverage sets, candidate grids, the result
type), :mod:`.mclp` (the maximal-covering models: exact, greedy, target share) and
:mod:`.suggest` (suggested sites on a workspace: candidates, the user's points, the solve).
"""
