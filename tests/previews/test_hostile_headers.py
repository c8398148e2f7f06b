"""Every count and size read from a file is bounded before use: hostile FITS cards, ECSV headers and wide
tables are refused quickly, with a reason and a documented code; well-formed FITS files are summarized as
astropy reads them."""

from __future__ import annotations

import asyncio
import gzip
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from exofop_mcp.api import Exofop
from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.previews import preview_file
from exofop_mcp.settings import Settings
from tests.helpers.hostile_files import write_hostile_fits

pytestmark = pytest.mark.anyio

SYSTEM = "TOI-1130"
FOLDER = "imaging/900002"
#: A refusal must come at once, not after some time budget: the caps act before any loop.
QUICK_SECONDS = 5.0

HOSTILE_FITS = [
    ("tfields", "over_limit", "TFIELDS = 999999999999 in HDU 1 is outside 0..999"),
    ("znaxis", "over_limit", "ZNAXIS = 2000000000 in HDU 1 is outside 0..999"),
    ("naxis", "over_limit", "NAXIS = 2000000000 in HDU 0 is outside 0..999"),
    ("bitpix", "unreadable_file", "BITPIX = 7 in HDU 0 is not a FITS pixel type"),
    ("no_end_text", "over_limit", "runs past 10,000 cards without an END card"),
    ("no_end_binary", "unreadable_file", "holds bytes that are not FITS header text"),
]


@pytest.fixture
def directory(settings: Settings) -> SystemDirectory:
    directory = SystemDirectory(settings.data_dir, SYSTEM)
    write_hostile_fits(directory.path / FOLDER)
    return directory


async def _refusal(settings: Settings, path: str) -> tuple[ExofopMcpError, float]:
    async with Exofop(settings) as exofop:
        started = time.monotonic()
        with pytest.raises(ExofopMcpError) as refused:
            await asyncio.wait_for(exofop.preview_file(SYSTEM, path), 60)
        return refused.value, time.monotonic() - started


@pytest.mark.parametrize(("name", "code", "reason"), HOSTILE_FITS)
async def test_hostile_fits_headers_are_refused_at_once(settings, directory, name, code, reason) -> None:
    error, elapsed = await _refusal(settings, f"{FOLDER}/{name}.fits")
    assert error.code == code and reason in str(error), str(error)
    assert f"{name}.fits" in str(error)
    assert elapsed < QUICK_SECONDS


def _ecsv(columns: list[str], rows: str = "1 2\n") -> str:
    return "# %ECSV 1.0\n# ---\n# datatype:\n" + "".join(f"# {c}\n" for c in columns) + rows


HOSTILE_ECSV = {
    "aliases": "# %ECSV 1.0\n# ---\n# a: &a [x, x, x, x]\n# b: &b [*a, *a, *a, *a]\n# datatype: [*b, *b]\na\n1\n",
    "columns": _ecsv([f"- {{name: c{i}, datatype: float64}}" for i in range(10_001)]),
    "cells": _ecsv(["- {name: a, datatype: string, subtype: 'float64[100000,100000]'}"], "a\n[1]\n"),
    "header": "# %ECSV 1.0\n# ---\n" + "# meta: {note: " + "x" * (2 * 2**20) + "}\n" + "a\n1\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_ECSV))
async def test_hostile_ecsv_headers_are_refused_at_once(settings, directory, name) -> None:
    (directory.path / FOLDER / f"{name}.ecsv").write_text(HOSTILE_ECSV[name])
    error, elapsed = await _refusal(settings, f"{FOLDER}/{name}.ecsv")
    assert error.code == "over_limit", str(error)
    assert elapsed < QUICK_SECONDS


async def test_a_table_wider_than_the_cap_is_refused(settings, directory) -> None:
    header = "\t".join(f"c{i}" for i in range(20_000))
    (directory.path / FOLDER / "wide.tbl").write_text(header + "\n" + "\t".join("1" * 20_000) + "\n")
    error, elapsed = await _refusal(settings, f"{FOLDER}/wide.tbl")
    assert error.code == "over_limit" and "20,000 columns" in str(error)
    assert elapsed < QUICK_SECONDS


def _well_formed() -> fits.HDUList:
    rng = np.random.default_rng(7)
    primary = fits.PrimaryHDU(np.zeros((4, 5, 6), dtype=np.int16))
    primary.header["OBJECT"] = "TIC 254113311"
    image = fits.ImageHDU(rng.normal(size=(3, 7)).astype(np.float32), name="SCI")
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="wave", format="E", array=np.arange(5.0)), fits.Column(name="id", format="10A")],
        name="CAT",
    )
    ascii_table = fits.TableHDU.from_columns([fits.Column(name="mag", format="F8.3", array=np.arange(4.0))])
    compressed = fits.CompImageHDU(np.arange(120 * 100, dtype=np.int32).reshape(100, 120), name="COMP")
    return fits.HDUList([primary, image, table, ascii_table, compressed])


@pytest.mark.parametrize("gzipped", [False, True])
def test_well_formed_fits_are_summarized_as_astropy_reads_them(tmp_path: Path, gzipped: bool) -> None:
    directory = SystemDirectory(tmp_path / "data", SYSTEM)
    folder = directory.path / FOLDER
    folder.mkdir(parents=True)
    plain = folder / "five.fits"
    _well_formed().writeto(plain)
    name = "five.fits"
    if gzipped:
        (folder / "five.fits.gz").write_bytes(gzip.compress(plain.read_bytes()))
        name = "five.fits.gz"
    summary = preview_file(directory, f"{FOLDER}/{name}").fits
    assert summary is not None
    with fits.open(folder / name) as hdul:
        assert summary.hdu_count == len(hdul)
        for ours, theirs in zip(summary.hdus, hdul, strict=True):
            assert ours.type == type(theirs).__name__
            assert ours.name == theirs.name
            if isinstance(theirs, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU):
                assert ours.shape == list(theirs.shape)
                assert ours.bitpix == theirs.header["BITPIX"]
            else:
                assert ours.columns == list(theirs.columns.names)
    assert summary.hdus[0].cards["OBJECT"] == "TIC 254113311"


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (2_000_000_000, 2), (10_000, 9_000)])
async def test_an_image_claiming_too_many_pixels_is_refused_at_once(settings, directory, width, height) -> None:
    (directory.path / FOLDER / "huge.png").write_bytes(_png_claiming(width, height))
    error, elapsed = await _refusal(settings, f"{FOLDER}/huge.png")
    assert error.code == "over_limit" and "pixels" in str(error), str(error)
    assert elapsed < QUICK_SECONDS


def test_a_light_curve_we_wrote_previews_with_its_astropy_tags(tmp_path: Path) -> None:
    # Our light curves carry astropy's own YAML tags (a Time column, !astropy.table.SerializedColumn): those
    # are read as plain data, while any other tag is still refused.
    from exofop_mcp.lightcurves.light_curve_files import ecsv_text

    system = SystemDirectory(tmp_path, "TOI-1130")
    folder = system.path / "light_curves" / "1"
    folder.mkdir(parents=True)
    times = 2458938.8 + np.arange(5) / 1440
    text = ecsv_text(times, np.ones(5), np.full(5, 1e-3), {}, {"tag": 1, "toi": "1130.02"})
    assert "!astropy.table.SerializedColumn" in text
    (folder / "lc.ecsv").write_text(text)
    preview = preview_file(system, "light_curves/1/lc.ecsv")
    assert preview.table is not None and preview.table.rows == 5
    (folder / "bad.ecsv").write_text(text.replace("!astropy.table.SerializedColumn", "!python/object/apply:os.system"))
    with pytest.raises(ExofopMcpError):
        preview_file(system, "light_curves/1/bad.ecsv")
