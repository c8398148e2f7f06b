"""Typed rows of ExoFOP's tables.

Each model maps one pipe table's columns (``validation_alias``) onto short
snake_case fields, which is what tools and the Python API return.  Numeric
fields are lenient: a cell that is not a number becomes ``None`` rather than
failing the whole table, because ExoFOP's tables are hand-curated.
"""

from __future__ import annotations

import math
import types
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, computed_field

from exofop_mcp.site.free_text import display_text, needs_decoding
from exofop_mcp.site.pipe_table import Row, read_pipe_table


def _lenient_number(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _lenient_int(value: Any) -> Any:
    number = _lenient_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


#: Largest tag number taken from a table (the same bound as download_tags' argument).
MAX_TAG = 10**9


def _tag_number(value: Any) -> Any:
    """A tag cell: a whole number from 1 to :data:`MAX_TAG`, else ``None`` (0, negative, text, absurdly long)."""
    number = _lenient_int(value)
    return number if isinstance(number, int) and 1 <= number <= MAX_TAG else None


def is_usable_tag_cell(value: Any) -> bool:
    """Whether a table's Tag cell holds a tag number (an empty cell is no tag, not an odd one)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    return _tag_number(value) is not None


def _text(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _free_text(value: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    return display_text(text) or None


def _raw_free_text(value: Any) -> Any:
    text = _text(value)
    return text if text is not None and needs_decoding(text) else None


Num = Annotated[float | None, BeforeValidator(_lenient_number)]
Int = Annotated[int | None, BeforeValidator(_lenient_int)]
TagNumber = Annotated[int | None, BeforeValidator(_tag_number)]
Text = Annotated[str | None, BeforeValidator(_text)]
#: Free text as a person reads it (HTML breaks and entities decoded, see :mod:`exofop_mcp.site.free_text`).
FreeText = Annotated[str | None, BeforeValidator(_free_text)]
#: The same cell exactly as the site holds it, kept only when it reads differently once decoded.
RawFreeText = Annotated[str | None, BeforeValidator(_raw_free_text)]


def col(column: str, description: str | None = None) -> Any:
    """A field read from the table column ``column``."""
    return Field(default=None, validation_alias=column, description=description or column)


def raw_col(column: str) -> Any:
    """The raw twin of a free-text field (absent when the text has nothing to decode)."""
    return Field(
        default=None,
        validation_alias=column,
        description=f"{column} exactly as ExoFOP holds it (HTML and all); only present when it differs",
    )


class TableRecord(BaseModel):
    """Base of every table row: built from a dict keyed by column names."""

    # Rows are read from ExoFOP's column names but published under their field names: the JSON
    # Schema must describe the published form, whatever mode the schema is asked for in.
    model_config = ConfigDict(
        populate_by_name=True, extra="ignore", frozen=True, json_schema_mode_override="serialization"
    )

    #: The page that serves this table, relative to ``/tess/``.
    page: ClassVar[str] = ""
    #: Columns whose absence means the page did not return this table.
    required_columns: ClassVar[tuple[str, ...]] = ()
    #: A column that spells a whole number in every row: a line whose cell there does not is the
    #: continuation of the row before it (free text with a raw newline); see ``pipe_table.RowStart``.
    key_column: ClassVar[str | None] = "TIC ID"
    #: Free-text columns: they may hold a literal ``|``, raw newlines and HTML.
    free_text_columns: ClassVar[tuple[str, ...]] = ("Notes",)

    @classmethod
    def columns(cls) -> set[str]:
        """Every column this record reads."""
        return {f.validation_alias for f in cls.model_fields.values() if isinstance(f.validation_alias, str)}

    @classmethod
    def text_columns(cls) -> set[str]:
        """Columns to keep verbatim as text (every ``str`` field's column)."""
        names = set()
        for field in cls.model_fields.values():
            if isinstance(field.validation_alias, str) and _is_text(field.annotation):
                names.add(field.validation_alias)
        return names


def read_record_table(text: str, record: type[TableRecord], *, only_its_columns: bool = False) -> list[Row]:
    """The rows of one record type's pipe table: its text columns kept as text, continuation lines of its
    free text joined to their rows, extra separators kept inside its free-text column."""
    return read_pipe_table(
        text,
        text_columns=record.text_columns(),
        columns=record.columns() if only_its_columns else None,
        key_column=record.key_column,
        free_text=record.free_text_columns,
    )


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return str in get_args(annotation)
    return False


class TimeSeriesObservation(TableRecord):
    """One row of ``download_tseries.php``: a ground-based light curve summary."""

    page: ClassVar[str] = "download_tseries.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "Telescope", "Obs Date", "Tag")
    kind: Literal["time_series"] = "time_series"
    tic_id: Int = col("TIC ID", "TIC id of the target star")
    toi: Text = col("TOI", "planet candidate observed, e.g. 'TOI 1130.02'")
    telescope: Text = col("Telescope")
    camera: Text = col("Camera")
    filter: Text = col("Filter")
    pixel_scale: Num = col("Pixel Scale", "arcsec/pixel")
    psf: Num = col("PSF", "PSF FWHM, arcsec")
    aperture_radius: Num = col("Phot Aperture Rad", "photometric aperture radius, arcsec")
    obs_date: Text = col("Obs Date", "observation date, YYYY-MM-DD")
    obs_duration: Num = col("Obs Duration", "minutes")
    num_obs: Int = col("Num Obs", "number of exposures")
    obs_type: Text = col("Obs Type")
    transit_coverage: Text = col("Transit Coverage")
    delta_mag: Num = col("Delta Mag")
    user: Text = col("User", "ExoFOP user who uploaded it")
    group: Text = col("Group")
    tag: TagNumber = col("Tag", "upload tag: pass to download_tags")
    notes: FreeText = col("Notes")
    notes_raw: RawFreeText = raw_col("Notes")


class SpectroscopyObservation(TableRecord):
    """One row of ``download_spect.php``: a reconnaissance or precise-RV spectrum summary."""

    page: ClassVar[str] = "download_spect.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "Telescope", "Obs Date", "Tag")
    kind: Literal["spectroscopy"] = "spectroscopy"
    tic_id: Int = col("TIC ID", "TIC id of the target star")
    toi: Text = col("TOI")
    telescope: Text = col("Telescope")
    instrument: Text = col("Instrument")
    spectral_resolution: Num = col("Spectral resolution")
    wavelength_coverage: Text = col("Wavelength coverage")
    snr_per_resolution: Num = col("SNR/resolution")
    snr_wavelength: Text = col("SNR wavelength")
    appropriate_to_prv: Text = col("Appropriate to PRV")
    obs_date: Text = col("Obs Date", "observation date, YYYY-MM-DD")
    user: Text = col("User")
    group: Text = col("Group")
    tag: TagNumber = col("Tag", "upload tag: pass to download_tags")
    notes: FreeText = col("Notes")
    notes_raw: RawFreeText = raw_col("Notes")


class ImagingObservation(TableRecord):
    """One row of ``download_imaging.php``: high-resolution or seeing-limited imaging."""

    page: ClassVar[str] = "download_imaging.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "Telescope", "Obs Date", "Tag")
    kind: Literal["imaging"] = "imaging"
    tic_id: Int = col("TIC ID", "TIC id of the target star")
    toi: Text = col("TOI")
    telescope: Text = col("Telescope")
    instrument: Text = col("Instrument")
    filter: Text = col("Filter")
    image_type: Text = col("Image Type")
    pixel_scale: Num = col("Pixel Scale")
    psf: Num = col("PSF")
    contrast: Text = col("Contrast")
    obs_date: Text = col("Obs Date", "observation date, YYYY-MM-DD")
    user: Text = col("User")
    group: Text = col("Group")
    tag: TagNumber = col("Tag", "upload tag: pass to download_tags")
    notes: FreeText = col("Notes")
    notes_raw: RawFreeText = raw_col("Notes")


class StellarCompanion(TableRecord):
    """One row of ``download_stellarcomp.php``: a companion star reported near the target."""

    page: ClassVar[str] = "download_stellarcomp.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "Separation (arcsec)")
    kind: Literal["stellar_companions"] = "stellar_companions"
    tic_id: Int = col("TIC ID")
    toi: Text = col("TOI")
    separation_arcsec: Num = col("Separation (arcsec)")
    separation_err: Num = col("Separation (arcsec) Error")
    position_angle_deg: Num = col("Pos Angle E of N (deg)")
    position_angle_err: Num = col("Pos Angle E of N (deg) Error")
    filter: Text = col("Filter")
    delta_mag: Num = col("Delta Mag")
    delta_mag_err: Num = col("Delta Mag Error")
    obs_date: Text = col("Observation Date (UT)")
    date: Text = col("Date", "date reported")
    user: Text = col("User")
    group: Text = col("Group")
    tag: TagNumber = col("Tag")
    notes: FreeText = col("Notes")
    notes_raw: RawFreeText = raw_col("Notes")


class NearbyTarget(TableRecord):
    """One row of ``download_nearbytarget.php``: a TIC star near the target."""

    page: ClassVar[str] = "download_nearbytarget.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "Separation (arcsec)")
    free_text_columns: ClassVar[tuple[str, ...]] = ()
    kind: Literal["nearby_targets"] = "nearby_targets"
    tic_id: Int = col("TIC ID", "TIC id of the nearby star")
    toi: Text = col("TOI")
    ra: Text = col("RA")
    dec: Text = col("Dec")
    tess_mag: Num = col("TESS Mag")
    gaia_dr2: Text = col("GAIA DR2")
    gaia_mag: Num = col("GAIA Mag")
    distance_pc: Num = col("Distance (pc)")
    distance_err_pc: Num = col("Distance Err (pc)")
    pm_ra: Num = col("PM RA (mas/yr)")
    pm_ra_err: Num = col("PM RA Err (mas/yr)")
    pm_dec: Num = col("PM Dec (mas/yr)")
    pm_dec_err: Num = col("PM Dec Err (mas/yr)")
    separation_arcsec: Num = col("Separation (arcsec)")
    position_angle_deg: Num = col("Position Angle (deg E. of N.)")


class StellarParameters(TableRecord):
    """One row of ``download_stellar.php``: stellar parameters from one source.

    ExoFOP's column set for this page varies by source, so besides the few
    columns every row has, the remaining cells come as ``parameters``
    (column name → value, empty cells left out).
    """

    page: ClassVar[str] = "download_stellar.php"
    required_columns: ClassVar[tuple[str, ...]] = ("Table",)
    kind: Literal["stellar_parameters"] = "stellar_parameters"
    source: Text = col("Table", "where the values come from: TIC, TOI, Kepler, K2 or Stellar (user-submitted)")
    user: Text = col("User")
    date: Text = col("Date")
    tag: TagNumber = col("Tag")
    notes: FreeText = col("Notes")
    notes_raw: RawFreeText = raw_col("Notes")
    parameters: dict[str, float | int | str] = Field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StellarParameters:
        known = cls.columns()
        params = {k: v for k, v in row.items() if k not in known and v not in (None, "")}
        return cls.model_validate({**row, "parameters": params})


class FileEntry(TableRecord):
    """One row of ``download_filelist.php``: a file uploaded to ExoFOP."""

    page: ClassVar[str] = "download_filelist.php"
    required_columns: ClassVar[tuple[str, ...]] = ("File Name", "Tag")
    key_column: ClassVar[str | None] = "File ID"
    free_text_columns: ClassVar[tuple[str, ...]] = ("Description",)
    kind: Literal["files"] = "files"
    type: Text = col("Type", "file type, e.g. 'Light_Curve', 'Spectrum', 'Image'")
    file_name: Text = col("File Name")
    file_id: Int = col("File ID")
    tic_id: Int = col("TIC")
    toi: Text = col("TOI")
    date: Text = col("Date")
    user: Text = col("User")
    group: Text = col("Group")
    tag: TagNumber = col("Tag")
    description: FreeText = col("Description")
    description_raw: RawFreeText = raw_col("Description")


#: The observing notes' columns as the real site prints them.
OBSNOTES_COLUMNS = ("ID", "TIC ID", "Username", "Groupname", "TAG ID", "Lastmod", "notes")


class ObservingNote(TableRecord):
    """One observing note of a star (a row of ``download_obsnotes.php``)."""

    page: ClassVar[str] = "download_obsnotes.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "TAG ID", "notes")
    key_column: ClassVar[str | None] = "ID"
    free_text_columns: ClassVar[tuple[str, ...]] = ("notes",)

    kind: Literal["observing_notes"] = "observing_notes"
    id: Int = col("ID", "the note's row id on ExoFOP")
    tic_id: Int = col("TIC ID", "TIC id of the star")
    user: Text = col("Username", "ExoFOP user who wrote the note")
    group: Text = col("Groupname", "'tfopwg' or empty")
    tag: TagNumber = col("TAG ID", "upload tag the note is about (pass to download_tags)")
    lastmod: Text = col("Lastmod", "when the note was last changed (UTC, 'YYYY-MM-DD hh:mm:ss')")
    text: FreeText = col("notes", "the note as a person reads it (HTML breaks and entities decoded)")
    raw_text: RawFreeText = raw_col("notes")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def date(self) -> str | None:
        """The day of ``lastmod`` (``YYYY-MM-DD``)."""
        return self.lastmod[:10] if self.lastmod and len(self.lastmod) >= 10 else None


class TOIRecord(TableRecord):
    """One row of the TOI table (``download_toi.php``): a planet candidate and its host star."""

    page: ClassVar[str] = "download_toi.php"
    required_columns: ClassVar[tuple[str, ...]] = ("TIC ID", "TOI", "TESS Disposition", "TFOPWG Disposition")
    free_text_columns: ClassVar[tuple[str, ...]] = ("Comments",)
    tic_id: Int = col("TIC ID")
    toi: Text = col("TOI", "planet candidate, e.g. '1130.01'")
    tess_disposition: Text = col("TESS Disposition")
    tfopwg_disposition: Text = col("TFOPWG Disposition")
    tess_mag: Num = col("TESS Mag")
    planet_name: Text = col("Planet Name")
    ra: Text = col("RA")
    dec: Text = col("Dec")
    master_priority: Int = col("Master", "TFOP master priority, 1 most urgent")
    sg1a_priority: Int = col("SG1A", "TFOP SG1A (seeing-limited photometry) priority, 1 most urgent")
    sg1b_priority: Int = col("SG1B", "TFOP SG1B (high-precision photometry) priority, 1 most urgent")
    sg2_priority: Int = col("SG2", "TFOP SG2 (reconnaissance spectroscopy) priority, 1 most urgent")
    sg3_priority: Int = col("SG3", "TFOP SG3 (high-resolution imaging) priority, 1 most urgent")
    sg4_priority: Int = col("SG4", "TFOP SG4 (precise radial velocities) priority, 1 most urgent")
    sg5_priority: Int = col("SG5", "TFOP SG5 (space-based photometry) priority, 1 most urgent")
    esm: Num = col("ESM", "emission spectroscopy metric")
    tsm: Num = col("TSM", "transmission spectroscopy metric")
    predicted_rv_semi_amplitude_mps: Num = col("Predicted RV Semi-amplitude (m/s)")
    epoch_bjd: Num = col("Epoch (BJD)")
    epoch_err_days: Num = col("Epoch (BJD) err")
    period_days: Num = col("Period (days)")
    period_err_days: Num = col("Period (days) err")
    duration_hours: Num = col("Duration (hours)")
    depth_mmag: Num = col("Depth (mmag)")
    depth_ppm: Num = col("Depth (ppm)")
    planet_radius_earth: Num = col("Planet Radius (R_Earth)")
    planet_equilibrium_temp_k: Num = col("Planet Equil Temp (K)")
    planet_snr: Num = col("Planet SNR")
    stellar_distance_pc: Num = col("Stellar Distance (pc)")
    stellar_teff_k: Num = col("Stellar Eff Temp (K)")
    stellar_radius_rsun: Num = col("Stellar Radius (R_Sun)")
    stellar_mass_msun: Num = col("Stellar Mass (M_Sun)")
    time_series_count: Int = col("Time Series Observations")
    spectroscopy_count: Int = col("Spectroscopy Observations")
    imaging_count: Int = col("Imaging Observations")
    sectors: Text = col("Sectors")
    date_alerted: Text = col("Date TOI Alerted (UTC)")
    date_updated: Text = col("Date TOI Updated (UTC)")
    date_modified: Text = col("Date Modified")
    comments: FreeText = col("Comments")
    comments_raw: RawFreeText = raw_col("Comments")


ObservationKind = Literal[
    "time_series",
    "spectroscopy",
    "imaging",
    "stellar_companions",
    "nearby_targets",
    "stellar_parameters",
    "files",
    "observing_notes",
]

RECORD_TYPES: dict[str, type[TableRecord]] = {
    "time_series": TimeSeriesObservation,
    "spectroscopy": SpectroscopyObservation,
    "imaging": ImagingObservation,
    "stellar_companions": StellarCompanion,
    "nearby_targets": NearbyTarget,
    "stellar_parameters": StellarParameters,
    "files": FileEntry,
    "observing_notes": ObservingNote,
}

ObservationRecord = Annotated[
    TimeSeriesObservation
    | SpectroscopyObservation
    | ImagingObservation
    | StellarCompanion
    | NearbyTarget
    | StellarParameters
    | FileEntry
    | ObservingNote,
    Field(discriminator="kind"),
]
