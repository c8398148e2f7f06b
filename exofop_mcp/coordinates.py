"""Sexagesimal coordinates from ExoFOP's tables, converted to degrees with astropy."""

from __future__ import annotations

from collections.abc import Sequence


def to_degrees(ra: Sequence[str | None], dec: Sequence[str | None]) -> list[tuple[float | None, float | None]]:
    """Convert ``("19:05:30.24", "-41:26:15.5")`` pairs to ``(ra_deg, dec_deg)``; bad cells give ``None``."""
    from astropy.coordinates import Angle  # heavy import, only when converting

    def convert(values: Sequence[str | None], unit: str) -> list[float | None]:
        clean = [v if v else "nan" for v in values]
        try:
            degrees = Angle(clean, unit=unit).degree.tolist()
        except Exception:  # one malformed cell: convert one by one
            degrees = []
            for v in clean:
                try:
                    degrees.append(float(Angle(v, unit=unit).degree))
                except Exception:
                    degrees.append(float("nan"))
        return [None if d != d else round(float(d), 7) for d in degrees]

    ra_deg = convert(ra, "hourangle")
    dec_deg = convert(dec, "deg")
    return list(zip(ra_deg, dec_deg, strict=True))
