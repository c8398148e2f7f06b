"""What a candidate still lacks, as plain facts derived from what ExoFOP holds, each with its rule.

No opinion the data cannot support: every fact names the rule that produced it, so a reader can
check it against the tables (and disagree with the rule, not with a hidden judgement).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from exofop_mcp.followup.coverage import PlanetCoverage
from exofop_mcp.followup.filter_bands import RULE as BAND_RULE
from exofop_mcp.followup.nearby_stars import NearbyScreen
from exofop_mcp.text_format import counted

#: Image types of ExoFOP's imaging table that count as high-resolution imaging.
HIGH_RESOLUTION_TYPES = ("ao", "speckle", "lucky", "aperture masking", "interferometry")
HIGH_RESOLUTION_WORDS = "AO, speckle, lucky imaging, aperture masking or interferometry"


def is_high_resolution(image_type: str | None) -> bool:
    """Whether an imaging row's Image Type is high-resolution imaging (the kind that resolves companions)."""
    return any(word in (image_type or "").lower() for word in HIGH_RESOLUTION_TYPES)


class MissingFact(BaseModel):
    fact: str = Field(description="what is missing, e.g. 'no spectroscopy yet'")
    rule: str = Field(description="the rule that found it, over which table")
    toi: str | None = Field(None, description="the planet candidate it concerns (null: the whole system)")


def missing_facts(
    candidates: list[str],
    coverage: list[PlanetCoverage],
    spectroscopy_count: int,
    imaging_types: list[str],
    nearby: NearbyScreen | None,
) -> list[MissingFact]:
    """The facts, system-wide first, then per candidate in TOI order."""
    facts: list[MissingFact] = []
    by_toi = {entry.toi: entry for entry in coverage}
    all_rows = sum(entry.light_curves for entry in coverage)
    if all_rows == 0:
        facts.append(MissingFact(fact="no time-series observation yet", rule="the time-series table has no row"))
    if spectroscopy_count == 0:
        facts.append(MissingFact(fact="no spectroscopy yet", rule="the spectroscopy table has no row"))
    if not any(is_high_resolution(t) for t in imaging_types):
        facts.append(
            MissingFact(
                fact="no high-resolution imaging yet",
                rule=f"no row of the imaging table has an Image Type of {HIGH_RESOLUTION_WORDS}",
            )
        )
    if nearby is not None and nearby.could_cause_event:
        facts.append(
            MissingFact(
                fact=f"{counted(nearby.could_cause_event, 'nearby star')} bright enough to cause the event: an SG1 "
                "light curve must clear them (their own photometry shows no event of the needed depth)",
                rule=nearby.rule + "; whether a light curve already cleared them is in its observers' notes, not "
                "in ExoFOP's tables",
            )
        )
    for toi in candidates:
        entry = by_toi.get(toi)
        if entry is None or entry.light_curves == 0:
            if all_rows:
                facts.append(
                    MissingFact(
                        fact="no time-series observation of this candidate",
                        rule="no time-series row names it in its TOI column",
                        toi=toi,
                    )
                )
            continue
        if not entry.transits.get("full"):
            facts.append(
                MissingFact(fact="no full transit observed", rule="no row for it has Transit Coverage 'Full'", toi=toi)
            )
        if "red" not in entry.bands:
            facts.append(MissingFact(fact="no time-series observation in a red filter", rule=BAND_RULE, toi=toi))
        if "blue" not in entry.bands:
            facts.append(
                MissingFact(
                    fact="no time-series observation in a blue filter (chromaticity not yet checked)",
                    rule=BAND_RULE,
                    toi=toi,
                )
            )
    return facts
