"""Files with hostile headers, as another user of the machine could place them in a system's directory."""

from __future__ import annotations

from pathlib import Path

BLOCK = 2880


def card(text: str) -> bytes:
    return text.ljust(80).encode("ascii")


def header(*cards: str, end: bool = True) -> bytes:
    data = b"".join(card(c) for c in cards) + (card("END") if end else b"")
    return data + b" " * (-len(data) % BLOCK)


PRIMARY = header(
    "SIMPLE  =                    T",
    "BITPIX  =                    8",
    "NAXIS   =                    0",
    "EXTEND  =                    T",
    "OBJECT  = 'TIC 254113311'",
)


def table_extension(*extra: str) -> bytes:
    """A one-row binary table extension whose header also holds ``extra`` cards (later cards win in FITS)."""
    cards = [
        "XTENSION= 'BINTABLE'",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        "NAXIS1  =                    4",
        "NAXIS2  =                    1",
        "PCOUNT  =                    0",
        "GCOUNT  =                    1",
    ]
    fields = [c for c in extra if c.startswith("TFIELDS")] or ["TFIELDS =                    1"]
    rest = [c for c in extra if not c.startswith("TFIELDS")]
    return header(*cards, *fields, "TTYPE1  = 'flux'", "TFORM1  = 'J'", *rest) + b"\0" * BLOCK


def compressed_extension(znaxis: int) -> bytes:
    return (
        header(
            "XTENSION= 'BINTABLE'",
            "BITPIX  =                    8",
            "NAXIS   =                    2",
            "NAXIS1  =                    8",
            "NAXIS2  =                    1",
            "PCOUNT  =                    0",
            "GCOUNT  =                    1",
            "TFIELDS =                    1",
            "TTYPE1  = 'COMPRESSED_DATA'",
            "TFORM1  = '1PB(1)'",
            "ZIMAGE  =                    T",
            "ZBITPIX =                   16",
            f"ZNAXIS  = {znaxis:>20}",
            "ZNAXIS1 =                   10",
            "ZNAXIS2 =                   10",
            "ZCMPTYPE= 'RICE_1'",
        )
        + b"\0" * BLOCK
    )


def write_hostile_fits(folder: Path) -> dict[str, Path]:
    """Hostile FITS files by what is wrong with them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "tfields": PRIMARY + table_extension("TFIELDS = 999999999999"),
        "znaxis": PRIMARY + compressed_extension(2_000_000_000),
        "naxis": header("SIMPLE  =                    T", "BITPIX  =                   16", "NAXIS   =   2000000000"),
        "bitpix": header("SIMPLE  =                    T", "BITPIX  =                    7", "NAXIS   =            0"),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.fits"
        paths[name].write_bytes(data)
    # Printable garbage without an END card: 16 MiB of cards that never end.
    garbage = folder / "no_end_text.fits"
    with garbage.open("wb") as f:
        f.write(header("SIMPLE  =                    T", "BITPIX  =                    8", end=False))
        f.write((card("HISTORY this header never ends") * 36) * (16 * 2**20 // BLOCK))
    paths["no_end_text"] = garbage
    # A header without END over 2 GB of binary garbage (sparse: no disk used).
    sparse = folder / "no_end_binary.fits"
    with sparse.open("wb") as f:
        f.write(header("SIMPLE  =                    T", "BITPIX  =                    8", end=False))
        f.write(b"\x9c\x01\xff" * 1000)
        f.truncate(2 * 2**30)
    paths["no_end_binary"] = sparse
    return paths
