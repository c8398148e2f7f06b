"""The shipped TOI table snapshot: raw bytes (served byte-identical) and an index by star and TOI."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from importlib import resources
from typing import ClassVar

SNAPSHOT_RESOURCE = "toi_table.pipe.gz"


@dataclass
class StarRecord:
    """One star of the TOI table with the rows (planet candidates) that belong to it."""

    tic: int
    order: int
    rows: list[list[str]] = field(default_factory=list)
    columns: dict[str, int] = field(default_factory=dict, repr=False)

    def value(self, column: str, row: int = 0) -> str:
        return self.rows[row][self.columns[column]]

    def number(self, column: str, default: float = 0.0, row: int = 0) -> float:
        text = self.value(column, row)
        try:
            return float(text)
        except ValueError:
            return default

    @property
    def tois(self) -> list[str]:
        """Planet TOIs of the star, as in the table (``1130.01``)."""
        return [self.value("TOI", index) for index in range(len(self.rows))]

    @property
    def host_toi(self) -> int:
        return int(self.tois[0].split(".")[0])

    def observation_count(self, kind: str) -> int:
        column = ToiTable.COUNT_COLUMNS[kind]
        return max((int(row[self.columns[column]] or 0) for row in self.rows), default=0)

    @property
    def alerted(self) -> str:
        return min(row[self.columns["Date TOI Alerted (UTC)"]] or "2018-09-05" for row in self.rows)

    @property
    def comments(self) -> list[str]:
        return [self.value("Comments", index) for index in range(len(self.rows))]


class ToiTable:
    """The snapshot, loaded from the package data (about 50 ms)."""

    COUNT_COLUMNS: ClassVar[dict[str, str]] = {
        "tseries": "Time Series Observations",
        "spect": "Spectroscopy Observations",
        "imaging": "Imaging Observations",
    }

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self.lines: list[bytes] = lines
        self.header: list[str] = lines[0].decode("utf-8").split("|")
        self.columns = {name: index for index, name in enumerate(self.header)}
        self.stars: dict[int, StarRecord] = {}
        self.rows_by_host: dict[int, list[int]] = {}
        self.row_by_toi: dict[str, int] = {}
        tic_column = self.columns["TIC ID"]
        toi_column = self.columns["TOI"]
        for line_number, line in enumerate(lines[1:], start=1):
            cells = line.decode("utf-8").split("|")
            tic = int(cells[tic_column])
            star = self.stars.get(tic)
            if star is None:
                star = self.stars[tic] = StarRecord(tic=tic, order=len(self.stars), columns=self.columns)
            star.rows.append(cells)
            toi = cells[toi_column]
            self.row_by_toi[toi] = line_number
            self.rows_by_host.setdefault(int(toi.split(".")[0]), []).append(line_number)
        self.star_by_toi = {toi: int(self.lines[n].split(b"|", 1)[0]) for toi, n in self.row_by_toi.items()}

    @classmethod
    def load(cls) -> ToiTable:
        data = resources.files("exofop_mcp.replica").joinpath("data").joinpath(SNAPSHOT_RESOURCE).read_bytes()
        return cls(gzip.decompress(data))

    def host_lines(self, host_toi: int) -> list[bytes]:
        """Header plus the rows of one host TOI, exactly as in the snapshot."""
        return [self.lines[0], *(self.lines[n] for n in self.rows_by_host.get(host_toi, ()))]

    def toi_lines(self, toi: str) -> list[bytes]:
        line_number = self.row_by_toi.get(toi)
        return [self.lines[0]] if line_number is None else [self.lines[0], self.lines[line_number]]

    def tic_of_toi(self, toi: str) -> int | None:
        """TIC of a planet TOI (``1130.01``) or of a host TOI (``1130``)."""
        if "." in toi:
            return self.star_by_toi.get(toi)
        rows = self.rows_by_host.get(int(toi))
        return int(self.lines[rows[0]].split(b"|", 1)[0]) if rows else None
