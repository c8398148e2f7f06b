"""The transit planner: which TOI transits a site can observe over a span of nights.

:mod:`.sites` names the observatories, :mod:`.sky` places the stars, the Sun and the Moon (ERFA,
vectorised), :mod:`.ephemeris` lists the transits, :mod:`.nights` finds dusk and dawn,
:mod:`.observability` intersects the constraints, :mod:`.selection` reads the targets from the TOI
catalog, :mod:`.events` puts them together, :mod:`.page` pages the answer, :mod:`.planner` runs it
all, and :mod:`.chart` draws a night (:mod:`.chart_files` writes it into the sandbox).
"""
