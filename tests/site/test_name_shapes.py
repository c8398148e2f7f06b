"""gototicid.php's undocumented answers: several matches in any shape, TIC-form targets refused.

The shapes of several matches include the HTML page of candidates answered instead of JSON.
"""

from __future__ import annotations

import pytest

from exofop_mcp.replica import Replica
from exofop_mcp.settings import Settings
from tests.helpers.tool_client import error, ok

pytestmark = pytest.mark.anyio

PAIR = "CPD-58 7912"  # one old catalogue name for two stars (num: 2)
PAIR_TICS = ("446549905", "446549906")
KEPLER_633_TIC = 169175503


@pytest.mark.parametrize("shape", ["list", "string", "comma", "html"])
async def test_a_name_matching_several_stars_is_ambiguous_in_every_shape(
    warm_settings: Settings, replica: Replica, shape: str
) -> None:
    replica.configure(name_multi_shape=shape)
    message = await error(warm_settings, "resolve_system", {"query": PAIR})
    assert "[ambiguous]" in message and "2 stars" in message
    assert all(tic in message for tic in PAIR_TICS), message
    if shape == "string":
        # the answer named one star of two: the rest came from gototicid's own list of candidates
        assert "named only TIC 446549905" in message
        assert any(r.path.endswith("gototicid.php") and "json" not in r.query for r in replica.requests)


async def test_a_star_without_a_toi_resolves_when_gototicid_refuses_its_tic(
    warm_settings: Settings, replica: Replica
) -> None:
    replica.configure(name_service_accepts_tic=False)
    system = await ok(warm_settings, "resolve_system", {"query": f"TIC {KEPLER_633_TIC}"})
    assert system["tic_id"] == KEPLER_633_TIC and system["canonical_name"] == f"TIC-{KEPLER_633_TIC}"
    assert any("stellar parameters page" in note for note in system["notes"])
    assert system["ra_deg"] is not None and system["dec_deg"] is not None and system["tess_mag"] is not None
    message = await error(warm_settings, "resolve_system", {"query": "TIC 9999999999"})
    assert "[not_found]" in message


async def test_a_star_without_a_toi_gets_coordinates_and_magnitude(warm_settings: Settings, replica: Replica) -> None:
    system = await ok(warm_settings, "resolve_system", {"query": "Kepler-633"})
    assert system["tic_id"] == KEPLER_633_TIC and system.get("host_toi") is None
    assert system["ra_deg"] == pytest.approx(291.0308) and system["dec_deg"] == pytest.approx(47.0836)
    assert system["tess_mag"] == pytest.approx(12.93)


async def test_an_unverifiable_tic_is_accepted_with_a_note(warm_settings: Settings, replica: Replica) -> None:
    replica.configure(name_service_accepts_tic=False, toi_table_quirk=None, fault_paths=("download_stellar.php",))
    replica.configure(error_rate=1.0, fault_kinds=("5xx",))
    system = await ok(warm_settings.with_overrides(max_retries=0), "resolve_system", {"query": f"TIC {KEPLER_633_TIC}"})
    assert system["tic_id"] == KEPLER_633_TIC
    assert any("unverified" in note for note in system["notes"])
