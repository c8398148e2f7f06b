"""Which nearby stars are bright enough to cause a candidate's transit.

A star ``delta_mag`` fainter than the target, fully eclipsed, dims the blend by at most
``10 ** (-0.4 * delta_mag)``.  It can therefore mimic a transit of depth ``d`` only when
``delta_mag <= -2.5 * log10(d)``: this is the limit an SG1 observation must clear the star to
(TFOP's "nearby eclipsing binary" check), within the search radius of 2.5 arcmin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from exofop_mcp.site.records import NearbyTarget
from exofop_mcp.text_format import counted

#: TFOP checks stars within 2.5 arcmin of the target.
SEARCH_RADIUS_ARCSEC = 150.0
#: At most this many stars are listed in an answer (the brightest first); the count covers all.
MAX_LISTED = 25


def delta_mag_limit(depth_ppm: float | None) -> float | None:
    """The faintest magnitude difference that can still cause an event of ``depth_ppm`` (None when unknown)."""
    if depth_ppm is None or not math.isfinite(depth_ppm) or depth_ppm <= 0 or depth_ppm >= 1e6:
        return None
    return -2.5 * math.log10(depth_ppm * 1e-6)


class NearbyStar(BaseModel):
    """A star near the target, and whether it could cause a candidate's event."""

    tic_id: int | None
    separation_arcsec: float
    tess_mag: float | None = None
    delta_mag: float | None = Field(None, description="TESS magnitude of the star minus the target's")
    could_cause_event: bool = Field(
        description="within 2.5 arcmin and no fainter than the limit the shallowest candidate's depth allows"
    )
    could_cause: list[str] = Field(default_factory=list, description="the candidates (TOIs) it could mimic")


class NearbyScreen(BaseModel):
    """The nearby stars and the rule they were screened by."""

    rule: str
    delta_mag_limits: dict[str, float] = Field(
        default_factory=dict, description="per candidate, the largest delta_mag that can cause its event"
    )
    within_radius: int = Field(0, description="stars within 2.5 arcmin")
    could_cause_event: int = Field(0, description="how many of them could cause an event")
    stars: list[NearbyStar] = Field(default_factory=list, description="those that could, brightest first (bounded)")
    notes: list[str] = Field(default_factory=list)


def screen_nearby(
    rows: Iterable[NearbyTarget], target_tic: int, target_tmag: float | None, depths: Sequence[tuple[str, float | None]]
) -> NearbyScreen:
    """Screen a ``download_nearbytarget.php`` table against the candidates' depths (``(toi, depth_ppm)``)."""
    limits = {toi: limit for toi, depth in depths if (limit := delta_mag_limit(depth)) is not None}
    screen = NearbyScreen(
        rule=f"delta_mag <= -2.5 log10(depth) within {SEARCH_RADIUS_ARCSEC / 60:g} arcmin (TESS magnitudes)",
        delta_mag_limits={toi: round(limit, 2) for toi, limit in limits.items()},
    )
    flagged: list[NearbyStar] = []
    unknown_mag = 0
    for row in rows:
        sep = row.separation_arcsec
        if row.tic_id == target_tic or sep is None or not math.isfinite(sep) or sep <= 0 or sep > SEARCH_RADIUS_ARCSEC:
            continue
        screen.within_radius += 1
        tmag = row.tess_mag if row.tess_mag is not None and math.isfinite(row.tess_mag) else None
        delta = tmag - target_tmag if tmag is not None and target_tmag is not None else None
        if delta is None:
            unknown_mag += 1
            continue
        causes = sorted(toi for toi, limit in limits.items() if delta <= limit)
        if causes:
            flagged.append(
                NearbyStar(
                    tic_id=row.tic_id,
                    separation_arcsec=round(sep, 2),
                    tess_mag=round(tmag, 3) if tmag is not None else None,
                    delta_mag=round(delta, 3),
                    could_cause_event=True,
                    could_cause=causes,
                )
            )
    flagged.sort(key=lambda star: (star.delta_mag if star.delta_mag is not None else 99.0, star.separation_arcsec))
    screen.could_cause_event = len(flagged)
    screen.stars = flagged[:MAX_LISTED]
    if len(flagged) > MAX_LISTED:
        screen.notes.append(f"{len(flagged) - MAX_LISTED} more such stars are not listed (the brightest are).")
    if not limits:
        screen.notes.append("No candidate depth is known, so no star could be screened.")
    if target_tmag is None:
        screen.notes.append("The target's TESS magnitude is unknown, so no magnitude difference could be computed.")
    elif unknown_mag:
        screen.notes.append(f"{counted(unknown_mag, 'star')} within the radius without a TESS magnitude, not screened.")
    return screen
