"""``target.php?id=...&json``: what ExoFOP's page of one target says, read defensively.

The real answer (keys in order) is ``basic_info`` (``tic_id``; ``star_names``, one comma-separated string
of the star's catalogue names: ``TIC ...``, ``2MASS J...``, ``Gaia DR2 ...``, ``Gaia DR3 ...``, ``TYC
...``, ``HD ...``), ``coordinates`` (degree strings), ``tois`` (``toi``, ``disp_tfop``, ``disp_tess``),
``planet_parameters`` / ``stellar_parameters`` (whose first entry is a provenance header, not data),
``magnitudes`` (a list of ``{band, value, ...}``) and ``files`` (``fname``, ``fid``, ``ftype``, ``fdate``,
``fuser``, ``ftag``, ``fdesc``).  Values are mostly strings (``".0489752"``), some numbers, some ``null``:
every value is treated as untrusted and a value that does not fit is left out.  An id the site does not
know answers an HTML page saying ``No TIC object found``, not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from exofop_mcp.errors import ExofopResponseError
from exofop_mcp.site.client import ExofopClient
from exofop_mcp.site.coordinates import parse_sexagesimal
from exofop_mcp.site.free_text import display_text
from exofop_mcp.site.identifiers import MAX_TIC

TARGET_PAGE = "target.php"
NOT_FOUND_TEXT = "No TIC object found"
#: Bounds on what is kept of one answer (a hostile answer may be huge).
MAX_NAMES = 40
MAX_NAME_CHARS = 80
MAX_FILES = 5000


class TargetToi(BaseModel):
    """One TOI of the target as its page lists it."""

    toi: str
    tfopwg_disposition: str | None = None
    tess_disposition: str | None = None


class TargetFile(BaseModel):
    """One file of the target as its page lists it."""

    file_name: str
    file_id: int | None = None
    type: str | None = None
    date: str | None = None
    user: str | None = None
    tag: int | None = None
    description: str | None = None


class TargetInfo(BaseModel):
    """What ``target.php?id=...&json`` says of one star."""

    tic_id: int
    star_names: list[str] = Field(default_factory=list, description="every name of the star, TIC first")
    ra_deg: float | None = None
    dec_deg: float | None = None
    tess_mag: float | None = None
    tois: list[TargetToi] = Field(default_factory=list)
    stellar_parameters: list[dict[str, str]] = Field(
        default_factory=list, description="entries of stellar parameters (provenance headers left out)"
    )
    files: list[TargetFile] = Field(default_factory=list)

    @property
    def other_names(self) -> list[str]:
        """The star's names besides its TIC id (Gaia DR3, 2MASS, HD, ...)."""
        return [name for name in self.star_names if not re.fullmatch(r"TIC\s*\d+", name, re.IGNORECASE)]


async def fetch_target_info(client: ExofopClient, target: int | str) -> TargetInfo | None:
    """The target page's JSON for a TIC id (or a name or TOI, which ``id=`` also takes); ``None`` when
    ExoFOP does not know it.  Raises :class:`ExofopResponseError` for an answer that is neither."""
    text = await client.get_text(TARGET_PAGE, {"id": target, "json": True})
    return parse_target_info(text)


def parse_target_info(text: str) -> TargetInfo | None:
    """Read the answer of ``target.php?...&json`` (see the module's description)."""
    try:
        answer: Any = json.loads(text)
    except ValueError:
        if NOT_FOUND_TEXT.lower() in text[:100_000].lower():
            return None
        snippet = " ".join(text[:80].split())
        raise ExofopResponseError(
            f"ExoFOP's target page did not answer JSON (it began {snippet!r}).",
            hint="The site may be down or its interface changed; run `exofop-mcp doctor`.",
        ) from None
    if not isinstance(answer, dict) or not isinstance(answer.get("basic_info"), dict):
        raise ExofopResponseError(
            "ExoFOP's target page answered JSON without its 'basic_info'.",
            hint="ExoFOP may have changed its format; run `exofop-mcp doctor` and report the result.",
        )
    basic = answer["basic_info"]
    tic = whole(basic.get("tic_id"))
    if tic is None or not 0 < tic <= MAX_TIC:
        raise ExofopResponseError(
            "ExoFOP's target page answered without a TIC id.",
            hint="ExoFOP may have changed its format; run `exofop-mcp doctor` and report the result.",
        )
    coordinates: dict[str, Any] = answer["coordinates"] if isinstance(answer.get("coordinates"), dict) else {}
    return TargetInfo(
        tic_id=tic,
        star_names=split_star_names(basic.get("star_names")),
        ra_deg=angle(coordinates.get("ra_deg", coordinates.get("ra")), hours=True),
        dec_deg=angle(coordinates.get("dec_deg", coordinates.get("dec")), hours=False),
        tess_mag=tess_magnitude(answer.get("magnitudes")),
        tois=_tois(answer.get("tois")),
        stellar_parameters=data_entries(answer.get("stellar_parameters")),
        files=_files(answer.get("files")),
    )


def split_star_names(value: Any) -> list[str]:
    """``"TIC 1, 2MASS J..., Gaia DR3 ..."`` (or a list of names) -> the names, in order, without repeats."""
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = value.split(",")
    else:
        return []
    names: list[str] = []
    for item in items[: MAX_NAMES * 2]:
        if not isinstance(item, str | int) or isinstance(item, bool):
            continue
        name = " ".join(display_text(str(item)).split())
        if name and len(name) <= MAX_NAME_CHARS and name not in names:
            names.append(name)
    return names[:MAX_NAMES]


def data_entries(value: Any) -> list[dict[str, str]]:
    """The entries of a parameter list, without its provenance headers (``{"prov": ..., "prov_title": ...}``)."""
    if not isinstance(value, list):
        return []
    entries = []
    for item in value[:200]:
        if not isinstance(item, dict) or not item or all(str(key).startswith("prov") for key in item):
            continue
        entries.append({str(k)[:40]: str(v)[:200] for k, v in list(item.items())[:80] if v not in (None, "")})
    return entries


def tess_magnitude(value: Any) -> float | None:
    """The TESS band's value in ``magnitudes`` (a list of ``{band, value}``, or a band -> value mapping)."""
    if isinstance(value, dict):
        value = [{"band": band, "value": v} for band, v in value.items()]
    if not isinstance(value, list):
        return None
    for item in value[:100]:
        if isinstance(item, dict) and str(item.get("band", "")).strip().lower() in ("tess", "tmag", "t"):
            return number(item.get("value"))
    return None


def _tois(value: Any) -> list[TargetToi]:
    if not isinstance(value, list):
        return []
    found = []
    for item in value[:100]:
        if isinstance(item, dict) and (toi := text_of(item.get("toi"))):
            found.append(
                TargetToi(
                    toi=toi,
                    tfopwg_disposition=text_of(item.get("disp_tfop")),
                    tess_disposition=text_of(item.get("disp_tess")),
                )
            )
    return found


def _files(value: Any) -> list[TargetFile]:
    if not isinstance(value, list):
        return []
    found = []
    for item in value[:MAX_FILES]:
        if not isinstance(item, dict) or not (name := text_of(item.get("fname"))):
            continue
        description = text_of(item.get("fdesc"))
        tag = whole(item.get("ftag"))
        found.append(
            TargetFile(
                file_name=name,
                file_id=whole(item.get("fid")),
                type=text_of(item.get("ftype")),
                date=text_of(item.get("fdate")),
                user=text_of(item.get("fuser")),
                tag=tag if tag is not None and 0 < tag <= 10**9 else None,
                description=display_text(description) or None if description else None,
            )
        )
    return found


def text_of(value: Any, most: int = 200) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text[:most] or None


def whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    text = str(value).strip() if value is not None else ""
    return int(text) if re.fullmatch(r"[0-9]{1,12}", text) else None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(str(value).strip()[:40])
    except ValueError:
        return None
    return result if result == result and abs(result) != float("inf") else None


def angle(value: Any, *, hours: bool) -> float | None:
    """An angle in degrees: a degree string or number, or sexagesimal (``19:05:30.24``)."""
    if isinstance(value, str) and ":" in value:
        return parse_sexagesimal(value, hours=hours)
    result = number(value)
    if result is None or not (0 <= result < 360 if hours else -90 <= result <= 90):
        return None
    return result
