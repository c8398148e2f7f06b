"""Files of every kind a preview handles, written into a system's directory of a test sandbox."""

from __future__ import annotations

import io
from pathlib import Path

from exofop_mcp.downloads.sandbox import SystemDirectory


def write_sample_files(data_dir: Path, system: str = "TOI-1130") -> SystemDirectory:
    """A big JPEG, a small PNG, an extracted light curve (.ecsv + .png), a long text and a FITS file."""
    import numpy as np
    from astropy.io import fits
    from astropy.table import Table
    from PIL import Image

    directory = SystemDirectory(data_dir, system)
    folder = directory.path / "imaging" / "900001"
    folder.mkdir(parents=True, exist_ok=True)
    gradient = np.tile(np.linspace(0, 255, 2400, dtype=np.uint8), (1800, 1))
    Image.fromarray(np.stack([gradient, gradient.T[:1800, :1800].repeat(2, axis=1)[:, :2400], gradient], axis=-1)).save(
        folder / "big.jpg", "JPEG", quality=90
    )
    Image.new("L", (64, 32), 128).save(folder / "small.png")
    lc = directory.path / "light_curves"
    lc.mkdir(parents=True, exist_ok=True)
    table = Table({"time_bjd": np.linspace(2459000.5, 2459000.7, 50), "flux": np.linspace(0.99, 1.01, 50)})
    table.write(lc / "TOI-1130.02_20200330_LCO_zs.ecsv", format="ascii.ecsv", overwrite=True)
    Image.new("RGB", (300, 200), (255, 255, 255)).save(lc / "TOI-1130.02_20200330_LCO_zs.png")
    table.write(lc / "no_plot.ecsv", format="ascii.ecsv", overwrite=True)
    (folder / "long_notes.txt").write_text("".join(f"line {i:05d} of the notes\n" for i in range(2000)))
    hdu = fits.PrimaryHDU(np.zeros((20, 30), dtype=np.int16))
    hdu.header["OBJECT"] = "TIC 254113311"
    hdu.header["FILTER"] = "zs"
    ext = fits.BinTableHDU.from_columns([fits.Column(name="wave", format="E", array=np.arange(5.0))], name="SPEC")
    buffer = io.BytesIO()
    fits.HDUList([hdu, ext]).writeto(buffer)
    (folder / "image.fits").write_bytes(buffer.getvalue())
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "broken.fits").write_bytes(b"not a fits file at all" * 10)
    return directory
