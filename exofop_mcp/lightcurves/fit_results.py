"""What a transit fit says about one light curve, and what a system's fits say together.

Plain pydantic models (no numpy): they travel in the extraction report, the ECSV header and the
manifest's records, and a repeated extraction replays them without fitting again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FitStatus = Literal["fitted", "not_detected", "not_expected", "no_fit"]
Coverage = Literal["full", "ingress_only", "egress_only", "in_transit_only", "out_of_transit"]
Timing = Literal["on_time", "early", "late"]


class TransitFit(BaseModel):
    """A limb-darkened transit fitted to one light curve, against the TOI's ephemeris and TESS depth."""

    status: FitStatus = Field(
        description="fitted: a transit measured; not_detected: no transit where one was predicted; not_expected: "
        "the predicted transit (± 3 sigma) is outside the observation; no_fit: see reason"
    )
    verdict: str = Field(description="the result in an observer's words, e.g. 'on time (O−C −3 ± 2 min), depth 0.9×'")
    reason: str | None = Field(None, description="why there is no fit (status no_fit)")
    coverage: Coverage | None = Field(
        None, description="the observed part of the transit window: full, ingress_only, egress_only, ..."
    )
    timing: Timing | None = Field(None, description="on_time within 3 sigma of the prediction, else early or late")
    predicted_mid_bjd_tdb: float | None = None
    predicted_uncertainty_minutes: float | None = Field(None, description="of the ephemeris, propagated to this epoch")
    mid_bjd_tdb: float | None = Field(None, description="measured mid-transit")
    mid_uncertainty_minutes: float | None = None
    o_minus_c_minutes: float | None = Field(None, description="measured minus predicted mid-transit")
    o_minus_c_sigma: float | None = Field(None, description="O−C over the combined uncertainty of both")
    depth_ppm: float | None = Field(None, description="depth at mid-transit in this band")
    depth_uncertainty_ppm: float | None = None
    tess_depth_ppm: float | None = Field(None, description="the TOI catalog's depth")
    depth_ratio_to_tess: float | None = None
    depth_ratio_uncertainty: float | None = None
    detection_sigma: float | None = Field(None, description="depth over its uncertainty")
    excluded_sigma: float | None = Field(
        None, description="when not detected: how many sigma a TESS-depth transit at the predicted time is excluded"
    )
    duration_hours: float | None = Field(None, description="first to fourth contact")
    duration_uncertainty_hours: float | None = None
    duration_fixed: bool | None = Field(None, description="true: held at the TOI's duration (partial coverage)")
    rms_per_cadence_ppm: float | None = Field(None, description="RMS of the residuals, one point")
    rms_per_10min_ppm: float | None = Field(None, description="RMS of the residuals binned to 10 minutes")
    baseline: list[str] = Field(default_factory=list, description="terms of the baseline fitted with the transit")
    minutes_outside: float | None = Field(
        None, description="when the predicted mid-transit is outside the data: minutes before (−) or after (+) them"
    )


class FilterDepths(BaseModel):
    """Depth ratios to TESS of the fitted transits in one band."""

    filter: str
    count: int
    ratios: list[float] = Field(description="each light curve's depth ratio to TESS")
    weighted_mean: float | None = Field(None, description="inverse-variance weighted mean of the ratios")
    uncertainty: float | None = None


class FitSummary(BaseModel):
    """A system's transit fits at a glance: what a TFOP working group reader looks for first."""

    fitted: int = Field(0, description="light curves with a measured transit")
    on_time: int = 0
    early: int = 0
    late: int = 0
    not_detected: int = Field(0, description="no transit where one was predicted")
    not_expected: int = Field(0, description="the prediction (± 3 sigma) falls outside the observation")
    no_fit: int = 0
    depth_by_filter: list[FilterDepths] = Field(default_factory=list)
    text: str = Field("", description="the summary in one or two sentences")
