"""Turning what people type (TIC ids, TOIs, star and planet names) into TIC ids, as ExoFOP does."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from exofop_mcp.replica.toi_table import ToiTable

ALIASES_RESOURCE = "aliases.json"

_TIC = re.compile(r"^\s*(?:tic)?[\s_-]*(\d{1,10})\s*$", re.IGNORECASE)
_TOI = re.compile(r"^\s*toi[\s_-]*(\d{1,5})(?:\.(\d{1,2}))?\s*$", re.IGNORECASE)
_DOTTED_TOI = re.compile(r"^\s*(\d{1,5})\.(\d{2})\s*$")
# A planet name in the Comments column: "WASP-46 b", "HD 219666 b", "CoRoT-5b", "WASP-94 A b".
_PLANET_NAME = re.compile(r"^(?P<star>[A-Z][A-Za-z0-9+.\- ]*?\d[A-Za-z0-9+.\-]*?(?: [AB])?) ?(?P<letter>[b-i])$")
# A bare star name in the Comments column: "WASP-95", "KOI 6918.01".
_STAR_NAME = re.compile(
    r"^(?:WASP|HATS|HAT-P|KELT|HD|HIP|GJ|LHS|LP|LTT|TYC|K2|Kepler|KOI|CoRoT|Qatar|XO|TrES|NGTS|Gliese|Wolf)"
    r"[ -]?\d[\w.+ -]*$"
)


def normalize_name(name: str) -> str:
    """Names match ignoring case, spaces, ``-`` and ``_`` (``wasp46b`` == ``WASP-46 b``)."""
    return re.sub(r"[\s_-]+", "", name).lower()


@dataclass(frozen=True)
class Identifier:
    """What a target string denotes: a TIC id, a TOI (``1130`` or ``1130.01``) or a name."""

    kind: str
    value: str


def parse_identifier(text: str) -> Identifier:
    match = _TOI.match(text)
    if match:
        host, suffix = match.groups()
        return Identifier("toi", f"{int(host)}.{int(suffix):02d}" if suffix else str(int(host)))
    match = _DOTTED_TOI.match(text)
    if match:
        return Identifier("toi", f"{int(match.group(1))}.{match.group(2)}")
    match = _TIC.match(text)
    if match:
        return Identifier("tic", str(int(match.group(1))))
    return Identifier("name", text.strip())


def names_in_comment(comment: str) -> list[str]:
    """Star and planet names mentioned in a Comments cell (several may be separated by ``/``)."""
    found: list[str] = []
    for segment in re.split(r"[/;]", comment):
        text = segment.strip()
        if not text or len(text) > 30:
            continue
        match = _PLANET_NAME.match(text)
        if match:
            found += [match.group("star").strip(), text]
        elif _STAR_NAME.match(text):
            found.append(text)
    return found


class NameIndex:
    """Normalised name -> TIC ids, from the TOI table's Planet Name/Comments plus ``aliases.json``."""

    def __init__(self, table: ToiTable, aliases: dict[str, list[int]]) -> None:
        self._index: dict[str, list[int]] = {}
        self.names_by_tic: dict[int, list[str]] = {}
        for star in table.stars.values():
            for row in range(len(star.rows)):
                planet_name = star.value("Planet Name", row)
                candidates = names_in_comment(star.value("Comments", row))
                if planet_name:
                    candidates += names_in_comment(planet_name) or [planet_name]
                for name in candidates:
                    self._add(name, star.tic)
        for name, tics in aliases.items():
            for tic in tics:
                self._add(name, tic)

    def _add(self, name: str, tic: int) -> None:
        key = normalize_name(name)
        if not key:
            return
        tics = self._index.setdefault(key, [])
        if tic not in tics:
            tics.append(tic)
        names = self.names_by_tic.setdefault(tic, [])
        if name not in names:
            names.append(name)

    def lookup(self, name: str) -> list[int]:
        return list(self._index.get(normalize_name(name), ()))

    def ambiguous(self) -> dict[str, list[int]]:
        return {key: tics for key, tics in self._index.items() if len(tics) > 1}


def load_star_facts() -> dict[int, dict[str, float]]:
    """Coordinates and magnitudes of stars without a TOI (``aliases.json``'s ``stars``)."""
    text = resources.files("exofop_mcp.replica").joinpath("data").joinpath(ALIASES_RESOURCE).read_text("utf-8")
    raw = json.loads(text)
    return {int(tic): dict(facts) for tic, facts in raw.get("stars", {}).items()}


def load_aliases() -> dict[str, list[int]]:
    text = resources.files("exofop_mcp.replica").joinpath("data").joinpath(ALIASES_RESOURCE).read_text("utf-8")
    raw = json.loads(text)
    return {name: [int(tic) for tic in tics] for name, tics in raw["names"].items()}


class Resolver:
    """Resolves targets like ``gototicid.php`` and the ``target=`` parameter do."""

    def __init__(self, table: ToiTable, names: NameIndex) -> None:
        self._table = table
        self._names = names

    def resolve(self, text: str) -> list[int]:
        """TIC ids for a target: one, several (ambiguous name) or none."""
        identifier = parse_identifier(text)
        if identifier.kind == "tic":
            return [int(identifier.value)] if int(identifier.value) > 0 else []
        if identifier.kind == "toi":
            tic = self._table.tic_of_toi(identifier.value)
            return [] if tic is None else [tic]
        return self._names.lookup(identifier.value)
