"""The replica's data: the real TOI table plus synthetic, deterministic follow-up observations.

Every star of the TOI table gets observation rows whose counts match its ``Time Series
Observations`` / ``Spectroscopy Observations`` / ``Imaging Observations`` cells, generated lazily
on first use.  A few systems are curated on top; their ids are the constants below, for tests.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from exofop_mcp.replica.follow_up_rows import (
    COMPANION_COLUMNS,
    IMAGING_COLUMNS,
    SPECT_COLUMNS,
    TSERIES_COLUMNS,
    StarObservations,
    StarSummary,
    generate,
)
from exofop_mcp.replica.light_curve_files import LIGHT_CURVE_TICS, move_to_transit_nights
from exofop_mcp.replica.names import NameIndex, Resolver, load_aliases
from exofop_mcp.replica.tag_numbers import KINDS, TagAllocation, distinct_tags
from exofop_mcp.replica.toi_table import StarRecord, ToiTable

# --- TOI-1130: the five real time-series rows (as served by ExoFOP) among its 79 rows ------------
TOI_1130_TIC = 254113311
TOI_1130_REAL_TSERIES_LINES = (
    "254113311||TOI 1130.02|PEST (0.305 m)|ST-8XME|Rc|1.23|4.48|7.0|2020-03-30|230.0|184|Continuous|Full|8.3"
    "|tan|tfopwg|18493|",
    "254113311||TOI 1130.02|LCO-SSO-1.0m (1.0 m)|Sinistro, 1.0m|zs|0.389|1.8|9.0|2020-03-30|177.0|167|Continuous"
    "|Full|9.8|stockdale|tfopwg|18598|",
    "254113311||TOI 1130.02|LCO-SSO (1.0 m)|Sinistro|zs|0.39|2.44|13.0|2020-05-14|205.0|192|Continuous|Full|7.36"
    "|schwarz|tfopwg|19121|",
    "254113311||TOI 1130.02|LCO-SSO-1m0 (1.0 m)|SINISTRO|zs|0.389|2.1|6.0|2020-05-14|249.0|235|Continuous|Full"
    "|7.3|conti|tfopwg|19188|",
    "254113311||TOI 1130.02|LCO-SAAO-1m0 (1.0 m)|SINISTRO|zs|0.389|1.81|15.0|2020-06-07|272.0|260|Continuous"
    "|Full||collins|tfopwg|19442|nominal .02 with overlapping .01",
)
TOI_1130_REAL_TAGS = (18493, 18598, 19121, 19188, 19442)

# --- systems with unusual row counts -----------------------------------------------------------------
EMPTY_SYSTEM_TIC = 36440357  # TOI-546 (CoRoT-4): no observations of any kind (0/0/0 in the TOI table)
BUSY_SYSTEM_TIC = 181804752  # TOI-736 (LP 791-18): 350 time-series rows (the TOI table says 58)
BUSY_SYSTEM_TSERIES_ROWS = 350

# Ten ordinary, named systems with modest row counts (4-10 time series, 1-5 spectra, 1-3 images).
SOAK_SYSTEM_TICS = (
    271893367,  # TOI-150
    183120439,  # TOI-169
    262530407,  # TOI-177, GJ 3090
    55650590,  # TOI-206
    220479565,  # TOI-269
    170849515,  # TOI-555, HATS-76
    260004324,  # TOI-704, LHS 1815
    34068865,  # TOI-731, GJ 367
    362249359,  # TOI-833
    290348383,  # TOI-1099, HD 207496
)

# --- tags with special behaviour ---------------------------------------------------------------------
# TOI-7037: recent (2025) data, still proprietary: archives need a logged-in session.
PROPRIETARY_SYSTEM_TIC = 269343479
PROPRIETARY_TAGS = (496104, 496105, 496388)  # two time-series tags, one spectroscopy tag

# TOI-209: its ten time-series rows carry these awkward tags (and one ordinary tag).
HOSTILE_SYSTEM_TIC = 52204645
SPECIAL_TAGS: dict[str, int] = {
    "no_files": 412088,  # listed in the tables, but the tag holds no files: 200 HTML "no files" page
    "zip_slip": 412090,  # an entry named ../../evil.txt
    "absolute_path": 412092,  # an entry with an absolute path (/tmp/...)
    "symlink": 412094,  # an entry that is a symbolic link (S_IFLNK in the external attributes)
    "zip_bomb": 412096,  # ~1 MiB served, 1 GiB of zeros once unpacked (ratio ~1000:1)
    "too_many_entries": 412098,  # 20,000 tiny entries
    "corrupt": 412101,  # valid structure, damaged data (CRC mismatch)
    "no_top_folder": 412103,  # files spread over two top-level folders
    "flat": 412105,  # files at the root of the zip, no folder at all
    "missing_404": 498765,  # not a tag: answered with HTTP 404 (other unknown tags get a 200 page)
}
HOSTILE_TAGS = tuple(tag for name, tag in SPECIAL_TAGS.items() if name != "missing_404")
UNKNOWN_TAG = 499_999  # never allocated: the "no such tag" page

# --- names ---------------------------------------------------------------------------------------------
KEPLER_633_TIC = 169175503  # resolvable by name, not in the TOI table, no observations
AMBIGUOUS_NAME = "CPD-58 7912"  # resolves to two stars (num: 2)
AMBIGUOUS_NAME_TICS = (446549905, 446549906)  # TOI-1110 and TOI-2107, a 9-arcsec pair

COLUMNS = {
    "tseries": TSERIES_COLUMNS,
    "spect": SPECT_COLUMNS,
    "imaging": IMAGING_COLUMNS,
    "companions": COMPANION_COLUMNS,
}


@dataclass(frozen=True)
class CuratedSystem:
    counts: dict[str, int] = field(default_factory=dict)
    fixed_rows: dict[str, list[list[str]]] = field(default_factory=dict)
    pinned_tags: dict[str, tuple[int, ...]] = field(default_factory=dict)
    recent_tags: frozenset[int] = frozenset()
    repeated_rows: dict[str, int] = field(default_factory=dict)


CURATED: dict[int, CuratedSystem] = {
    TOI_1130_TIC: CuratedSystem(
        fixed_rows={"tseries": [line.split("|") for line in TOI_1130_REAL_TSERIES_LINES]},
    ),
    BUSY_SYSTEM_TIC: CuratedSystem(counts={"tseries": BUSY_SYSTEM_TSERIES_ROWS}),
    PROPRIETARY_SYSTEM_TIC: CuratedSystem(
        pinned_tags={"tseries": PROPRIETARY_TAGS[:2], "spect": PROPRIETARY_TAGS[2:]},
        recent_tags=frozenset(PROPRIETARY_TAGS),
        repeated_rows={"tseries": 0, "spect": 0},
    ),
    HOSTILE_SYSTEM_TIC: CuratedSystem(
        pinned_tags={"tseries": HOSTILE_TAGS},
        repeated_rows={"tseries": 0},
    ),
}


@dataclass(frozen=True)
class TagInfo:
    """A tag: whose it is, what kind, its summary rows, and any special behaviour."""

    tag: int
    tic: int
    kind: str
    rows: tuple[tuple[str, ...], ...]
    special: str | None = None
    proprietary: bool = False

    def cell(self, column: str, row: int = 0) -> str:
        if not self.rows:
            return ""
        return self.rows[row][COLUMNS[self.kind].index(column)]

    @property
    def toi(self) -> str:
        """Planet TOI of the tag (``1130.02``), or empty."""
        return self.cell("TOI").removeprefix("TOI ").strip()

    @property
    def date(self) -> dt.date:
        text = self.cell("Obs Date")
        return dt.date.fromisoformat(text) if text else dt.date(2020, 1, 1)

    @property
    def user(self) -> str:
        return self.cell("User")


class Dataset:
    """Lazy access to the TOI table, name resolution and per-star observations (memoised)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._table: ToiTable | None = None
        self._names: NameIndex | None = None
        self._allocation: TagAllocation | None = None
        self._observations: dict[int, StarObservations] = {}
        self._pinned: dict[int, tuple[int, str]] = {}

    # -- loading ---------------------------------------------------------------------------------
    @property
    def table(self) -> ToiTable:
        with self._lock:
            if self._table is None:
                self._table = ToiTable.load()
            return self._table

    @property
    def names(self) -> NameIndex:
        with self._lock:
            if self._names is None:
                self._names = NameIndex(self.table, load_aliases())
            return self._names

    @property
    def resolver(self) -> Resolver:
        return Resolver(self.table, self.names)

    @property
    def allocation(self) -> TagAllocation:
        with self._lock:
            if self._allocation is None:
                self._allocation = self._allocate()
            return self._allocation

    def _allocate(self) -> TagAllocation:
        tics: list[int] = []
        needs: list[tuple[int, int, int]] = []
        for star in self.table.stars.values():
            tics.append(star.tic)
            needs.append(tuple(self._allocated_count(star, kind) for kind in KINDS))  # type: ignore[arg-type]
        allocation = TagAllocation(tics, needs)
        for tic, curated in CURATED.items():
            for kind, tags in curated.pinned_tags.items():
                for tag in tags:
                    self._pinned[tag] = (tic, kind)
        for tag in TOI_1130_REAL_TAGS:
            self._pinned[tag] = (TOI_1130_TIC, "tseries")
        reserved = [*self._pinned, *SPECIAL_TAGS.values(), UNKNOWN_TAG]
        clashes = [tag for tag in reserved if allocation.is_allocated(tag)]
        if clashes:  # pragma: no cover - guarded by the tests
            raise RuntimeError(f"reserved tags collide with generated ones: {clashes}")
        return allocation

    def warm(self) -> None:
        """Load the table, the name index and the tag allocation now (about 0.3 s) rather than lazily."""
        _ = (self.table, self.names, self.allocation)

    # -- stars -----------------------------------------------------------------------------------
    def row_count(self, star: StarRecord, kind: str) -> int:
        curated = CURATED.get(star.tic)
        if curated and kind in curated.counts:
            return curated.counts[kind]
        return star.observation_count(kind)

    def _generated_tags(self, star: StarRecord, kind: str) -> int:
        curated = CURATED.get(star.tic) or CuratedSystem()
        generated_rows = self.row_count(star, kind) - len(curated.fixed_rows.get(kind, ()))
        return distinct_tags(generated_rows, curated.repeated_rows.get(kind))

    def _allocated_count(self, star: StarRecord, kind: str) -> int:
        curated = CURATED.get(star.tic) or CuratedSystem()
        return max(0, self._generated_tags(star, kind) - len(curated.pinned_tags.get(kind, ())))

    def star(self, tic: int) -> StarRecord | None:
        return self.table.stars.get(tic)

    def summary(self, star: StarRecord) -> StarSummary:
        curated = CURATED.get(star.tic) or CuratedSystem()
        tags = {}
        for kind in KINDS:
            tags[kind] = sorted([*self.allocation.tags(star.tic, kind), *curated.pinned_tags.get(kind, ())])
        return StarSummary(
            tic=star.tic,
            tois=star.tois,
            alerted=dt.date.fromisoformat(star.alerted),
            counts={kind: self.row_count(star, kind) for kind in KINDS},
            tags=tags,
            fixed_rows=curated.fixed_rows,
            recent_tags=curated.recent_tags,
            repeated_rows=curated.repeated_rows,
        )

    def observations(self, tic: int) -> StarObservations:
        with self._lock:
            cached = self._observations.get(tic)
            if cached is not None:
                return cached
            star = self.star(tic)
            observations = StarObservations() if star is None else generate(self.summary(star))
            if star is not None and tic in LIGHT_CURVE_TICS:  # their light curves hold transits: dates follow
                move_to_transit_nights(observations, star)
            self._observations[tic] = observations
            return observations

    def curated_tics(self) -> list[int]:
        """Stars whose rows make the whole-site tables (pages called without ``target=``)."""
        return [TOI_1130_TIC, BUSY_SYSTEM_TIC, PROPRIETARY_SYSTEM_TIC, HOSTILE_SYSTEM_TIC, *SOAK_SYSTEM_TICS]

    # -- tags ------------------------------------------------------------------------------------
    def tag_owner(self, tag: int) -> tuple[int, str] | None:
        allocation = self.allocation
        if tag in self._pinned:
            return self._pinned[tag]
        owner = allocation.owner(tag)
        return None if owner is None else (owner.tic, owner.kind)

    def tag(self, tag: int) -> TagInfo | None:
        owner = self.tag_owner(tag)
        if owner is None:
            return None
        tic, kind = owner
        tag_text = str(tag)
        tag_column = COLUMNS[kind].index("Tag")
        rows = tuple(tuple(row) for row in self.observations(tic).rows(kind) if row[tag_column] == tag_text)
        special = next((name for name, number in SPECIAL_TAGS.items() if number == tag), None)
        return TagInfo(tag, tic, kind, rows, special=special, proprietary=tag in PROPRIETARY_TAGS)

    def tags_of(self, tic: int) -> list[TagInfo]:
        """Every tag of a star, in time order per kind (time series, spectroscopy, imaging)."""
        found: list[TagInfo] = []
        observations = self.observations(tic)
        for kind in KINDS:
            seen: list[int] = []
            tag_column = COLUMNS[kind].index("Tag")
            for row in observations.rows(kind):
                if row[tag_column].isdigit() and int(row[tag_column]) not in seen:
                    seen.append(int(row[tag_column]))
            for number in seen:
                info = self.tag(number)
                if info is not None:
                    found.append(info)
        return found

    def resolve(self, target: str) -> list[int]:
        return self.resolver.resolve(target)
