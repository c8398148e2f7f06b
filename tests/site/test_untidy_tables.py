"""Tables as the real site prints them (header cells with stray spaces, decimals without a leading zero,
blank lines at the end; ``output=bar`` for pipe) read exactly as tidy ones, over real sockets."""

from __future__ import annotations

import httpx
import pytest

from exofop_mcp.api import Exofop
from exofop_mcp.site.records import TOIRecord

pytestmark = pytest.mark.anyio

KINDS = ("time_series", "spectroscopy", "imaging", "stellar_companions", "nearby_targets", "stellar_parameters")
KINDS += ("files",)


async def read_everything(settings) -> dict[str, object]:
    async with Exofop(settings) as exofop:
        status = await exofop.catalog.refresh()
        seen: dict[str, object] = {"catalog rows": status.rows}
        system = await exofop.resolve_system("TOI-1130")
        seen["system"] = system.model_dump(exclude={"catalog"})
        seen["catalog"] = [e.record for e in exofop.catalog.entries_for_host(1130)]
        for kind in KINDS:
            seen[kind] = (await exofop.list_observations(system, kind, limit=200)).rows
        seen["observing notes"] = await exofop.observing_notes(system)
    return seen


async def test_untidy_tables_read_as_tidy_ones(settings, replica):
    tidy = await read_everything(settings)
    replica.configure(untidy_tables=True)
    raw = httpx.get(f"{replica.tess_url}/download_tseries.php", params={"target": "254113311", "output": "pipe"}).text
    # the switch works: stray spaces in the header, no leading zero, blank lines at the end
    assert "| Pixel Scale|" in raw.split("\n", 1)[0] and "|.389|" in raw and raw.endswith("\n\n\n\n")
    untidy = await read_everything(settings)
    assert untidy.keys() == tidy.keys()
    for key, value in tidy.items():
        assert untidy[key] == value, key
    assert tidy["catalog rows"] and len(tidy["time_series"]) > 10 and tidy["observing notes"]  # type: ignore[arg-type]
    planets = tidy["catalog"]
    assert isinstance(planets, list) and isinstance(planets[0], TOIRecord)
    assert planets[1].stellar_mass_msun == pytest.approx(0.66)  # printed ".66" by the untidy site


def test_output_bar_is_pipe(replica):
    for page, params in [
        ("download_toi.php", {"toi": "1130"}),
        ("download_tseries.php", {"target": "254113311"}),
        ("download_obsnotes.php", {"tid": "254113311"}),
    ]:
        pipe = httpx.get(f"{replica.tess_url}/{page}", params={**params, "output": "pipe"})
        bar = httpx.get(f"{replica.tess_url}/{page}", params={**params, "output": "bar"})
        assert bar.text == pipe.text and "|" in bar.text.split("\n", 1)[0], page
