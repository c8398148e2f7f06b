"""Per-star tables besides the observation summaries: stellar and planet parameters, nearby stars,
observing notes, a user's tags, and the (empty) community-TOI table."""

from __future__ import annotations

import datetime as dt
import math
import random

from exofop_mcp.replica.dataset import COLUMNS, Dataset
from exofop_mcp.replica.follow_up_rows import GROUP, number
from exofop_mcp.replica.tables import pipe_columns
from exofop_mcp.replica.tag_numbers import KINDS
from exofop_mcp.replica.toi_table import StarRecord

STELLAR_COLUMNS = pipe_columns(
    "Table|TIC ID|Teff (K)|Teff (K) err|log(g) (cm/s^2)|log(g) (cm/s^2) err|Radius (R_Sun)|Radius (R_Sun) err"
    "|Mass (M_Sun)|Mass (M_Sun) err|Metallicity|Metallicity err|Distance (pc)|Distance (pc) err"
    "|Density (g/cm^3)|Density (g/cm^3) err|User|Group|Date|Notes"
)
PLANET_COLUMNS = pipe_columns(
    "Table|TOI|Planet Name|Epoch (BJD)|Epoch (BJD) err|Period (days)|Period (days) err|Duration (hours)"
    "|Duration (hours) err|Depth (ppm)|Depth (ppm) err|Planet Radius (R_Earth)|Planet Radius (R_Earth) err"
    "|Planet Mass (M_Earth)|Planet Mass (M_Earth) err|Inclination (deg)|Eccentricity|Equilibrium Temp (K)"
    "|Insolation (Earth Flux)|User|Group|Date|Notes"
)
NEARBY_COLUMNS = pipe_columns(
    "TIC ID|TOI|RA|Dec|TESS Mag|GAIA DR2|GAIA Mag|Distance (pc)|Distance Err (pc)|PM RA (mas/yr)"
    "|PM RA Err (mas/yr)|PM Dec (mas/yr)|PM Dec Err (mas/yr)|Separation (arcsec)|Position Angle (deg E. of N.)"
)
OBSNOTES_COLUMNS = pipe_columns("ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes")
FILELIST_COLUMNS = ("Type", "File Name", "File ID", "TIC", "TOI", "Date", "User", "Group", "Tag", "Description")
USER_TAGS_COLUMNS = (
    "Tag",
    "User",
    "Group",
    "Date",
    "TIC ID",
    "TOI",
    "Time Series",
    "Spectroscopy",
    "Imaging",
    "Description",
)
CTOI_COLUMNS = pipe_columns(
    "CTOI|TIC ID|Promoted to TOI|Previous CTOI|User Disposition|TFOPWG Disposition|TESS Mag|TESS Mag err|RA|Dec"
    "|Midpoint Time (BJD)|Midpoint Time err|Period (days)|Period (days) err|Depth ppm|Depth ppm err"
    "|Duration (hrs)|Duration (hrs) err|Radius (R_Earth)|Radius (R_Earth) err|CTOI lists|Date Modified|User|Notes"
)

KIND_LABELS = {"tseries": "Time Series", "spect": "Spectroscopy", "imaging": "Imaging"}


def _star_values(star: StarRecord | None, rng: random.Random) -> dict[str, float]:
    if star is None:
        teff = rng.uniform(4800, 6400)
        return {
            "teff": teff,
            "logg": rng.uniform(4.1, 4.6),
            "radius": rng.uniform(0.8, 1.4),
            "mass": rng.uniform(0.8, 1.2),
            "met": rng.uniform(-0.3, 0.3),
            "dist": rng.uniform(300, 1200),
        }
    return {
        "teff": star.number("Stellar Eff Temp (K)", 5500.0),
        "logg": star.number("Stellar log(g) (cm/s^2)", 4.4),
        "radius": star.number("Stellar Radius (R_Sun)", 1.0),
        "mass": star.number("Stellar Mass (M_Sun)", 1.0),
        "met": star.number("Stellar Metallicity", 0.0),
        "dist": star.number("Stellar Distance (pc)", 200.0),
    }


def _density(mass: float, radius: float) -> float:
    return 1.41 * mass / max(radius, 0.05) ** 3


def stellar_rows(dataset: Dataset, tic: int) -> list[list[str]]:
    star = dataset.star(tic)
    names = dataset.names.names_by_tic.get(tic, [])
    if star is None and not names:
        return []
    rng = random.Random(f"stellar:{tic}")
    values = _star_values(star, rng)

    def row(table: str, scale: float, user: str, date: str, notes: str) -> list[str]:
        teff = values["teff"] * (1 + rng.gauss(0, 0.01) * scale)
        radius = values["radius"] * (1 + rng.gauss(0, 0.02) * scale)
        mass = values["mass"] * (1 + rng.gauss(0, 0.02) * scale)
        return [
            table,
            str(tic),
            number(teff, 1),
            number(rng.uniform(50, 160), 1),
            number(values["logg"] + rng.gauss(0, 0.02) * scale, 3),
            number(rng.uniform(0.05, 0.1), 3),
            number(radius, 4),
            number(radius * 0.05, 4),
            number(mass, 3),
            number(mass * 0.12, 3),
            number(values["met"] + rng.gauss(0, 0.03) * scale, 2),
            number(rng.uniform(0.05, 0.1), 2),
            number(values["dist"], 3),
            number(values["dist"] * 0.01, 3),
            number(_density(mass, radius), 4),
            number(_density(mass, radius) * 0.2, 4),
            user,
            GROUP if table == "Stellar" else "",
            date,
            notes,
        ]

    rows = [row("TIC", 0.0, "", "2019-11-21", "TIC v8.2")]
    if star is not None:
        rows.append(row("TOI", 0.5, "", star.value("Date TOI Updated (UTC)"), "SPOC"))
        spectra = dataset.observations(tic).spect
        seen: set[str] = set()
        for spectrum in spectra:
            tag = spectrum[COLUMNS["spect"].index("Tag")]
            if tag in seen or len(seen) >= 2:
                continue
            seen.add(tag)
            date = dt.date.fromisoformat(spectrum[COLUMNS["spect"].index("Obs Date")]) + dt.timedelta(days=9)
            rows.append(
                row(
                    "Stellar",
                    1.0,
                    spectrum[COLUMNS["spect"].index("User")],
                    date.isoformat(),
                    f"SPC analysis of {spectrum[4]} spectra, tag {tag}",
                )
            )
    for name in names:
        lowered = name.lower()
        if lowered.startswith(("kepler", "koi")):
            rows.append(row("Kepler", 0.8, "", "2017-06-19", "Kepler DR25 stellar properties"))
            break
        if lowered.startswith("k2"):
            rows.append(row("K2", 0.8, "", "2018-02-01", "K2 EPIC stellar properties"))
            break
    return rows


def planet_rows(dataset: Dataset, tic: int) -> list[list[str]]:
    star = dataset.star(tic)
    if star is None:
        return []
    rng = random.Random(f"planet:{tic}")
    names = dataset.names.names_by_tic.get(tic, [])
    rows: list[list[str]] = []
    for index in range(len(star.rows)):

        def value(column: str, index: int = index) -> str:
            return star.value(column, index)

        toi = value("TOI")
        radius = float(value("Planet Radius (R_Earth)") or 0) or 2.0
        mass = radius**2 * 2.7 if radius < 4 else min(4000.0, 100 + radius * 25)
        rows.append(
            [
                "TOI",
                toi,
                "",
                value("Epoch (BJD)"),
                value("Epoch (BJD) err"),
                value("Period (days)"),
                value("Period (days) err"),
                value("Duration (hours)"),
                value("Duration (hours) err"),
                value("Depth (ppm)"),
                value("Depth (ppm) err"),
                value("Planet Radius (R_Earth)"),
                value("Planet Radius (R_Earth) err"),
                "",
                "",
                "",
                "",
                value("Planet Equil Temp (K)"),
                value("Planet Insolation (Earth Flux)"),
                "",
                "",
                value("Date TOI Updated (UTC)"),
                value("Comments"),
            ]
        )
        if value("TFOPWG Disposition") in ("KP", "CP"):
            planet_names = [name for name in names if name[-1:] in "bcdefgh" and name[-2:-1] in " -"]
            rows.append(
                [
                    "Planet",
                    toi,
                    planet_names[index] if index < len(planet_names) else "",
                    value("Epoch (BJD)"),
                    value("Epoch (BJD) err"),
                    value("Period (days)"),
                    value("Period (days) err"),
                    value("Duration (hours)"),
                    value("Duration (hours) err"),
                    value("Depth (ppm)"),
                    value("Depth (ppm) err"),
                    number(radius * rng.uniform(0.95, 1.05), 3),
                    number(radius * 0.05, 3),
                    number(mass, 2),
                    number(mass * 0.15, 2),
                    number(rng.uniform(85, 90), 2),
                    number(rng.uniform(0, 0.2), 3),
                    value("Planet Equil Temp (K)"),
                    value("Planet Insolation (Earth Flux)"),
                    rng.choice(("bieryla", "ziegler", "collins", "zhou")),
                    GROUP,
                    value("Date Modified")[:10],
                    "published solution",
                ]
            )
    return rows


def _sexagesimal_to_degrees(text: str, hours: bool) -> float:
    sign = -1.0 if text.strip().startswith("-") else 1.0
    parts = [abs(float(part)) for part in text.strip().lstrip("+-").split(":")]
    while len(parts) < 3:
        parts.append(0.0)
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    return sign * value * (15.0 if hours else 1.0)


def _degrees_to_sexagesimal(value: float, hours: bool) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value) / (15.0 if hours else 1.0)
    whole = int(value)
    minutes = int((value - whole) * 60)
    seconds = (value - whole - minutes / 60) * 3600
    digits = 2 if hours else 1
    return f"{sign}{whole:02d}:{minutes:02d}:{seconds:0{3 + digits}.{digits}f}"


def nearby_rows(dataset: Dataset, tic: int) -> list[list[str]]:
    star = dataset.star(tic)
    if star is None:
        return []
    rng = random.Random(f"nearby:{tic}")
    ra = _sexagesimal_to_degrees(star.value("RA"), hours=True)
    dec = _sexagesimal_to_degrees(star.value("Dec"), hours=False)
    tmag = star.number("TESS Mag", 11.0)
    distance = star.number("Stellar Distance (pc)", 300.0)
    rows = [
        [
            str(tic),
            ", ".join(star.tois),
            star.value("RA"),
            star.value("Dec"),
            number(tmag, 4),
            str(rng.randrange(10**18, 6 * 10**18)),
            number(tmag + 0.5, 4),
            number(distance, 3),
            number(distance * 0.01, 3),
            star.value("PM RA (mas/yr)"),
            star.value("PM RA err (mas/yr)"),
            star.value("PM Dec (mas/yr)"),
            star.value("PM Dec err (mas/yr)"),
            "0.0",
            "0.0",
        ]
    ]
    neighbours = []
    for offset in range(rng.randrange(3, 10)):
        separation = rng.uniform(2.0, 120.0)
        angle = rng.uniform(0, 360)
        d_dec = separation / 3600 * math.cos(math.radians(angle))
        d_ra = separation / 3600 * math.sin(math.radians(angle)) / max(0.05, math.cos(math.radians(dec)))
        neighbour_mag = tmag + rng.uniform(0.5, 8.0)
        far = rng.uniform(100, 3000)
        neighbours.append(
            (
                separation,
                [
                    str(tic + rng.choice((-1, 1)) * (offset + 1) * rng.randrange(1, 400)),
                    "",
                    _degrees_to_sexagesimal((ra + d_ra) % 360, hours=True),
                    _degrees_to_sexagesimal(max(-90.0, min(90.0, dec + d_dec)), hours=False),
                    number(neighbour_mag, 4),
                    str(rng.randrange(10**18, 6 * 10**18)),
                    number(neighbour_mag + 0.6, 4),
                    number(far, 3),
                    number(far * 0.08, 3),
                    number(rng.gauss(0, 8), 3),
                    number(rng.uniform(0.02, 0.3), 3),
                    number(rng.gauss(0, 8), 3),
                    number(rng.uniform(0.02, 0.3), 3),
                    number(separation, 2),
                    number(angle, 2),
                ],
            )
        )
    rows += [row for _, row in sorted(neighbours, key=lambda item: item[0])]
    return rows


#: What observers write about an observation, as seen in the real site's observing notes.
OBSERVING_NOTES = (
    "egress only, clouds",
    "on target, achromatic",
    "full transit, ~2 ppt event on target",
    "cleared field of NEBs within 2.5 arcmin",
    "ingress only, high airmass at the end",
    "meridian flip mid-transit, systematics at the flip",
    "possible early ingress; check ephemeris",
    "no detection on target, NEB check inconclusive",
)


def obsnote_rows(dataset: Dataset, tic: int, tag: int | None = None) -> list[list[str]]:
    """``download_obsnotes.php``: one note per tag that has one (``ID|TIC ID|Username|Groupname|TAG ID|Lastmod|notes``).

    A tag's note is its summary row's note, or for about half of the tags without one, a short remark of the
    kinds observers write; Groupname is ``tfopwg`` or empty; Lastmod is a few days after the observation.
    """
    rows: list[list[str]] = []
    observations = dataset.observations(tic)
    for kind in KINDS:
        columns = COLUMNS[kind]
        seen: set[str] = set()
        for row in observations.rows(kind):
            tag_text, notes = row[columns.index("Tag")], row[columns.index("Notes")]
            if tag_text in seen or (tag is not None and tag_text != str(tag)):
                continue
            seen.add(tag_text)
            rng = random.Random(f"obsnote:{tag_text}")
            if not notes:
                if rng.random() < 0.5:
                    continue
                notes = rng.choice(OBSERVING_NOTES)
            day = dt.date.fromisoformat(row[columns.index("Obs Date")]) + dt.timedelta(days=rng.randrange(1, 20))
            stamp = f"{day.isoformat()} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            rows.append(
                [
                    str(int(tag_text) * 10 + KINDS.index(kind)),
                    str(tic),
                    row[columns.index("User")],
                    GROUP if rng.random() < 0.7 else "",
                    tag_text,
                    stamp,
                    notes,
                ]
            )
    return rows
