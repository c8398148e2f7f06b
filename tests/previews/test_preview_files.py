"""Previews of each kind of file, and refusals of every way out of the system's directory."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

from exofop_mcp.downloads.sandbox import SystemDirectory
from exofop_mcp.errors import ExofopMcpError
from exofop_mcp.previews import FileOutsideSandboxError, SandboxFileNotFoundError, preview_file
from exofop_mcp.previews.preview import MAX_IMAGE_SIDE, PreviewError
from tests.helpers.preview_files import write_sample_files


@pytest.fixture
def system(tmp_path) -> SystemDirectory:
    return write_sample_files(tmp_path / "data")


def _size(p) -> int:
    return len(json.dumps(p.model_dump(mode="json", exclude_none=True)))


def test_large_jpeg_is_downscaled(system):
    p = preview_file(system, "imaging/900001/big.jpg")
    assert p.kind == "image" and p.image is not None
    assert (p.image.width, p.image.height) == (2400, 1800) and p.image.downscaled
    shown = Image.open(io.BytesIO(p.images[0].data))
    assert max(shown.size) == MAX_IMAGE_SIDE == max(p.image.shown_width, p.image.shown_height)
    assert p.images[0].mime_type == "image/jpeg" and _size(p) < 20_000


def test_small_png_is_shown_as_it_is(system):
    p = preview_file(system, "./imaging/900001/small.png")
    assert p.path == "imaging/900001/small.png" and p.image is not None and not p.image.downscaled
    assert p.images[0].data == (system.path / "imaging/900001/small.png").read_bytes()


def test_extracted_light_curve_brings_its_plot(system):
    p = preview_file(system, "light_curves/TOI-1130.02_20200330_LCO_zs.ecsv")
    assert p.kind == "light_curve" and p.table is not None and p.table.rows == 50
    assert p.image is not None and p.image.source_path == "light_curves/TOI-1130.02_20200330_LCO_zs.png"
    assert len(p.images) == 1 and p.images[0].mime_type == "image/png"
    flux = next(c for c in p.table.columns if c.name == "flux")
    assert flux.min == pytest.approx(0.99) and flux.max == pytest.approx(1.01)
    alone = preview_file(system, "light_curves/no_plot.ecsv")
    assert alone.kind == "table" and not alone.images


def test_text_is_paged_to_the_end(system):
    seen, offset, pages = "", 0, 0
    while offset is not None:
        p = preview_file(system, "imaging/900001/long_notes.txt", offset=offset, max_chars=5000)
        assert p.kind == "text" and p.text is not None and _size(p) < 20_000
        assert p.text.offset == offset
        seen += p.text.text
        offset = p.text.next_offset
        pages += 1
    assert seen == (system.path / "imaging/900001/long_notes.txt").read_text() and pages == 10


def test_fits_header_summary(system):
    p = preview_file(system, "imaging/900001/image.fits")
    assert p.kind == "fits" and p.fits is not None and p.fits.hdu_count == 2
    primary, spec = p.fits.hdus
    assert primary.shape == [20, 30] and primary.bitpix == 16 and primary.cards["OBJECT"] == "TIC 254113311"
    assert spec.name == "SPEC" and spec.columns == ["wave"]


def test_damaged_and_unknown_files(system):
    with pytest.raises(PreviewError, match="not a readable FITS file"):
        preview_file(system, "imaging/900001/broken.fits")
    p = preview_file(system, "imaging/900001/blob.bin")
    assert p.kind == "binary" and "exofop://TOI-1130/imaging/900001/blob.bin" in p.notes[0]


@pytest.mark.parametrize(
    "path",
    [
        "../TOI-1131/x.txt",
        "imaging/../../secret.txt",
        "/etc/passwd",
        "~/secret.txt",
        "C:/Windows/win.ini",
        "imaging\\900001\\small.png",
        "imaging/900001/small.png\0.txt",
        "..",
        ".",
    ],
)
def test_paths_out_are_refused(system, path):
    with pytest.raises(ExofopMcpError):
        preview_file(system, path)


def test_links_out_are_refused_and_links_inside_work(system, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    folder = system.path / "imaging" / "900001"
    os.symlink(secret, folder / "out.txt")
    os.symlink(tmp_path, folder / "out_dir")
    os.symlink(folder / "long_notes.txt", folder / "inside.txt")
    for path in ("imaging/900001/out.txt", "imaging/900001/out_dir/secret.txt"):
        with pytest.raises(FileOutsideSandboxError):
            preview_file(system, path)
    assert preview_file(system, "imaging/900001/inside.txt").path == "imaging/900001/long_notes.txt"


def test_encoded_names_are_taken_literally(system):
    for path in ("%2e%2e/%2e%2e/etc/passwd", "imaging%2F900001%2Fsmall.png"):
        with pytest.raises(SandboxFileNotFoundError):
            preview_file(system, path)


def test_a_folder_is_not_a_file(system):
    with pytest.raises(ExofopMcpError, match="is a folder"):
        preview_file(system, "imaging/900001")
