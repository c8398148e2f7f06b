"""Parsing the ways people write TESS targets: TIC ids, host TOIs, planet TOIs, names.

Accepted forms (any case; ``-``, ``_``, a space or nothing between prefix and number):

* TIC id:            ``254113311``, ``TIC 254113311``, ``TIC-254113311``, ``tic254113311``
* host TOI:          ``TOI-1130``, ``TOI 1130``, ``TOI_1130``, ``toi1130``
* planet candidate:  ``TOI-1130.01``, ``toi_1130.02``, ``1130.01``
* common name:       ``WASP-46``, ``Kepler-633``, ``TOI-1130 b`` (resolved by ExoFOP)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from exofop_mcp.errors import InvalidIdentifierError

ACCEPTED_FORMS = (
    "TIC ids (254113311, TIC 254113311, TIC-254113311), host TOIs (TOI-1130, toi_1130, TOI1130), "
    "planet candidates (TOI-1130.01, 1130.01) or a common name (WASP-46, Kepler-633, TOI-1130 b)"
)
MAX_QUERY_LENGTH = 100
MAX_TIC = 9_999_999_999

_SEP = r"\s*[_\-]?\s*"  # at most one dash or underscore: "TOI--1130" is a sign, not a separator
_TIC_RE = re.compile(rf"^(?:tic{_SEP})?(\d{{1,10}})$", re.IGNORECASE)
_TOI_RE = re.compile(rf"^toi{_SEP}(\d{{1,6}})(?:\.(\d+))?$", re.IGNORECASE)
_BARE_PLANET_RE = re.compile(r"^(\d{1,6})\.(\d+)$")
# Names: letters, digits, spaces and the punctuation that real star names use.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 +\-_.'*/()\[\]]*$")
# "TIC -254113311", "TOI -1130", "TOI--1130": a minus sign after a space or after the separator is a
# sign, not a separator.
_SIGNED_NUMBER = re.compile(r"^(?:tic|toi)(?:[\s_\-]*\s|\s*[_\-]\s*)[\-\u2212]\d", re.IGNORECASE)
_LOOKS_LIKE_TIC_OR_TOI = re.compile(rf"^(?:tic|toi){_SEP}\S*$", re.IGNORECASE)

IdentifierKind = Literal["tic", "toi", "planet", "name"]


@dataclass(frozen=True)
class Identifier:
    """One parsed query.  Exactly the fields of its ``kind`` are set."""

    kind: IdentifierKind
    raw: str
    tic: int | None = None
    toi_host: int | None = None
    toi_suffix: int | None = None
    name: str | None = None

    @property
    def planet_toi(self) -> str | None:
        """``"1130.01"`` for a planet candidate, else ``None``."""
        if self.toi_host is None or self.toi_suffix is None:
            return None
        return format_planet_toi(self.toi_host, self.toi_suffix)

    @property
    def exofop_target(self) -> str:
        """The value ExoFOP's ``target=`` parameter expects for this identifier."""
        if self.kind == "tic":
            return str(self.tic)
        if self.kind == "toi":
            return f"TOI{self.toi_host}"
        if self.kind == "planet":
            return f"TOI{self.planet_toi}"
        assert self.name is not None
        return self.name


def format_planet_toi(host: int, suffix: int) -> str:
    return f"{host}.{suffix:02d}"


def parse_identifier(query: object) -> Identifier:
    """Parse a user's query; raise :class:`InvalidIdentifierError` for anything unusable."""
    if not isinstance(query, str):
        raise InvalidIdentifierError(
            f"A target must be text, got {type(query).__name__}.", hint=f"Use one of: {ACCEPTED_FORMS}."
        )
    text = " ".join(query.split())
    if not text:
        raise InvalidIdentifierError("The target is empty.", hint=f"Use one of: {ACCEPTED_FORMS}.")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidIdentifierError(
            f"The target is {len(text)} characters long; no TESS target name is longer than {MAX_QUERY_LENGTH}.",
            hint=f"Use one of: {ACCEPTED_FORMS}.",
        )

    if _SIGNED_NUMBER.match(text):
        raise InvalidIdentifierError(
            f"{text!r} has a negative number; TIC ids and TOIs are positive.", hint=f"Use one of: {ACCEPTED_FORMS}."
        )
    if m := _TIC_RE.match(text):
        tic = int(m.group(1))
        if tic <= 0:
            raise InvalidIdentifierError(f"{text!r} is not a valid TIC id (TIC ids are positive).")
        return Identifier(kind="tic", raw=query, tic=tic)

    toi = _TOI_RE.match(text) or _BARE_PLANET_RE.match(text)
    if toi:
        host = int(toi.group(1))
        suffix_text = toi.group(2)
        if host <= 0:
            raise InvalidIdentifierError(f"{text!r} is not a valid TOI (TOI numbers are positive).")
        if suffix_text is None:
            return Identifier(kind="toi", raw=query, toi_host=host)
        if len(suffix_text) != 2 or int(suffix_text) == 0:
            raise InvalidIdentifierError(
                f"{text!r} is not a valid planet candidate: the part after the dot has two digits and starts at 01.",
                hint=f"For example TOI-{host}.01.",
            )
        return Identifier(kind="planet", raw=query, toi_host=host, toi_suffix=int(suffix_text))

    if _LOOKS_LIKE_TIC_OR_TOI.match(text) and not _looks_like_planet_name(text):
        raise InvalidIdentifierError(
            f"{text!r} starts like a TIC id or a TOI but is not one.", hint=f"Use one of: {ACCEPTED_FORMS}."
        )
    if not _NAME_RE.match(text) or not any(c.isalpha() for c in text):
        raise InvalidIdentifierError(
            f"{text!r} is not a TIC id, a TOI or a star name.", hint=f"Use one of: {ACCEPTED_FORMS}."
        )
    return Identifier(kind="name", raw=query, name=text)


def _looks_like_planet_name(text: str) -> bool:
    """``TOI-1130 b`` / ``TOI 1130 c`` are planet names, resolved by name."""
    return re.match(rf"^toi{_SEP}\d{{1,6}}\s*[a-z]$", text, re.IGNORECASE) is not None


def normalize_name(name: str) -> str:
    """A key for comparing names: case, spaces, ``-`` and ``_`` do not matter."""
    return re.sub(r"[\s\-_]+", "", name).lower()


def star_name_of(planet_name: str) -> str:
    """``"WASP-46 b"`` → ``"WASP-46"``; names without a planet letter come back unchanged."""
    m = re.match(r"^(.*\S)\s+[b-z]$", planet_name.strip())
    return m.group(1) if m else planet_name.strip()
