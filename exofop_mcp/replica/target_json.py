"""``target.php?id=...&json``: the target page as JSON, in the shape the real site answers.

Keys in the real order: ``basic_info`` (with ``star_names``, one comma-separated string of the star's
catalogue names), ``coordinates`` (degree strings, galactic and ecliptic too), ``tois``, ``ctois``, the
planet and stellar parameters whose first entry is a provenance header (not data), ``magnitudes`` (a list
of ``{band, value, ...}``), the observation summaries and ``files``.  Values are mostly strings, some
without a leading zero, some numbers, some ``null``.  The catalogue names are derived from the star's
position (2MASS, WISE, UCAC4 designations are positions) and, for the Gaia and Tycho numbers, from its TIC
id: stable, and resolvable by ``gototicid.php`` like the real names.
"""

from __future__ import annotations

import math
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from exofop_mcp.replica.dataset import Dataset
from exofop_mcp.replica.names import load_star_facts, normalize_name
from exofop_mcp.replica.star_tables import planet_rows, stellar_rows

#: The answer for an id the site does not know (an HTML page, not JSON).
NOT_FOUND_TEXT = "No TIC object found"

# ICRS (J2000) -> Galactic rotation (Hipparcos definition).
_GALACTIC = (
    (-0.0548755604162154, -0.8734370902348850, -0.4838350155487132),
    (0.4941094278755837, -0.4448296299600112, 0.7469822444972189),
    (-0.8676661490190047, -0.1980763734312015, 0.4559837761750669),
)
_OBLIQUITY_J2000 = math.radians(23.4392911)


@dataclass(frozen=True)
class StarPosition:
    ra: float
    dec: float
    tmag: float
    pm_ra: str = ""
    pm_ra_error: str = ""
    pm_dec: str = ""
    pm_dec_error: str = ""


def galactic(ra: float, dec: float) -> tuple[float, float]:
    """Galactic longitude and latitude (degrees) of an ICRS position."""
    a, d = math.radians(ra), math.radians(dec)
    vector = (math.cos(d) * math.cos(a), math.cos(d) * math.sin(a), math.sin(d))
    x, y, z = (sum(r * v for r, v in zip(row, vector, strict=True)) for row in _GALACTIC)
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, z))))


def ecliptic(ra: float, dec: float) -> tuple[float, float]:
    """Ecliptic longitude and latitude (degrees, mean ecliptic of J2000) of an ICRS position."""
    a, d, e = math.radians(ra), math.radians(dec), _OBLIQUITY_J2000
    beta = math.asin(math.sin(d) * math.cos(e) - math.cos(d) * math.sin(e) * math.sin(a))
    lam = math.atan2(math.sin(a) * math.cos(e) + math.tan(d) * math.sin(e), math.cos(a))
    return math.degrees(lam) % 360.0, math.degrees(beta)


def _sexagesimal(value: float, hours: bool, second_digits: int) -> tuple[str, int, int, float]:
    sign = "-" if value < 0 else "+"
    value = abs(value) / (15.0 if hours else 1.0)
    whole = int(value)
    minutes = int((value - whole) * 60)
    seconds = (value - whole - minutes / 60) * 3600
    seconds = math.floor(seconds * 10**second_digits + 1e-6) / 10**second_digits  # designations truncate
    return sign, whole, minutes, seconds


def catalogue_names(tic: int, position: StarPosition) -> list[str]:
    """The star's designations in the big catalogues, as ``star_names`` lists them (TIC first)."""
    rng = random.Random(f"aliases:{tic}")
    _, rh, rm, rs = _sexagesimal(position.ra, True, 2)
    sign, dd, dm, ds = _sexagesimal(position.dec, False, 1)
    two_mass = f"2MASS J{rh:02d}{rm:02d}{int(rs * 100):04d}{sign}{dd:02d}{dm:02d}{int(ds * 10):03d}"
    wise = f"WISE J{rh:02d}{rm:02d}{rs:05.2f}{sign}{dd:02d}{dm:02d}{ds:04.1f}"
    dr3 = rng.randrange(10**18, 7 * 10**18)
    dr2 = dr3 if rng.random() < 0.9 else rng.randrange(10**18, 7 * 10**18)
    names = [f"TIC {tic}", two_mass, f"Gaia DR2 {dr2}", f"Gaia DR3 {dr3}"]
    if position.tmag < 11.5:
        names.append(f"TYC {rng.randrange(1, 9538)}-{rng.randrange(1, 20000):05d}-1")
    zone = min(900, int((position.dec + 90.0) / 0.2) + 1)
    names += [f"UCAC4 {zone:03d}-{rng.randrange(1, 200000):06d}", wise]
    return names


def position_of(dataset: Dataset, tic: int) -> StarPosition | None:
    star = dataset.star(tic)
    if star is not None:
        return StarPosition(
            ra=_degrees(star.value("RA"), hours=True),
            dec=_degrees(star.value("Dec"), hours=False),
            tmag=star.number("TESS Mag", 12.0),
            pm_ra=star.value("PM RA (mas/yr)"),
            pm_ra_error=star.value("PM RA err (mas/yr)"),
            pm_dec=star.value("PM Dec (mas/yr)"),
            pm_dec_error=star.value("PM Dec err (mas/yr)"),
        )
    facts = load_star_facts().get(tic)
    if facts is not None:
        return StarPosition(ra=facts["ra"], dec=facts["dec"], tmag=facts["tmag"])
    return None


def _degrees(text: str, hours: bool) -> float:
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [abs(float(part)) for part in text.strip().lstrip("+-").split(":")]
    parts += [0.0] * (3 - len(parts))
    return sign * (parts[0] + parts[1] / 60 + parts[2] / 3600) * (15.0 if hours else 1.0)


_PLANET = re.compile(r"[0-9A-Z][ -]?[b-i]\b")


def common_names(dataset: Dataset, tic: int) -> list[str]:
    """The star's own common names (WASP-46, HD 219666), not its planets' (WASP-46 b)."""
    names = dataset.names.names_by_tic.get(tic, [])
    return [name for name in names if not _PLANET.search(name) and not normalize_name(name).startswith("toi")]


def star_names(dataset: Dataset, tic: int) -> list[str] | None:
    """Every name of a star the site knows (``None``: the site does not know the star)."""
    position = position_of(dataset, tic)
    if position is None:
        return None
    names = catalogue_names(tic, position)
    return [names[0], *common_names(dataset, tic), *names[1:]]


class AliasIndex:
    """Catalogue designation (normalized) -> TIC, for every star of the replica; built on first use."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._index: dict[str, int] | None = None
        self._lock = threading.Lock()

    def lookup(self, name: str) -> list[int]:
        with self._lock:
            if self._index is None:
                self._index = self._build()
        tic = self._index.get(normalize_name(name))
        return [] if tic is None else [tic]

    def _build(self) -> dict[str, int]:
        index: dict[str, int] = {}
        tics = [*self._dataset.table.stars, *load_star_facts()]
        for tic in tics:
            position = position_of(self._dataset, tic)
            if position is None:
                continue
            for name in catalogue_names(tic, position)[1:]:
                index.setdefault(normalize_name(name), tic)
        return index


def _text(value: float, digits: int) -> str:
    """A number as the site prints it: a string, no leading zero before the point."""
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def target_json(dataset: Dataset, tic: int, files: list[list[str]]) -> dict[str, Any] | None:
    """The JSON answer for a star (``None``: unknown, the site answers :data:`NOT_FOUND_TEXT`).

    ``files`` are the star's rows of ``download_filelist.php`` (Type, File Name, File ID, TIC, TOI, Date,
    User, Group, Tag, Description).
    """
    names = star_names(dataset, tic)
    position = position_of(dataset, tic)
    if names is None or position is None:
        return None
    star = dataset.star(tic)
    rng = random.Random(f"target:{tic}")
    gal_l, gal_b = galactic(position.ra, position.dec)
    ecl_l, ecl_b = ecliptic(position.ra, position.dec)
    confirmed = 0
    tois = []
    if star is not None:
        for index in range(len(star.rows)):
            confirmed += star.value("TFOPWG Disposition", index) in ("CP", "KP")
            tois.append(
                {
                    "toi": star.value("TOI", index),
                    "disp_tfop": star.value("TFOPWG Disposition", index),
                    "disp_tess": star.value("TESS Disposition", index),
                    "notes": star.value("Comments", index),
                }
            )
    stellar = stellar_rows(dataset, tic)
    stellar_parameters: list[dict[str, Any]] = [{"prov": "tic", "prov_title": "TIC v8.2", "prov_num": "1"}]
    for row in stellar[:1]:
        stellar_parameters.append(
            {
                "teff": row[2],
                "teff_e": row[3],
                "logg": row[4],
                "logg_e": row[5],
                "rad": row[6],
                "rad_e": row[7],
                "mass": row[8],
                "mass_e": row[9],
                "met": row[10] or None,
                "met_e": row[11] or None,
                "dist": row[12],
                "dist_e": row[13],
                "dens": row[14],
                "dens_e": row[15],
                "sdate": row[18],
                "suser": row[16],
                "sgroup": row[17],
                "stag": "",
            }
        )
    planet_parameters: list[dict[str, Any]] = [{"prov": "toi", "prov_title": "TESS Project", "prov_num": "1"}]
    for row in planet_rows(dataset, tic):
        if row[0] != "TOI":
            continue
        planet_parameters.append(
            {
                "name": row[2],
                "toi": row[1],
                "epoch": row[3],
                "epoch_e": row[4],
                "per": row[5],
                "per_e": row[6],
                "dep_p": row[9],
                "dep_p_e": row[10],
                "dur": row[7],
                "dur_e": row[8],
                "rad": row[11],
                "rad_e": row[12],
                "pdate": row[21],
                "puser": row[19],
                "pgroup": row[20],
                "ptag": "",
            }
        )
    color = rng.uniform(0.4, 1.0)
    bands = [
        ("TESS", position.tmag, 0.006),
        ("Gaia", position.tmag + 0.35 * color, 0.0003),
        ("V", position.tmag + 0.6 * color, 0.03),
        ("B", position.tmag + 1.2 * color, 0.05),
        ("J", position.tmag - 0.5 * color, 0.024),
        ("H", position.tmag - 0.8 * color, 0.026),
        ("K", position.tmag - 0.9 * color, 0.021),
    ]
    magnitudes = [
        {
            "band": band,
            "value": _text(value, 4 if band == "TESS" else 3),
            "value_e": _text(error, 4),
            "mnotes": "",
            "mdate": "2019-11-21",
            "muser": "",
            "mgroup": "",
            "mtag": None,
            "mtabname": "TIC",
        }
        for band, value, error in bands
    ]
    return {
        "basic_info": {
            "tic_id": str(tic),
            "star_names": ", ".join(names),
            "confirmed_planets": confirmed,
            "k2_campaign": None,
            "tic_contamination_ratio": _text(rng.uniform(0.0, 0.2), 7),
        },
        "coordinates": {
            "ra": f"{position.ra:.6f}",
            "dec": f"{position.dec:.6f}",
            "galactic_long": f"{gal_l:.6f}",
            "galactic_lat": f"{gal_b:.6f}",
            "ecliptic_long": f"{ecl_l:.6f}",
            "ecliptic_lat": f"{ecl_b:.6f}",
            "pm_ra": position.pm_ra or None,
            "pm_ra_error": position.pm_ra_error or None,
            "pm_dec": position.pm_dec or None,
            "pm_dec_error": position.pm_dec_error or None,
        },
        "tois": tois,
        "ctois": [],
        "planet_units": {"per": "days", "dep_p": "ppm", "dur": "hours", "rad": "R_Earth"},
        "planet_parameters": planet_parameters,
        "stellar_units": {"teff": "K", "logg": "cm/s^2", "rad": "R_Sun", "mass": "M_Sun", "dist": "pc"},
        "stellar_parameters": stellar_parameters,
        "stellar_companions_units": {},
        "stellar_companions": [],
        "magnitudes": magnitudes,
        "imaging_units": {},
        "imaging": [],
        "spectroscopy_units": {},
        "spectroscopy": [],
        "time_series_units": {},
        "time_series": [],
        "files": [
            {
                "fname": row[1],
                "fid": row[2],
                "ftoi": row[4],
                "ftype": row[0],
                "fdate": row[5],
                "fuser": row[6],
                "fgroup": row[7],
                "ftag": row[8],
                "fdesc": row[9],
            }
            for row in files
        ],
    }


_SHARED_ALIASES: dict[int, AliasIndex] = {}
_SHARED_ALIASES_LOCK = threading.Lock()


def shared_aliases(dataset: Dataset) -> AliasIndex:
    """One alias index per dataset (the dataset is shared by every replica of a process)."""
    with _SHARED_ALIASES_LOCK:
        return _SHARED_ALIASES.setdefault(id(dataset), AliasIndex(dataset))
