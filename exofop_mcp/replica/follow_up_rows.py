"""Synthetic, deterministic follow-up summary rows for one star (time series, spectra, imaging).

Rows look like the site's: real telescope and instrument names, filters, TFOP users, dates after
the TOI alert, notes that sometimes hold commas and double quotes (never ``|``).  Everything is
drawn from a generator seeded with the TIC id, so a star's rows are the same on every run.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from exofop_mcp.replica.tables import pipe_columns

TSERIES_COLUMNS = pipe_columns(
    "TIC ID|TIC|TOI|Telescope|Camera|Filter|Pixel Scale|PSF|Phot Aperture Rad|Obs Date|Obs Duration|Num Obs"
    "|Obs Type|Transit Coverage|Delta Mag|User|Group|Tag|Notes"
)
SPECT_COLUMNS = pipe_columns(
    "TIC ID|TIC|TOI|Telescope|Instrument|Spectral resolution|Wavelength coverage|SNR/resolution"
    "|SNR wavelength|Appropriate to PRV|Obs Date|User|Group|Tag|Notes"
)
IMAGING_COLUMNS = pipe_columns(
    "TIC ID|TIC|TOI|Telescope|Instrument|Filter|Image Type|Pixel Scale|PSF|Contrast|Obs Date|User|Group|Tag|Notes"
)
COMPANION_COLUMNS = pipe_columns(
    "TIC ID|TOI|Separation (arcsec)|Separation (arcsec) Error|Pos Angle E of N (deg)"
    "|Pos Angle E of N (deg) Error|Filter|Delta Mag|Delta Mag Error|Observation Date (UT)|Date|User|Group|Tag|Notes"
)

GROUP = "tfopwg"
LAST_OBSERVATION_DATE = dt.date(2025, 9, 30)
RECENT_WINDOW = (dt.date(2025, 4, 1), dt.date(2025, 9, 30))


@dataclass(frozen=True)
class Photometer:
    telescope: str
    camera: str
    pixel_scale: float
    filters: tuple[str, ...]
    users: tuple[str, ...]
    weight: int = 1


@dataclass(frozen=True)
class Spectrograph:
    telescope: str
    instrument: str
    resolution: int
    coverage: str
    prv: str
    users: tuple[str, ...]


@dataclass(frozen=True)
class Imager:
    telescope: str
    instrument: str
    filters: tuple[str, ...]
    image_type: str
    pixel_scale: float
    users: tuple[str, ...]


PHOTOMETERS = (
    Photometer("LCO-SSO-1m0 (1.0 m)", "Sinistro", 0.389, ("zs", "ip", "gp", "rp"), ("collins", "conti", "schwarz"), 4),
    Photometer(
        "LCO-CTIO-1m0 (1.0 m)", "Sinistro", 0.389, ("zs", "ip", "gp", "B"), ("collins", "stockdale", "evans"), 4
    ),
    Photometer("LCO-SAAO-1m0 (1.0 m)", "SINISTRO", 0.389, ("zs", "ip", "gp"), ("collins", "bieryla", "conti"), 3),
    Photometer("LCO-McD-1m0 (1.0 m)", "Sinistro", 0.389, ("zs", "ip", "gp"), ("collins", "schwarz"), 2),
    Photometer("LCO-TEID-1m0 (1.0 m)", "Sinistro", 0.389, ("zs", "ip", "gp"), ("collins", "conti"), 1),
    Photometer("LCO-HAL-2m0 (2.0 m)", "MuSCAT3", 0.27, ("gp", "rp", "ip", "zs"), ("fukui", "narita", "hori"), 2),
    Photometer("TCS (1.52 m)", "MuSCAT2", 0.44, ("g", "r", "i", "zs"), ("murgas", "parviainen", "palle"), 2),
    Photometer(
        "TRAPPIST-South (0.6 m)",
        "FLI ProLine PL3041-BB",
        0.64,
        ("I+z", "B", "V", "zs"),
        ("jehin", "barkaoui", "ghachoui"),
        3,
    ),
    Photometer("TRAPPIST-North (0.6 m)", "Andor iKon-L", 0.6, ("I+z", "B", "V", "zs"), ("jehin", "benkhaldoun"), 1),
    Photometer("PEST (0.305 m)", "ST-8XME", 1.23, ("Rc", "V", "B"), ("tan",), 2),
    Photometer("El Sauce (0.36 m)", "STT1603-3", 1.47, ("Rc", "B", "V"), ("müller", "tan"), 2),
    Photometer("MEarth-South (0.4 m)", "Apogee U230", 0.84, ("RG715", "I", "R"), ("irwin", "charbonneau"), 1),
    Photometer("SPECULOOS-South (1.0 m)", "Andor iKon-L", 0.35, ("I+z", "r", "zs"), ("sebastian", "gillon"), 1),
    Photometer("KeplerCam (1.2 m)", "Fairchild CCD486", 0.672, ("ip", "zs", "B"), ("esquerdo", "bieryla"), 2),
    Photometer("OAA (0.4 m)", "QHY600M", 0.44, ("Rc", "I", "V"), ("girardin",), 1),
    Photometer("CHAT (0.7 m)", "FLI ML23042", 0.62, ("ip", "zs", "gp"), ("jordan", "hobson"), 1),
    Photometer("NGTS (0.2 m)", "Andor iKon-L 936", 4.97, ("NGTS", "NGTS-b", "NGTS-r"), ("bayliss", "wheatley"), 1),
    Photometer("ExTrA (0.6 m)", "ExTrA fibre spectrophotometer", 1.0, ("0.85-1.55um", "NIR", "J"), ("bonfils",), 1),
    Photometer("Brierfield (0.36 m)", "Moravian 16803", 0.74, ("B", "V", "Rc"), ("mann",), 1),
)
SPECTROGRAPHS = (
    Spectrograph("SMARTS 1.5m (1.5 m)", "CHIRON", 80000, "410-870", "Yes", ("zhou", "ziegler", "mann")),
    Spectrograph("FLWO 1.5m (1.5 m)", "TRES", 44000, "390-910", "Yes", ("bieryla", "latham", "quinn")),
    Spectrograph("ESO 3.6m (3.6 m)", "HARPS", 115000, "378-691", "Yes", ("brahm", "jordan")),
    Spectrograph("Euler 1.2m (1.2 m)", "CORALIE", 60000, "390-680", "Yes", ("nielsen", "ségransan")),
    Spectrograph("LCO-NRES (1.0 m)", "NRES", 53000, "380-860", "Yes", ("siverd", "brown")),
    Spectrograph("Keck I (10 m)", "HIRES", 60000, "364-797", "Yes", ("howard", "isaacson", "dai")),
    Spectrograph("ANU 2.3m (2.3 m)", "WiFeS", 3000, "320-700", "No", ("bayliss", "zhou")),
    Spectrograph("SOAR (4.1 m)", "Goodman", 1850, "400-700", "No", ("briceno",)),
    Spectrograph("NOT (2.56 m)", "FIES", 67000, "370-830", "Yes", ("buchhave", "gandolfi")),
    Spectrograph("IRTF (3.0 m)", "SpeX", 2000, "700-2550", "No", ("mann", "dressing")),
)
IMAGERS = (
    Imager("Keck2 (10 m)", "NIRC2", ("Br-gamma", "Kcont", "J"), "AO", 0.00994, ("ciardi", "schlieder")),
    Imager("Gemini-South (8.1 m)", "Zorro", ("562nm", "832nm"), "Speckle", 0.0099, ("howell", "furlan")),
    Imager("Gemini-North (8.1 m)", "'Alopeke", ("562nm", "832nm"), "Speckle", 0.0099, ("howell", "lester")),
    Imager("SOAR (4.1 m)", "HRCam", ("I", "V"), "Speckle", 0.01575, ("ziegler", "tokovinin", "briceno")),
    Imager("Palomar (5 m)", "PHARO", ("Br-gamma", "H-cont"), "AO", 0.025, ("ciardi", "matson")),
    Imager("WIYN (3.5 m)", "NESSI", ("562nm", "832nm"), "Speckle", 0.0182, ("howell", "scott")),
    Imager("Shane (3 m)", "ShARCS", ("Ks", "J"), "AO", 0.033, ("savel", "dressing")),
    Imager("VLT-UT4 (8.2 m)", "NaCo", ("Ks",), "AO", 0.0132, ("lund", "ciardi")),
    Imager("SAI-2.5m (2.5 m)", "Speckle Polarimeter", ("I", "625nm"), "Speckle", 0.0206, ("safonov",)),
    Imager("Lick (3 m)", "ShARCS", ("Ks", "Brgamma"), "AO", 0.033, ("gonzales", "savel")),
)
TSERIES_NOTES = (
    "full transit detected on target, depth consistent with SPOC",
    "achromatic depth, on time within 1 sigma",
    'ingress only, clouds after mid-transit; "partial" coverage',
    "NEB check: all neighbors within 2.5' cleared to 9.2 mag fainter",
    "meridian flip at mid-transit, detrended with airmass",
    'event ~7 min early, "on time" within 1.3 sigma',
    "bad weather, no useful data",
    "egress only, ~2 ppt, on target",
    "no detection on target, field cleared of NEBs, transit likely on target",
    'detected event is "V-shaped", possible EB, see notes file',
    "chromatic depth, deeper in B than in zs",
    "deeper than SPOC, possibly diluted in TESS aperture",
)
SPECT_NOTES = (
    "RV 12.3 km/s, vsini 4.1 km/s, no SB2 signature",
    'single-lined, "quiet" star, Teff ~5600 K',
    "reconnaissance spectrum, rotationally broadened",
    "SB2, two sets of lines separated by 40 km/s",
    "RV variation of ~3 km/s, consistent with stellar companion",
    'low SNR, "logg" uncertain',
    "Teff 4200 K, [Fe/H] 0.1, M dwarf features",
)
IMAGING_NOTES = (
    'no companions detected within 1.2", 5-sigma',
    "companion at 0.8 arcsec, dmag 3.1",
    'no companions within 0.1-1.5", contrast curve in files',
    "close companion, see companion table",
    "non-detection, wide binary at 6 arcsec known from Gaia",
)


@dataclass
class StarSummary:
    """What the generator needs to know about a star (from the TOI table or a curated override)."""

    tic: int
    tois: list[str]
    alerted: dt.date
    counts: dict[str, int]
    tags: dict[str, list[int]]
    fixed_rows: dict[str, list[list[str]]] = field(default_factory=dict)
    recent_tags: frozenset[int] = frozenset()
    repeated_rows: dict[str, int] = field(default_factory=dict)


@dataclass
class StarObservations:
    tseries: list[list[str]] = field(default_factory=list)
    spect: list[list[str]] = field(default_factory=list)
    imaging: list[list[str]] = field(default_factory=list)
    companions: list[list[str]] = field(default_factory=list)

    def rows(self, kind: str) -> list[list[str]]:
        rows: list[list[str]] = getattr(self, kind)
        return rows


def number(value: float, digits: int = 2) -> str:
    """Numbers the way the site prints them: ``1.8``, ``9.0``, ``0.389``."""
    return str(round(value, digits))


def toi_label(toi: str) -> str:
    return f"TOI {toi}"


def _group_sizes(rng: random.Random, rows: int, groups: int) -> list[int]:
    """Split rows into ``groups`` consecutive groups of 1-3 rows (rows sharing a tag)."""
    sizes = [1] * groups
    extra = rows - groups
    candidates = list(range(groups))
    while extra > 0 and candidates:
        index = rng.choice(candidates)
        sizes[index] += 1
        extra -= 1
        if sizes[index] >= 3:
            candidates.remove(index)
    while extra > 0:  # more repeats than 3-row groups allow: let groups grow
        sizes[rng.randrange(groups)] += 1
        extra -= 1
    return sizes


def _dates(rng: random.Random, count: int, start: dt.date, end: dt.date) -> list[dt.date]:
    span = max(1, (end - start).days)
    return sorted(start + dt.timedelta(days=rng.randrange(span + 1)) for _ in range(count))


def _schedule(rng: random.Random, star: StarSummary, kind: str, rows: int) -> list[tuple[int, dt.date, int]]:
    """(tag, date, rows of that tag) for the generated rows of one kind; tags ascend with dates."""
    tags = sorted(star.tags.get(kind, []))
    if rows <= 0 or not tags:
        return []
    sizes = _group_sizes(rng, rows, len(tags))
    start = max(star.alerted + dt.timedelta(days=rng.randrange(10, 60)), dt.date(2018, 8, 20))
    start = min(start, LAST_OBSERVATION_DATE - dt.timedelta(days=30))
    regular = [tag for tag in tags if tag not in star.recent_tags]
    recent = [tag for tag in tags if tag in star.recent_tags]
    dates = _dates(rng, len(regular), start, LAST_OBSERVATION_DATE) + _dates(rng, len(recent), *RECENT_WINDOW)
    ordered = regular + recent
    return [(tag, date, sizes[index]) for index, (tag, date) in enumerate(zip(ordered, dates, strict=True))]


def _pick_notes(rng: random.Random, pool: Sequence[str], share: float) -> str:
    return rng.choice(pool) if rng.random() < share else ""


def _toi_for_row(rng: random.Random, star: StarSummary) -> str:
    return toi_label(rng.choice(star.tois)) if star.tois else ""


def tseries_rows(star: StarSummary) -> list[list[str]]:
    rng = random.Random(f"tseries:{star.tic}")
    fixed = star.fixed_rows.get("tseries", [])
    rows: list[list[str]] = list(fixed)
    generated = star.counts.get("tseries", 0) - len(fixed)
    weights = [photometer.weight for photometer in PHOTOMETERS]
    for tag, date, size in _schedule(rng, star, "tseries", generated):
        photometer = rng.choices(PHOTOMETERS, weights)[0]
        filters = rng.sample(photometer.filters, min(size, len(photometer.filters)))
        filters += [rng.choice(photometer.filters) for _ in range(size - len(filters))]
        toi = _toi_for_row(rng, star)
        user = rng.choice(photometer.users)
        duration = rng.uniform(90, 420)
        cadence = rng.choice((30, 45, 60, 75, 90, 120, 150))
        coverage = rng.choices(("Full", "Ingress", "Egress", "Out of Transit"), (14, 2, 2, 1))[0]
        notes = _pick_notes(rng, TSERIES_NOTES, 0.45)
        for filter_name in filters:
            delta_mag = number(rng.uniform(5.0, 10.5)) if rng.random() < 0.8 else ""
            rows.append(
                [
                    str(star.tic),
                    "",
                    toi,
                    photometer.telescope,
                    photometer.camera,
                    filter_name,
                    number(photometer.pixel_scale, 3),
                    number(rng.uniform(1.2, 4.6)),
                    number(rng.uniform(3.0, 16.0), 1),
                    date.isoformat(),
                    number(duration, 1),
                    str(max(20, int(duration * 60 / cadence))),
                    "Continuous",
                    coverage,
                    delta_mag,
                    user,
                    GROUP,
                    str(tag),
                    notes,
                ]
            )
    return sorted(rows, key=_date_then_tag)


def spect_rows(star: StarSummary) -> list[list[str]]:
    rng = random.Random(f"spect:{star.tic}")
    rows: list[list[str]] = list(star.fixed_rows.get("spect", []))
    generated = star.counts.get("spect", 0) - len(rows)
    for tag, date, size in _schedule(rng, star, "spect", generated):
        spectrograph = rng.choice(SPECTROGRAPHS)
        user = rng.choice(spectrograph.users)
        for _ in range(size):
            rows.append(
                [
                    str(star.tic),
                    "",
                    _toi_for_row(rng, star),
                    spectrograph.telescope,
                    spectrograph.instrument,
                    str(spectrograph.resolution),
                    spectrograph.coverage,
                    number(rng.uniform(8, 120), 1),
                    rng.choice(("550", "650", "520", "1650")),
                    spectrograph.prv,
                    date.isoformat(),
                    user,
                    GROUP,
                    str(tag),
                    _pick_notes(rng, SPECT_NOTES, 0.5),
                ]
            )
            date += dt.timedelta(days=rng.randrange(1, 12))
    return sorted(rows, key=_date_then_tag)


def imaging_rows(star: StarSummary) -> list[list[str]]:
    rng = random.Random(f"imaging:{star.tic}")
    rows: list[list[str]] = list(star.fixed_rows.get("imaging", []))
    generated = star.counts.get("imaging", 0) - len(rows)
    for tag, date, size in _schedule(rng, star, "imaging", generated):
        imager = rng.choice(IMAGERS)
        user = rng.choice(imager.users)
        toi = _toi_for_row(rng, star)
        filters = [imager.filters[index % len(imager.filters)] for index in range(size)]
        for filter_name in filters:
            contrast = f'dmag={number(rng.uniform(3.5, 8.5), 1)} at 0.5"'
            rows.append(
                [
                    str(star.tic),
                    "",
                    toi,
                    imager.telescope,
                    imager.instrument,
                    filter_name,
                    imager.image_type,
                    number(imager.pixel_scale, 4),
                    number(rng.uniform(0.02, 0.12), 3),
                    contrast,
                    date.isoformat(),
                    user,
                    GROUP,
                    str(tag),
                    _pick_notes(rng, IMAGING_NOTES, 0.5),
                ]
            )
    return sorted(rows, key=_date_then_tag)


def companion_rows(star: StarSummary, imaging: list[list[str]]) -> list[list[str]]:
    """Stellar companions reported from about one imaging tag in five."""
    rng = random.Random(f"companions:{star.tic}")
    rows: list[list[str]] = []
    seen: set[str] = set()
    date_column = IMAGING_COLUMNS.index("Obs Date")
    for row in imaging:
        tag = row[IMAGING_COLUMNS.index("Tag")]
        if tag in seen or rng.random() >= 0.2:
            seen.add(tag)
            continue
        seen.add(tag)
        observed = dt.date.fromisoformat(row[date_column])
        uploaded = observed + dt.timedelta(days=rng.randrange(2, 40))
        separation = rng.uniform(0.08, 3.0)
        rows.append(
            [
                str(star.tic),
                row[2].removeprefix("TOI "),
                number(separation, 3),
                number(separation * 0.02, 3),
                number(rng.uniform(0, 360), 1),
                number(rng.uniform(0.3, 2.5), 1),
                row[5],
                number(rng.uniform(0.5, 6.5), 2),
                number(rng.uniform(0.05, 0.3), 2),
                observed.isoformat(),
                uploaded.isoformat(),
                row[IMAGING_COLUMNS.index("User")],
                GROUP,
                tag,
                _pick_notes(rng, ("bound companion likely, common proper motion", 'marginal, "3-sigma"'), 0.4),
            ]
        )
    return rows


def _date_then_tag(row: list[str]) -> tuple[str, int]:
    date = next((cell for cell in row if len(cell) == 10 and cell[4:5] == "-" and cell[7:8] == "-"), "")
    tag = row[-2]
    return date, int(tag) if tag.isdigit() else 0


def generate(star: StarSummary) -> StarObservations:
    imaging = imaging_rows(star)
    return StarObservations(
        tseries=tseries_rows(star),
        spect=spect_rows(star),
        imaging=imaging,
        companions=companion_rows(star, imaging),
    )
