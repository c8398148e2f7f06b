"""Where the observatories of TFOP uploads are: enough to place a site within a kilometre.

The observatory's position on Earth moves BJD_TDB by at most ~21 ms, so a site a kilometre off
changes nothing that matters; an unknown site falls back to the geocentre.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    name: str
    latitude_deg: float
    longitude_deg: float  # east positive
    height_m: float


SIDING_SPRING = Site("Siding Spring Observatory", -31.2733, 149.0644, 1165)
SUTHERLAND = Site("South African Astronomical Observatory", -32.3797, 20.8107, 1760)
CERRO_TOLOLO = Site("Cerro Tololo Inter-American Observatory", -30.1673, -70.8046, 2198)
MCDONALD = Site("McDonald Observatory", 30.6799, -104.0151, 2070)
TEIDE = Site("Teide Observatory", 28.3003, -16.5122, 2390)
HALEAKALA = Site("Haleakala Observatory", 20.7075, -156.2571, 3055)
LA_SILLA = Site("La Silla Observatory", -29.2563, -70.7380, 2347)
OUKAIMEDEN = Site("Oukaimeden Observatory", 31.2061, -7.8664, 2751)
EL_SAUCE = Site("Observatorio El Sauce", -30.4726, -70.7649, 1550)
PERTH = Site("Perth Exoplanet Survey Telescope", -31.9916, 115.7627, 33)
FLWO = Site("Fred Lawrence Whipple Observatory", 31.6811, -110.8783, 2345)
PARANAL = Site("Paranal Observatory", -24.6272, -70.4048, 2635)
OKAYAMA = Site("Okayama Astro-Complex", 34.5764, 133.5942, 372)
LICK = Site("Lick Observatory", 37.3414, -121.6429, 1283)

#: Name fragments (lower case, separators removed) and their sites; the first fragment found wins,
#: so the more specific names come first.
_FRAGMENTS: tuple[tuple[str, Site], ...] = (
    ("lcosso", SIDING_SPRING),
    ("lcocoj", SIDING_SPRING),
    ("lcosaao", SUTHERLAND),
    ("lcocpt", SUTHERLAND),
    ("lcoctio", CERRO_TOLOLO),
    ("lcolsc", CERRO_TOLOLO),
    ("lcomcd", MCDONALD),
    ("lcoelp", MCDONALD),
    ("lcoteid", TEIDE),
    ("lcotfn", TEIDE),
    ("lcohal", HALEAKALA),
    ("lcoogg", HALEAKALA),
    ("lcofts", SIDING_SPRING),
    ("lcoftn", HALEAKALA),
    ("muscat4", SIDING_SPRING),
    ("muscat3", HALEAKALA),
    ("muscat2", TEIDE),
    ("muscat", OKAYAMA),
    ("trappistnorth", OUKAIMEDEN),
    ("trappistn", OUKAIMEDEN),
    ("trappistsouth", LA_SILLA),
    ("trappists", LA_SILLA),
    ("speculoos", PARANAL),
    ("ngts", PARANAL),
    ("extra", LA_SILLA),
    ("mearthsouth", CERRO_TOLOLO),
    ("mearths", CERRO_TOLOLO),
    ("elsauce", EL_SAUCE),
    ("obstech", EL_SAUCE),
    ("pest", PERTH),
    ("keplercam", FLWO),
    ("flwo", FLWO),
    ("tcs", TEIDE),
    ("teide", TEIDE),
    ("saao", SUTHERLAND),
    ("sso", SIDING_SPRING),
    ("ctio", CERRO_TOLOLO),
    ("lasilla", LA_SILLA),
    ("lick", LICK),
)

#: LCO site codes in image names (``cpt1m010-fa16-20210523-0150-e91.fits``): the site and the name
#: TFOP observers give it in their file names.
LCO_SITE_CODES: dict[str, tuple[Site, str]] = {
    "cpt": (SUTHERLAND, "SAAO"),
    "elp": (MCDONALD, "McD"),
    "lsc": (CERRO_TOLOLO, "CTIO"),
    "coj": (SIDING_SPRING, "SSO"),
    "ogg": (HALEAKALA, "HAL"),
    "tfn": (TEIDE, "Teid"),
}
_LCO_LABEL = re.compile(r"^(cpt|elp|lsc|coj|ogg|tfn)([0-9])m([0-9])[0-9]{2}\b", re.IGNORECASE)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def find_site(*names: str | None) -> Site | None:
    """The site of the first name (telescope, observatory from the file name...) that is recognised."""
    for name in names:
        if not name:
            continue
        key = _key(name)
        for fragment, site in _FRAGMENTS:
            if fragment in key:
                return site
    return None


def lco_site_of_labels(labels: list[str]) -> tuple[Site, str] | None:
    """The site and TFOP name (``LCO-SAAO-1m0``) of LCO image names, when they all name one telescope class."""
    found = set()
    for label in labels[:50]:
        match = _LCO_LABEL.match(label.strip().rsplit("/", 1)[-1])
        if match is None:
            return None
        found.add((match.group(1).lower(), f"{match.group(2)}m{match.group(3)}"))
    if len(found) != 1:
        return None
    code, size = found.pop()
    site, name = LCO_SITE_CODES[code]
    return site, f"LCO-{name}-{size}"
