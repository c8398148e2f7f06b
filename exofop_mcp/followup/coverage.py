"""What ExoFOP's time-series table says was covered: transits per planet candidate, by coverage and filter."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from exofop_mcp.followup.filter_bands import band_of
from exofop_mcp.site.records import TimeSeriesObservation

#: The coverage words of the table's ``Transit Coverage`` column, normalised.
_COVERAGE_WORDS = {
    "full": "full",
    "ingress": "ingress",
    "egress": "egress",
    "out of transit": "out_of_transit",
    "oot": "out_of_transit",
    "partial": "partial",
}
COVERAGE_ORDER = ("full", "ingress", "egress", "partial", "out_of_transit", "unknown")
_LABELS = {
    "full": ("full transit", "full transits"),
    "ingress": ("ingress only", "ingress only"),
    "egress": ("egress only", "egress only"),
    "partial": ("partial transit", "partial transits"),
    "out_of_transit": ("out-of-transit night", "out-of-transit nights"),
    "unknown": ("night of unstated coverage", "nights of unstated coverage"),
}


def coverage_of(cell: str | None) -> str:
    text = (cell or "").strip().lower()
    for word, name in _COVERAGE_WORDS.items():
        if text.startswith(word):
            return name
    return "unknown"


class PlanetCoverage(BaseModel):
    """The time series of one planet candidate (or of rows naming none)."""

    toi: str | None = Field(description="planet candidate, e.g. '1130.02' (null: rows that name no candidate)")
    light_curves: int = Field(description="rows of the table (one per filter and night)")
    transits: dict[str, int] = Field(
        default_factory=dict, description="nights observed, by coverage (full, ingress, egress, ...)"
    )
    filters: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="per coverage, how many light curves in each filter"
    )
    bands: list[str] = Field(default_factory=list, description="the filter bands observed (blue, middle, red)")
    latest_date: str | None = None
    summary: str = Field(description="e.g. '4 full transits: zs ×2, ip, gp; 1 ingress: Rc'")


def _planets_of(cell: str | None) -> list[str]:
    return re.findall(r"\d+\.\d{2}", cell or "") or [""]


def _filters_text(counts: Counter[str]) -> str:
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counts.most_common())


def summarise_coverage(rows: Iterable[TimeSeriesObservation]) -> list[PlanetCoverage]:
    """Per planet candidate: nights by coverage (a night = one date and telescope) and light curves by filter."""
    nights: dict[str, dict[str, set[tuple[str, str]]]] = {}
    filters: dict[str, dict[str, Counter[str]]] = {}
    count: Counter[str] = Counter()
    bands: dict[str, set[str]] = {}
    latest: dict[str, str] = {}
    for row in rows:
        coverage = coverage_of(row.transit_coverage)
        night = ((row.obs_date or "")[:10], (row.telescope or "").strip().lower())
        for planet in _planets_of(row.toi):
            count[planet] += 1
            nights.setdefault(planet, {}).setdefault(coverage, set()).add(night)
            name = (row.filter or "").strip() or "no filter given"
            filters.setdefault(planet, {}).setdefault(coverage, Counter())[name] += 1
            band = band_of(row.filter)
            if band != "unknown":
                bands.setdefault(planet, set()).add(band)
            if row.obs_date and row.obs_date[:10] > latest.get(planet, ""):
                latest[planet] = row.obs_date[:10]
    result = []
    for planet in sorted(count, key=lambda p: (p == "", p)):
        by_coverage = nights[planet]
        parts = []
        for coverage in COVERAGE_ORDER:
            if coverage not in by_coverage:
                continue
            n = len(by_coverage[coverage])
            one, many = _LABELS[coverage]
            parts.append(f"{n} {one if n == 1 else many}: {_filters_text(filters[planet][coverage])}")
        result.append(
            PlanetCoverage(
                toi=planet or None,
                light_curves=count[planet],
                transits={c: len(by_coverage[c]) for c in COVERAGE_ORDER if c in by_coverage},
                filters={c: dict(filters[planet][c].most_common()) for c in COVERAGE_ORDER if c in filters[planet]},
                bands=sorted(bands.get(planet, set()), key=("blue", "middle", "red").index),
                latest_date=latest.get(planet),
                summary="; ".join(parts),
            )
        )
    return result
