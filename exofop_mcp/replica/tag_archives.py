"""Tag archives: what observers uploaded, as deterministic zips and tars cached on disk.

A tag's archive holds one top-level folder (``TIC254113311.01_20200330_PEST_Rc/``) with files that
depend on the kind of observation: AstroImageJ measurement tables, CSV light curves, PNG plots and
FITS images for time series; FITS spectra for spectroscopy; contrast curves and images for imaging.
The same tag gives the same bytes on every run.  Archives are written once to the cache directory,
then streamed from there; hostile variants (zip-slip, symlinks, bombs...) exist for special tags.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import os
import random
import re
import shutil
import struct
import tempfile
import threading
import weakref
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exofop_mcp.replica.archive_writers import Entry, bytes_producer, directory, write_tar, write_zip
from exofop_mcp.replica.dataset import Dataset, TagInfo
from exofop_mcp.replica.file_formats import (
    LightCurve,
    aij_measurements,
    contrast_curve_csv,
    fits_image,
    light_curve_csv,
    png_plot,
    spectrum_pixels,
    star_field_image,
    transit_light_curve,
)
from exofop_mcp.replica.toi_table import StarRecord

FORMAT_VERSION = 1
TOO_MANY_ENTRIES = 20_000
BOMB_BLOCK = 16 << 20
BOMB_BLOCKS = 64  # 1 GiB of zeros once inflated
FILE_ID_STRIDE = 100  # file id = tag * 100 + position of the file in the tag


@dataclass(frozen=True)
class Naming:
    folder: str
    stem: str
    instrument: str


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]", "", text)


def naming(info: TagInfo) -> Naming:
    """Folder and file-name stem in the observers' usual style."""
    planet = (info.toi.split(".")[1] if "." in info.toi else "01") or "01"
    date = info.date.strftime("%Y%m%d")
    telescope = info.cell("Telescope")
    short, _, aperture_text = telescope.partition(" (")
    short = _clean(short)
    if info.kind == "tseries":
        filter_name = _clean(info.cell("Filter"))
        try:
            aperture = float(aperture_text.split(" ")[0])
        except ValueError:
            aperture = 0.0
        with_aperture = short if re.search(r"\dm\d$", short) or not aperture else f"{short}{round(aperture, 1):g}m"
        base = short.split("-1m0")[0].split("-2m0")[0]
        return Naming(
            folder=f"TIC{info.tic}.{planet}_{date}_{base}_{filter_name}",
            stem=f"TIC{info.tic}-{planet}_{date}_{with_aperture}_{filter_name}",
            instrument=with_aperture,
        )
    instrument = _clean(info.cell("Instrument")) or short
    if info.kind == "imaging":
        filter_name = _clean(info.cell("Filter"))
        return Naming(
            folder=f"TIC{info.tic}.{planet}_{date}_{instrument}_{filter_name}",
            stem=f"TIC{info.tic}-{planet}_{date}_{instrument}_{filter_name}",
            instrument=instrument,
        )
    return Naming(
        folder=f"TIC{info.tic}.{planet}_{date}_{instrument}",
        stem=f"TIC{info.tic}-{planet}_{date}_{instrument}",
        instrument=instrument,
    )


def _julian_date(date: dt.date) -> float:
    return date.toordinal() + 1721424.5


def _planet_value(star: StarRecord | None, toi: str, column: str, default: float) -> float:
    if star is None:
        return default
    for index in range(len(star.rows)):
        if star.value("TOI", index) == toi:
            return star.number(column, default, index)
    return star.number(column, default)


def _notes_text(info: TagInfo) -> bytes:
    lines = [f"TIC {info.tic} (TOI {info.toi or '?'}) - tag {info.tag}", ""]
    columns = {
        "tseries": ("Telescope", "Camera", "Filter"),
        "spect": ("Telescope", "Instrument"),
        "imaging": ("Telescope", "Instrument", "Filter"),
    }[info.kind]
    for row in range(len(info.rows)):
        lines.append(" / ".join(info.cell(column, row) for column in columns))
    lines += [
        f"Observer: {info.user}",
        f"Date (UT): {info.date.isoformat()}",
        f"Notes: {info.cell('Notes') or 'none'}",
        "",
        "Uploaded to ExoFOP-TESS for the TFOP working group.",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _row_curve(info: TagInfo, row: int, points: int, minutes: float, depth: float, duration: float) -> LightCurve:
    seed = f"{info.tag}:{row}"
    start = _julian_date(info.date) + 0.05 + random.Random(seed).uniform(0, 0.2)
    return transit_light_curve(seed, start, points, minutes * 60 / points, depth, duration)


def _measurements_bytes(curve: Callable[[], LightCurve], exposure: float) -> bytes:
    return aij_measurements(curve(), exposure)


def _csv_bytes(curve: Callable[[], LightCurve]) -> bytes:
    return light_curve_csv(curve())


def _png_bytes(curve: Callable[[], LightCurve]) -> bytes:
    return png_plot(curve().flux)


def _frame_bytes(index: int) -> bytes:
    return b"%d\n" % index


def _tseries_files(info: TagInfo, star: StarRecord | None, names: Naming, sized: bool) -> list[Entry]:
    folder = names.folder
    entries: list[Entry] = []
    depth = _planet_value(star, info.toi, "Depth (ppm)", 5000.0)
    duration = _planet_value(star, info.toi, "Duration (hours)", 2.5)
    for row in range(len(info.rows)):
        filter_name = _clean(info.cell("Filter", row))
        stem = names.stem.rsplit("_", 1)[0] + f"_{filter_name}"
        points = max(20, min(1200, int(info.cell("Num Obs", row) or 200)))
        minutes = float(info.cell("Obs Duration", row) or 240)
        curve = functools.partial(_row_curve, info, row, points, minutes, depth, duration)
        exposure = max(5.0, minutes * 60 / points * 0.8)
        entries += [
            Entry(
                f"{folder}/{stem}_measurements.tbl",
                bytes_producer(functools.partial(_measurements_bytes, curve, exposure)),
                file_type="Light_Curve",
                description=f"AstroImageJ measurements, {filter_name}",
            ),
            Entry(
                f"{folder}/{stem}_lightcurve.csv",
                bytes_producer(functools.partial(_csv_bytes, curve)),
                file_type="Light_Curve",
                description=f"detrended light curve, {filter_name}",
            ),
            Entry(
                f"{folder}/{stem}_lightcurve.png",
                bytes_producer(functools.partial(_png_bytes, curve)),
                file_type="Plot",
                description=f"light curve plot, {filter_name}",
                compress=False,
            ),
        ]
    width = 128 + 32 * (info.tag % 5)
    if sized:
        entries.append(
            Entry(
                f"{folder}/{names.stem}_stack.fits",
                file_type="Image",
                padding=True,
                description="calibrated image stack",
                compress=False,
                seed=f"pad:{info.tag}",
            )
        )
    else:
        entries.append(
            Entry(
                f"{folder}/{names.stem}_field.fits",
                compress=False,
                file_type="Image",
                description="calibrated science frame",
                produce=bytes_producer(
                    lambda: fits_image(
                        star_field_image(f"field:{info.tag}", width, width),
                        (width, width),
                        [
                            ("OBJECT", f"TIC {info.tic}", ""),
                            ("DATE-OBS", info.date.isoformat(), ""),
                            ("TELESCOP", info.cell("Telescope")[:60], ""),
                            ("FILTER", info.cell("Filter"), ""),
                        ],
                    )
                ),
            )
        )
    entries.append(
        Entry(
            f"{folder}/{names.stem}_notes.txt",
            bytes_producer(lambda: _notes_text(info)),
            file_type="Notes",
            description="observing notes",
        )
    )
    return entries


def _spect_files(info: TagInfo, names: Naming, sized: bool) -> list[Entry]:
    folder = names.folder
    length = 4096 * (1 + info.tag % 4)
    resolution = info.cell("Spectral resolution") or "0"
    entries = [
        Entry(
            f"{folder}/{names.stem}_spectrum.fits",
            compress=False,
            file_type="Spectrum",
            description=f"extracted spectrum, R={resolution}",
            produce=bytes_producer(
                lambda: fits_image(
                    spectrum_pixels(f"spectrum:{info.tag}", length),
                    (length,),
                    [
                        ("OBJECT", f"TIC {info.tic}", ""),
                        ("DATE-OBS", info.date.isoformat(), ""),
                        ("INSTRUME", info.cell("Instrument")[:60], ""),
                        ("CRVAL1", 4100.0, "Angstrom"),
                        ("CDELT1", 0.05, "Angstrom per pixel"),
                        ("CTYPE1", "WAVE", ""),
                        ("BUNIT", "normalized", ""),
                    ],
                )
            ),
        ),
        Entry(
            f"{folder}/{names.stem}_notes.txt",
            bytes_producer(lambda: _notes_text(info)),
            file_type="Notes",
            description="observing notes",
        ),
    ]
    if sized:
        entries.append(
            Entry(
                f"{folder}/{names.stem}_raw.fits",
                file_type="Spectrum",
                padding=True,
                compress=False,
                description="raw echelle frame",
                seed=f"pad:{info.tag}",
            )
        )
    return entries


def _imaging_files(info: TagInfo, names: Naming, sized: bool) -> list[Entry]:
    folder = names.folder
    limit = 4.5 + (info.tag % 7) * 0.5
    entries = [
        Entry(
            f"{folder}/{names.stem}_contrast.csv",
            bytes_producer(lambda: contrast_curve_csv(f"contrast:{info.tag}", limit)),
            file_type="Contrast_Curve",
            description="5-sigma contrast curve",
        ),
        Entry(
            f"{folder}/{names.stem}_contrast.png",
            compress=False,
            file_type="Plot",
            description="contrast curve plot",
            produce=bytes_producer(
                lambda: png_plot(
                    [
                        -float(line.split(b",")[1])
                        for line in contrast_curve_csv(f"contrast:{info.tag}", limit).splitlines()[1:]
                    ]
                )
            ),
        ),
    ]
    if sized:
        entries.append(
            Entry(
                f"{folder}/{names.stem}_cube.fits",
                file_type="Image",
                padding=True,
                compress=False,
                description="speckle data cube",
                seed=f"pad:{info.tag}",
            )
        )
    else:
        entries.append(
            Entry(
                f"{folder}/{names.stem}_reconstructed.fits",
                compress=False,
                file_type="Image",
                description="reconstructed image",
                produce=bytes_producer(
                    lambda: fits_image(
                        star_field_image(f"image:{info.tag}", 128, 128, stars=2),
                        (128, 128),
                        [("OBJECT", f"TIC {info.tic}", ""), ("DATE-OBS", info.date.isoformat(), "")],
                    )
                ),
            )
        )
    entries.append(
        Entry(
            f"{folder}/{names.stem}_notes.txt",
            bytes_producer(lambda: _notes_text(info)),
            file_type="Notes",
            description="observing notes",
        )
    )
    return entries


def natural_entries(info: TagInfo, star: StarRecord | None, sized: bool) -> list[Entry]:
    names = naming(info)
    if info.kind == "tseries":
        files = _tseries_files(info, star, names, sized)
    elif info.kind == "spect":
        files = _spect_files(info, names, sized)
    else:
        files = _imaging_files(info, names, sized)
    return [directory(names.folder), *files]


def hostile_entries(info: TagInfo, base: list[Entry]) -> list[Entry]:
    """Entries of the special tags whose archives misbehave (see dataset.SPECIAL_TAGS)."""
    folder = naming(info).folder
    special = info.special
    if special == "zip_slip":
        return [
            *base,
            Entry(
                "../../evil.txt",
                bytes_producer(lambda: b"this file escaped the extraction folder\n"),
                file_type="Notes",
                description="notes",
            ),
        ]
    if special == "absolute_path":
        return [
            *base,
            Entry(
                "/tmp/exofop-replica-absolute.txt",
                bytes_producer(lambda: b"this file was written to an absolute path\n"),
                file_type="Notes",
                description="notes",
            ),
        ]
    if special == "symlink":
        return [
            *base,
            Entry(
                f"{folder}/calibration",
                kind="symlink",
                link_target="../../../../etc/passwd",
                file_type="Notes",
                description="calibration files",
            ),
        ]
    if special == "no_top_folder":
        second = f"TIC{info.tic}_calibration"
        return [
            *base,
            directory(second),
            Entry(
                f"{second}/master_flat_notes.txt",
                bytes_producer(lambda: b"flat field built from 21 frames\n"),
                file_type="Notes",
                description="calibration notes",
            ),
        ]
    if special == "flat":
        return [dataclasses.replace(entry, name=entry.name.split("/", 1)[1]) for entry in base if entry.kind != "dir"]
    if special == "too_many_entries":
        frames = [
            Entry(
                f"{folder}/frames/f{index:05d}.txt",
                bytes_producer(functools.partial(_frame_bytes, index)),
                file_type="Image",
                description="frame",
                compress=False,
            )
            for index in range(TOO_MANY_ENTRIES)
        ]
        return [*base, directory(f"{folder}/frames"), *frames]
    return base


def write_zip_bomb(info: TagInfo, destination: Path, date_time: tuple[int, int, int, int, int, int]) -> None:
    """A small zip (about 1 MiB) holding 1 GiB of zeros: one FITS-named member, deflated."""
    names = naming(info)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * BOMB_BLOCK) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    zeros = b"\0" * BOMB_BLOCK
    crc = 0
    for _ in range(BOMB_BLOCKS):
        crc = zlib.crc32(zeros, crc)
    uncompressed = BOMB_BLOCK * BOMB_BLOCKS
    compressed = len(block) * BOMB_BLOCKS + len(tail)
    year, month, day, hour, minute, second = date_time
    dos_time = hour << 11 | minute << 5 | second // 2
    dos_date = (year - 1980) << 9 | month << 5 | day
    members = [
        (f"{names.folder}/", b"", 0, 0, 0, 0),
        (f"{names.folder}/{names.stem}_stack.fits", None, 8, crc, compressed, uncompressed),
    ]
    central = b""
    with destination.open("wb") as handle:
        for name, data, method, member_crc, size, raw_size in members:
            encoded = name.encode("utf-8")
            offset = handle.tell()
            handle.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    20,
                    0,
                    method,
                    dos_time,
                    dos_date,
                    member_crc,
                    size,
                    raw_size,
                    len(encoded),
                    0,
                )
                + encoded
            )
            if data is None:
                for _ in range(BOMB_BLOCKS):
                    handle.write(block)
                handle.write(tail)
            external = (0o40755 << 16 | 0x10) if name.endswith("/") else (0o100644 << 16)
            central += (
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    0x0314,
                    20,
                    0,
                    method,
                    dos_time,
                    dos_date,
                    member_crc,
                    size,
                    raw_size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    external,
                    offset,
                )
                + encoded
            )
        start = handle.tell()
        handle.write(central)
        handle.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0))


def damage_offsets(path: Path, archive_format: str) -> tuple[int, ...]:
    """Byte offsets to flip so the archive still looks right but fails its checks.

    Zip: eight bytes in the middle of the largest member's data (CRC mismatch or bad deflate).
    Tar: bytes of the first header's name field (header checksum mismatch).
    """
    if archive_format == "tar":
        return tuple(range(0, 8))
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if info.compress_size > 16]
        if not members:
            return ()
        largest = max(members, key=lambda info: info.compress_size)
    with path.open("rb") as handle:
        handle.seek(largest.header_offset)
        header = handle.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = largest.header_offset + 30 + name_length + extra_length
    middle = start + largest.compress_size // 2
    return tuple(range(middle, middle + 8))


def file_id(tag: int, position: int) -> int:
    return tag * FILE_ID_STRIDE + position


class ArchiveStore:
    """Builds tag archives on first request and keeps them in a cache directory."""

    def __init__(self, dataset: Dataset, cache_dir: str | None = None) -> None:
        self._dataset = dataset
        self._configured_dir = Path(cache_dir) if cache_dir else None
        self._temp_dir: Path | None = None
        self._dir_lock = threading.Lock()
        self._locks: dict[Path, asyncio.Lock] = {}
        self._damage: dict[Path, tuple[int, ...]] = {}

    def set_cache_dir(self, cache_dir: str | None) -> None:
        self._configured_dir = Path(cache_dir) if cache_dir else None

    def reset_locks(self) -> None:
        self._locks.clear()

    @property
    def directory(self) -> Path:
        if self._configured_dir is not None:
            self._configured_dir.mkdir(parents=True, exist_ok=True)
            return self._configured_dir
        with self._dir_lock:
            if self._temp_dir is None:
                self._temp_dir = Path(tempfile.mkdtemp(prefix="exofop-replica-"))
                weakref.finalize(self, shutil.rmtree, str(self._temp_dir), True)
            return self._temp_dir

    def entries(self, info: TagInfo, size: int | None) -> list[Entry]:
        """Members of the tag's archive (no content is generated)."""
        if info.special == "no_files":
            return []
        base = natural_entries(info, self._dataset.star(info.tic), sized=size is not None)
        return hostile_entries(info, base)

    def files(self, info: TagInfo, size: int | None) -> list[tuple[int, Entry]]:
        """(file id, entry) for each regular file of the tag, as the file list shows them."""
        found = []
        for position, entry in enumerate(self.entries(info, size)):
            if entry.kind == "file":
                found.append((file_id(info.tag, position), entry))
        return found

    def cache_path(self, info: TagInfo, archive_format: str, size: int | None) -> Path:
        label = "natural" if size is None else str(size)
        special = info.special or "plain"
        return self.directory / f"tag{info.tag}-{special}-{label}-v{FORMAT_VERSION}.{archive_format}"

    async def archive(self, info: TagInfo, archive_format: str, size: int | None) -> Path:
        """Path of the (cached) archive, building it in a worker thread on first use."""
        path = self.cache_path(info, archive_format, size)
        if path.exists():
            return path
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            if not path.exists():
                await asyncio.to_thread(self.build, info, archive_format, size, path)
        return path

    def build(self, info: TagInfo, archive_format: str, size: int | None, path: Path) -> None:
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
        date_time = (info.date.year, info.date.month, info.date.day, 12, 0, 0)
        try:
            if info.special == "zip_bomb" and archive_format == "zip":
                write_zip_bomb(info, partial, date_time)
            elif archive_format == "zip":
                write_zip(self.entries(info, size), partial, date_time, size)
            else:
                write_tar(self.entries(info, size), partial, date_time, size)
            if info.special == "corrupt":
                _flip(partial, damage_offsets(partial, archive_format))
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    async def star_archive(self, tic: int, infos: list[TagInfo], archive_format: str) -> Path:
        """All files of a star's tags, one ``TAG_folder`` per tag (natural sizes), cached like tag archives."""
        digest = hashlib.sha256(",".join(str(info.tag) for info in infos).encode()).hexdigest()[:12]
        path = self.directory / f"star{tic}-{digest}-v{FORMAT_VERSION}.{archive_format}"
        if path.exists():
            return path
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            if not path.exists():
                await asyncio.to_thread(self._build_star, infos, archive_format, path)
        return path

    def _build_star(self, infos: list[TagInfo], archive_format: str, path: Path) -> None:
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
        latest = max(info.date for info in infos)
        date_time = (latest.year, latest.month, latest.day, 12, 0, 0)
        # Two tags may share a folder name (same night, telescope and filter): prefix the tag number.
        entries = [
            dataclasses.replace(entry, name=f"{info.tag}_{entry.name}")
            for info in infos
            for entry in natural_entries(info, self._dataset.star(info.tic), sized=False)
        ]
        try:
            writer = write_zip if archive_format == "zip" else write_tar
            writer(entries, partial, date_time, None)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    def damage_for(self, path: Path, archive_format: str) -> tuple[int, ...]:
        """Offsets to flip when a ``corrupt`` fault hits this (cached) archive."""
        if path not in self._damage:
            self._damage[path] = damage_offsets(path, archive_format)
        return self._damage[path]


def _flip(path: Path, offsets: tuple[int, ...]) -> None:
    with path.open("r+b") as handle:
        for offset in offsets:
            handle.seek(offset)
            value = handle.read(1)
            if value:
                handle.seek(offset)
                handle.write(bytes([value[0] ^ 0xFF]))
