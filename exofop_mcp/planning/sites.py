"""The observatories TFOP observers plan from, by name, or a place given by its coordinates.

Each named site is the position of the telescope's observatory to about a kilometre (a kilometre
moves a star's altitude by under 0.01 degree and a transit's times by microseconds), with its time
zone for local times and where the position comes from.  The project's own site table (the one that
places light-curve uploads, :mod:`exofop_mcp.lightcurves.observatories`) is the base; the planner
adds the telescopes' names observers use and the sites that table does not need.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from exofop_mcp.errors import UnknownSiteError
from exofop_mcp.lightcurves import observatories as places
from exofop_mcp.lightcurves.observatories import Site


@dataclass(frozen=True)
class ObservingSite:
    """A place to observe from: a named observatory or raw coordinates."""

    name: str
    latitude_deg: float
    longitude_deg: float  # east positive
    elevation_m: float
    timezone: str | None = None  # IANA name, for local times; None: shown in UTC
    source: str = "given coordinates"
    key: str = ""  # the name to ask for it by ("lco-ctio"); empty for raw coordinates

    @property
    def place(self) -> Site:
        return Site(self.name, self.latitude_deg, self.longitude_deg, self.elevation_m)


def _named(key: str, telescope: str, place: Site, timezone: str, source: str) -> ObservingSite:
    return ObservingSite(
        name=f"{telescope} ({place.name})",
        latitude_deg=place.latitude_deg,
        longitude_deg=place.longitude_deg,
        elevation_m=place.height_m,
        timezone=timezone,
        source=source,
        key=key,
    )


KITT_PEAK = Site("Kitt Peak National Observatory", 31.9583, -111.5967, 2096)
MOUNT_LEMMON = Site("Mount Lemmon Observatory", 32.4420, -110.7890, 2791)
HAUTE_PROVENCE = Site("Observatoire de Haute-Provence", 43.9308, 5.7133, 650)
CALAR_ALTO = Site("Calar Alto Observatory", 37.2236, -2.5463, 2168)
SAN_PEDRO_MARTIR = Site("Observatorio Astronomico Nacional San Pedro Martir", 31.0439, -115.4637, 2800)
PALOMAR = Site("Palomar Observatory", 33.3563, -116.8650, 1712)

_LCO = "Las Cumbres Observatory site list (lco.global/observatory/sites)"
_MPC = "IAU Minor Planet Center list of observatory codes"

#: Every named site; ``key`` and ``aliases`` are what a user may type (compared without case and separators).
SITES: tuple[ObservingSite, ...] = (
    _named("lco-coj", "LCO Siding Spring", places.SIDING_SPRING, "Australia/Sydney", _LCO),
    _named("lco-cpt", "LCO Sutherland", places.SUTHERLAND, "Africa/Johannesburg", _LCO),
    _named("lco-ctio", "LCO Cerro Tololo", places.CERRO_TOLOLO, "America/Santiago", _LCO),
    _named("lco-elp", "LCO McDonald", places.MCDONALD, "America/Chicago", _LCO),
    _named("lco-tfn", "LCO Teide", places.TEIDE, "Atlantic/Canary", _LCO),
    _named("lco-ogg", "LCO Haleakala", places.HALEAKALA, "Pacific/Honolulu", _LCO),
    _named("muscat", "MuSCAT, Okayama 188 cm", places.OKAYAMA, "Asia/Tokyo", "NAOJ Okayama Astro-Complex"),
    _named("muscat2", "MuSCAT2, TCS 1.52 m", places.TEIDE, "Atlantic/Canary", "Instituto de Astrofisica de Canarias"),
    _named("muscat3", "MuSCAT3, FTN 2 m", places.HALEAKALA, "Pacific/Honolulu", _LCO),
    _named("muscat4", "MuSCAT4, FTS 2 m", places.SIDING_SPRING, "Australia/Sydney", _LCO),
    _named("trappist-north", "TRAPPIST-North", places.OUKAIMEDEN, "Africa/Casablanca", "Universite de Liege, TRAPPIST"),
    _named("trappist-south", "TRAPPIST-South", places.LA_SILLA, "America/Santiago", "ESO La Silla Observatory"),
    _named("speculoos-south", "SPECULOOS-South", places.PARANAL, "America/Santiago", "ESO Paranal Observatory"),
    _named(
        "speculoos-north",
        "SPECULOOS-North (Artemis)",
        places.TEIDE,
        "Atlantic/Canary",
        "Instituto de Astrofisica de Canarias",
    ),
    _named("saint-ex", "SAINT-EX", SAN_PEDRO_MARTIR, "America/Tijuana", _MPC),
    _named("extra", "ExTrA", places.LA_SILLA, "America/Santiago", "ESO La Silla Observatory"),
    _named("ngts", "NGTS", places.PARANAL, "America/Santiago", "ESO Paranal Observatory"),
    _named("el-sauce", "Observatorio El Sauce (Obstech)", places.EL_SAUCE, "America/Santiago", "Obstech, El Sauce"),
    _named("pest", "PEST", places.PERTH, "Australia/Perth", "Perth Exoplanet Survey Telescope"),
    _named("keplercam", "KeplerCam, FLWO 1.2 m", places.FLWO, "America/Phoenix", "Smithsonian FLWO"),
    _named("mearth-north", "MEarth-North", places.FLWO, "America/Phoenix", "Smithsonian FLWO"),
    _named("mearth-south", "MEarth-South", places.CERRO_TOLOLO, "America/Santiago", "NOIRLab CTIO"),
    _named("teide", "Teide Observatory", places.TEIDE, "Atlantic/Canary", "Instituto de Astrofisica de Canarias"),
    _named("kitt-peak", "Kitt Peak", KITT_PEAK, "America/Phoenix", "NOIRLab Kitt Peak National Observatory"),
    _named("mt-lemmon", "Mt. Lemmon", MOUNT_LEMMON, "America/Phoenix", _MPC),
    _named("ohp", "OHP", HAUTE_PROVENCE, "Europe/Paris", "Observatoire de Haute-Provence"),
    _named("calar-alto", "Calar Alto", CALAR_ALTO, "Europe/Madrid", "Centro Astronomico Hispano en Andalucia"),
    _named("mcdonald", "McDonald Observatory", places.MCDONALD, "America/Chicago", "McDonald Observatory"),
    _named("ctio", "CTIO", places.CERRO_TOLOLO, "America/Santiago", "NOIRLab CTIO"),
    _named("saao", "SAAO", places.SUTHERLAND, "Africa/Johannesburg", "South African Astronomical Observatory"),
    _named("sso", "Siding Spring", places.SIDING_SPRING, "Australia/Sydney", "Siding Spring Observatory"),
    _named("la-silla", "La Silla", places.LA_SILLA, "America/Santiago", "ESO La Silla Observatory"),
    _named("paranal", "Paranal", places.PARANAL, "America/Santiago", "ESO Paranal Observatory"),
    _named("haleakala", "Haleakala", places.HALEAKALA, "Pacific/Honolulu", "Haleakala Observatory"),
    _named("oukaimeden", "Oukaimeden", places.OUKAIMEDEN, "Africa/Casablanca", "Oukaimeden Observatory"),
    _named("okayama", "Okayama", places.OKAYAMA, "Asia/Tokyo", "NAOJ Okayama Astro-Complex"),
    _named("lick", "Lick Observatory", places.LICK, "America/Los_Angeles", "Lick Observatory"),
    _named("palomar", "Palomar", PALOMAR, "America/Los_Angeles", "Caltech Palomar Observatory"),
)

#: Other names of the sites: alias -> key.
ALIASES: dict[str, str] = {
    "siding-spring": "lco-coj",
    "lco-sso": "lco-coj",
    "lco-sutherland": "lco-cpt",
    "lco-saao": "lco-cpt",
    "lco-cerro-tololo": "lco-ctio",
    "lco-lsc": "lco-ctio",
    "lco-mcdonald": "lco-elp",
    "lco-teide": "lco-tfn",
    "lco-haleakala": "lco-ogg",
    "muscat1": "muscat",
    "trappist-n": "trappist-north",
    "trappist-s": "trappist-south",
    "speculoos": "speculoos-south",
    "artemis": "speculoos-north",
    "obstech": "el-sauce",
    "flwo": "keplercam",
    "mount-hopkins": "keplercam",
    "kpno": "kitt-peak",
    "mount-lemmon": "mt-lemmon",
    "haute-provence": "ohp",
    "observatoire-de-haute-provence": "ohp",
    "caha": "calar-alto",
    "cerro-tololo": "ctio",
    "sutherland": "saao",
    "eso-la-silla": "la-silla",
    "eso-paranal": "paranal",
    "tcs": "muscat2",
}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_BY_NORM: dict[str, ObservingSite] = {_norm(s.key): s for s in SITES} | {
    _norm(alias): next(s for s in SITES if s.key == key) for alias, key in ALIASES.items()
}


def site_named(name: str) -> ObservingSite:
    """The site a name stands for; :class:`UnknownSiteError` naming the close names when there is none."""
    site = _BY_NORM.get(_norm(name))
    if site is not None:
        return site
    typed = _norm(name)
    names = [s.key for s in SITES] + list(ALIASES)
    close = difflib.get_close_matches(name.lower(), names, n=6, cutoff=0.6)
    close += [n for n in names if typed and (typed in _norm(n) or _norm(n) in typed) and n not in close]
    listed = ", ".join(close[:8]) if close else ", ".join(s.key for s in SITES[:12]) + ", ..."
    raise UnknownSiteError(
        f"No observatory named {name!r} is known. "
        + ("Close names: " if close else "Known names include: ")
        + listed
        + ".",
        hint="Give one of the names (the README lists them all), or the site's latitude, longitude and elevation.",
    )


def site_at(
    latitude_deg: float, longitude_deg: float, elevation_m: float, timezone: str | None = None
) -> ObservingSite:
    """A site given by its coordinates (east longitude, metres above sea level)."""
    name = f"{abs(latitude_deg):.4f}{'N' if latitude_deg >= 0 else 'S'} {abs(longitude_deg):.4f}" + (
        "E" if longitude_deg >= 0 else "W"
    )
    return ObservingSite(name, latitude_deg, longitude_deg, elevation_m, timezone, "given coordinates")
